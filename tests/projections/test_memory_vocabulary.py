"""Each owner's search vocabulary (what misspelt query words are matched against): every
word of 3 to 40 letters of a memory, written once however often it recurs, and gone with
its owner, to be learnt again should the owner's id store memories anew."""

from hypothesis import given
from hypothesis import strategies as st

from arqium.domain.memory.application import MemoryDraft
from arqium.projections.memory_items import WORD, _words_of
from tests.conftest import SETUP, memory_items_applied


def vocabulary(system, owner_id: str) -> list[str]:
    rows = system.views["memory_items"].query(
        "SELECT word FROM {words} WHERE owner_id = %(owner_id)s ORDER BY word",
        owner_id=owner_id)
    return [row["word"] for row in rows]


def stored(system, owner_id: str, key: str, text: str) -> int:
    _, position = system.memory.upsert(owner_id, MemoryDraft(key=key, content=text),
                                       cause=SETUP)
    return position


def test_an_owners_words_are_learnt_once_each(system, workers):
    workers("memory_items")
    stored(system, "u1", "a", "Tea at 5, tea again? Ok: green tea")
    memory_items_applied(system, stored(system, "u1", "b", "green Tea 42"))
    assert vocabulary(system, "u1") == ["again", "green", "tea"]


def test_a_forgotten_owners_words_go_and_are_learnt_again(system, workers):
    workers("memory_items")
    stored(system, "u1", "a", "jasmine tea")
    memory_items_applied(system, stored(system, "u2", "a", "jasmine rice"))
    memory_items_applied(system, system.memory.forget_owner("u1", cause=SETUP))
    assert vocabulary(system, "u1") == []
    assert vocabulary(system, "u2") == ["jasmine", "rice"]
    memory_items_applied(system, stored(system, "u1", "b", "jasmine"))
    assert vocabulary(system, "u1") == ["jasmine"]


def test_words_split_at_every_character_that_is_not_a_letter(system, workers):
    workers("memory_items")
    forty, forty_one = "w" * 40, "x" * 41
    text = f"snake_case2words it's {forty} {forty_one} e-mail MiXeD"
    memory_items_applied(system, stored(system, "u1", "k", text))
    memory_items_applied(system, stored(system, "u2", "k", "Crème brûlée_au café2 ½ ok"))
    assert vocabulary(system, "u1") == ["case", "mail", "mixed", "snake", "words", forty]
    assert vocabulary(system, "u2") == ["brûlée", "café", "crème"]


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_text_is_split_as_the_expression_splits_any_text(text):
    expected = {("o", word) for word in WORD.findall(text.lower()) if 3 <= len(word) <= 40}
    assert _words_of("o", text) == expected
