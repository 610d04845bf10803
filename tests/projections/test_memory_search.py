"""The PostgreSQL memory search, without HTTP: each mode, each filter, snippets, the
working set and read-your-writes, over real read models."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import RawCursor
from psycopg.rows import tuple_row

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.workingset import pack
from arqium.infra.embeddings import DIMENSIONS, vector_literal
from arqium.projections.memory_search import (
    CONTEXT_DEPTH,
    GENERIC_PLAN,
    SEARCH,
    SPREAD_WINDOW,
    MemoryQuery,
    fuse,
    native_placeholders,
    spread,
    usual_length,
    with_context,
    with_previous,
    with_prior,
)
from arqium.system.bootstrap import migrate
from tests.conftest import SETUP, memory_items_applied

MEMORIES = {  # key: (note, layer, confidence, metadata)
    "editor": ("prefers a dark theme in every code editor", "temporary", 0.9, {}),
    "taxes": ("quarterly tax filing is due at the end of March", "temporary", 0.5,
              {"kind": "finance"}),
    "pets": ("has two cats named Miso and Tofu", "permanent", 0.5, {}),
    "trip/rome": ("a train to Rome in May", "temporary", None, {}),
    "trip/oslo": ("a ferry to Oslo in June", "temporary", None, {}),
}


@pytest.fixture
def stored(system, workers, postgres_search) -> dict:
    """u1's memories (and one of u2), by key, once both read models have them."""
    workers("memory_items", "memory_embeddings")
    items = {}
    for key, (note, layer, confidence, metadata) in MEMORIES.items():
        items[key], position = system.memory.upsert("u1", MemoryDraft(
            key=key, content={"note": note}, layer=layer, confidence=confidence,
            tags=[key], metadata=metadata), cause=SETUP)
    _, position = system.memory.upsert("u2", MemoryDraft(
        key="editor", content={"note": "a dark theme in the editor"}), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    return items


def found(search, system, text: str, owner_id: str = "u1", **filters) -> list[str]:
    rows, _ = search.search(MemoryQuery(owner_id, text, **filters), system.clock())
    return [row["key"] for row in rows]


def ranked_by_the_functions(search, query: MemoryQuery, now) -> tuple[list, list]:
    """What the search statement ranks, by the module's functions, as the Elasticsearch
    path fuses its sides: the ranking before the spread over days, and after it."""
    sides = search.rankings(query, now)
    traits = search.traits(query, {memory_id for side in sides[:3]
                                   for memory_id, _ in side})
    fused = fuse(*sides, traits.unembedded if query.by_meaning else ())
    usual = usual_length(list(traits.lexemes.values()))
    ranking = with_context(fused, search.neighbours(
        [memory_id for memory_id, _ in fused[:CONTEXT_DEPTH]], query, now), traits.asking)
    traits.update(search.traits(query, dict(ranking).keys() - traits.lexemes.keys()))
    prior = with_prior(ranking, traits.lexemes, usual, asking=traits.asking)
    return prior, spread(prior, traits.days)


def test_keyword_mode_finds_the_memories_sharing_a_word(postgres_search, system, stored):
    assert found(postgres_search, system, "Tofu", mode="keyword") == ["pets"]
    assert found(postgres_search, system, "quartrly", mode="keyword") == ["taxes"]


def test_keyword_mode_finds_other_forms_of_a_word(postgres_search, system, stored):
    assert found(postgres_search, system, "tax", mode="keyword") == ["taxes"]
    assert found(postgres_search, system, "filings", mode="keyword") == ["taxes"]


def test_keyword_mode_finds_a_misspelt_word_by_the_owners_vocabulary(postgres_search,
                                                                    system, stored):
    assert found(postgres_search, system, "catts", mode="keyword") == ["pets"]


def test_keyword_mode_finds_nothing_for_a_word_no_memory_has(postgres_search, system,
                                                             stored):
    assert found(postgres_search, system, "xylophone", mode="keyword") == []


def test_semantic_mode_finds_a_memory_sharing_no_word(postgres_search, system, stored):
    question = "which colour scheme is favoured"
    assert found(postgres_search, system, question, mode="semantic")[0] == "editor"


def test_hybrid_mode_fuses_the_scores_of_the_two_rankings(postgres_search, system, stored):
    query = MemoryQuery("u1", "cats named Miso", limit=50)
    by_keyword, by_meaning, timely, told = postgres_search.rankings(query, system.clock())
    assert by_keyword and by_meaning and timely == told == []  # no time named or asked
    fused = fuse(by_keyword, by_meaning)
    neighbours = postgres_search.neighbours([memory_id for memory_id, _ in fused], query,
                                            system.clock())
    assert neighbours  # written within the hour: each memory has its conversation
    expected = dict(ranked_by_the_functions(postgres_search, query, system.clock())[1])
    rows, total = postgres_search.search(query, system.clock())
    assert rows[0]["key"] == "pets"
    assert total == len(expected) == len(MEMORIES)  # no similarity floor: all ranked
    assert {str(row["id"]): float(row["score"]) for row in rows} == pytest.approx(expected)


def test_a_question_asking_when_favours_the_memories_that_tell_a_time(
        postgres_search, system, workers):
    """"When…" is answered by a memory that says when; the SQL fusion is `fuse`'s."""
    workers("memory_items", "memory_embeddings")
    for key, note in (("hall", "We moved the piano into the hall"),
                      ("told", "We moved the piano on Saturday"),
                      ("cat", "The cat sleeps in the garden")):
        _, position = system.memory.upsert("u3", MemoryDraft(
            key=key, content={"note": note}), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    asking = MemoryQuery("u3", "When did they move the piano?")
    *sides, told = postgres_search.rankings(asking, system.clock())
    ranking = with_context(fuse(*sides, told), postgres_search.neighbours(
        [memory_id for memory_id, _ in fuse(*sides, told)], asking, system.clock()))
    lexemes = postgres_search.traits(asking, dict(ranking)).lexemes
    ranking = with_prior(ranking, lexemes, usual_length(list(lexemes.values())))
    rows, _ = postgres_search.search(asking, system.clock())
    assert [row["key"] for row in rows] == ["told", "hall", "cat"]
    assert {str(row["id"]): float(row["score"]) for row in rows} == pytest.approx(
        dict(ranking))
    assert [str(row["id"]) for row in rows if row["key"] == "told"] == told
    not_asking = MemoryQuery("u3", "Did they move the piano?")
    assert postgres_search.rankings(not_asking, system.clock())[3] == []


@pytest.mark.parametrize("column, owner_id, yes", [
    ("tells_time", "u9", "We met on Saturday"), ("asks", "u11", "Where did we meet?")])
def test_a_table_from_before_a_computed_column_gains_it_for_every_row(
        column, owner_id, yes, postgres_search, system, settings, workers):
    """Migrating adds the column and fills it for the memories already there."""
    workers("memory_items")
    for key, note in (("yes", yes), ("no", "We met in the hall")):
        _, position = system.memory.upsert(owner_id, MemoryDraft(
            key=key, content={"note": note}), cause=SETUP)
    postgres_search.wait_for_words("memory", position, timeout=60)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE memory_items DROP COLUMN {column}")
        migrate(settings)
        computed = dict(conn.execute(f"SELECT key, {column} FROM memory_items "
                                     "WHERE owner_id = %s", [owner_id]).fetchall())
    assert computed == {"yes": True, "no": False}


def test_a_memory_ends_by_asking_when_its_content_ends_with_a_question(
        postgres_search, system, workers):
    """Read from the content's end (an object's last value), not from its tags."""
    workers("memory_items")
    contents = {"plain": "Did you find a flat? Yes, in Leith.",
                "asks": "Did you find a flat in Edinburgh?",
                "smiles": 'She said "where?" 😊',
                "object": {"note": "How is the finger?"},
                "tagged": "Shall I book the flights?",
                "answer-last": {"a": "Where to?", "b": "Lisbon"}}
    ids = {}
    for key, content in contents.items():
        item, position = system.memory.upsert("u10", MemoryDraft(
            key=key, content=content, tags=["travel"] if key == "tagged" else []),
            cause=SETUP)
        ids[str(item.id)] = key
    postgres_search.wait_for_words("memory", position, timeout=60)
    asking = postgres_search.traits(MemoryQuery("u10", "flat"), list(ids)).asking
    assert {ids[memory_id] for memory_id in asking} == {"asks", "smiles", "object",
                                                        "tagged"}


def test_a_memory_not_embedded_yet_is_found_first_by_its_own_word(postgres_search, system,
                                                                  stored):
    """Under load its embedding can lag by a minute: until then its word alone must rank
    it above memories merely like it in meaning, as the keyword side alone would."""
    for n in range(6):
        _, position = system.memory.upsert("u1", MemoryDraft(
            key=f"note{n}", content=f"reader note zq{n}x{n * 7919}"), cause=SETUP)
    item, position = system.memory.upsert("u1", MemoryDraft(
        key="fresh", content="reader note zq9x52711"), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM memory_embeddings WHERE id = %s", (item.id,))
    query = MemoryQuery("u1", "zq9x52711", limit=50)
    rows, _ = postgres_search.search(query, system.clock())
    assert [row["key"] for row in rows][:1] == ["fresh"]
    assert {str(row["id"]): float(row["score"]) for row in rows} == pytest.approx(
        dict(ranked_by_the_functions(postgres_search, query, system.clock())[1]))
    keyword_only, _ = postgres_search.search(MemoryQuery("u1", "zq9x52711", mode="keyword"),
                                             system.clock())
    assert [row["key"] for row in keyword_only] == ["fresh"]


def test_a_hybrid_search_ranks_a_memory_that_asks_below_the_answer_after_it(
        postgres_search, system, workers):
    """The question shares more of the query's words; the SQL fusion is `with_context`'s
    and `with_prior`'s with the memories that ask."""
    workers("memory_items", "memory_embeddings")
    stored_for(system, postgres_search, "u12", {  # in this order, a minute apart
        key: (note, {"session_date": f"2024-03-01T10:0{minute}:00Z"})
        for minute, (key, note) in enumerate((
            ("asks", "Did you find a flat in Edinburgh?"),
            ("answer", "Yes! A one-bed in Leith, two minutes from the Shore."),
            ("cat", "The cat sleeps in the garden all afternoon"),
            ("bike", "My bike needs new brakes before the long ride")))})
    keys = keys_by_id(postgres_search, "u12")
    query = MemoryQuery("u12", "Where is Dev's flat in Edinburgh?")
    fused = fuse(*postgres_search.rankings(query, system.clock())[:2])
    traits = postgres_search.traits(query, dict(fused))
    assert [keys[memory_id] for memory_id in traits.asking] == ["asks"]
    neighbours = postgres_search.neighbours([memory_id for memory_id, _ in fused], query,
                                            system.clock())
    as_any_other = with_prior(with_context(fused, neighbours), traits.lexemes,
                              usual_length(list(traits.lexemes.values())), ask_penalty=0.0)
    assert keys[as_any_other[0][0]] == "asks"  # so the question's two rules decide
    rows, _ = postgres_search.search(query, system.clock())
    assert [row["key"] for row in rows][:2] == ["answer", "asks"]
    assert {str(row["id"]): float(row["score"]) for row in rows} == pytest.approx(
        dict(ranked_by_the_functions(postgres_search, query, system.clock())[1]))


def test_a_hybrid_search_spreads_its_best_over_days_as_spread_does(
        postgres_search, system, workers):
    """Many lessons on Monday, fewer and a little less alike on Tuesday: past the
    SPREAD_FROM best, Tuesday's move up; the lessons past the window of the best follow
    it, scored no higher than its last; each page is a slice of the one spread
    ranking."""
    workers("memory_items", "memory_embeddings")
    lessons = {f"monday/{n}": (f"Piano lesson: we practised scales and chord {n}",
                               {"session_date": f"2024-03-04T10:{n:02}:00Z"})
               for n in range(SPREAD_WINDOW - 2)}
    lessons.update({f"tuesday/{n}": (f"Piano lesson: we practised scales {n}",
                                     {"session_date": f"2024-03-05T10:{n:02}:00Z"})
                    for n in range(6)})
    lessons.update({f"other/{n}": (f"The cat slept in the garden shed, day {n}",
                                   {"session_date": f"2024-03-{n + 6:02}T10:00:00Z"})
                    for n in range(4)})
    stored_for(system, postgres_search, "u13", lessons)
    query = MemoryQuery("u13", "piano lesson scales chord", limit=50)
    prior, expected = ranked_by_the_functions(postgres_search, query, system.clock())
    keys = keys_by_id(postgres_search, "u13")
    assert [keys[memory_id] for memory_id, _ in expected] != [
        keys[memory_id] for memory_id, _ in prior]  # the spread changes the order
    rows, total = postgres_search.search(query, system.clock())
    assert total == len(expected) == len(lessons)
    assert [str(row["id"]) for row in rows] == [memory_id for memory_id, _ in expected]
    assert [float(row["score"]) for row in rows] == pytest.approx(
        [score for _, score in expected])
    page, _ = postgres_search.search(MemoryQuery("u13", query.text, limit=4, offset=6),
                                     system.clock())
    assert [str(row["id"]) for row in page] == [memory_id for memory_id, _ in
                                                expected[6:10]]
    window_last = expected[SPREAD_WINDOW - 1][1]
    assert any(score < raw for (_, score), (_, raw) in zip(expected[SPREAD_WINDOW:],
                                                           prior[SPREAD_WINDOW:]))
    assert all(score <= window_last for _, score in expected[SPREAD_WINDOW:])


def test_a_hybrid_search_ranks_a_memory_that_says_little_below_one_that_says_more(
        postgres_search, system, workers):
    workers("memory_items", "memory_embeddings")
    for key, note in (
            ("filler", "Haha, the piano!"),
            ("telling", "The piano teacher comes to our house every Tuesday after "
                        "school to practise scales and sight reading"),
            ("cat", "The cat sleeps in the garden all afternoon when the sun is out, "
                    "then hunts moths at dusk"),
            ("bike", "My bike needs new brakes and tyres before the long ride to the "
                     "coast next weekend")):
        _, position = system.memory.upsert("u3", MemoryDraft(
            key=key, content={"note": note}), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    assert found(postgres_search, system, "piano", owner_id="u3", mode="keyword")[:2] == [
        "filler", "telling"]  # BM25 alone: the shorter, the denser the match
    assert found(postgres_search, system, "piano", owner_id="u3")[:2] == [
        "telling", "filler"]


def test_a_hybrid_search_reads_a_memory_with_the_one_said_just_before_it(
        postgres_search, system, workers):
    """Its similarity gains PREVIOUS_WEIGHT of the previous memory's (within the hour,
    live): "Fine, I tape it now" is read after "How is your finger?"."""
    workers("memory_items", "memory_embeddings")
    said = {}
    for key, note, at in (
            ("asked", "How is your finger since the climbing accident?", "10:00"),
            ("answer", "Fine, I tape it as a precaution now.", "10:01"),
            ("later", "Lovely weather for a walk along the river today.", "11:30")):
        said[key], position = system.memory.upsert("u5", MemoryDraft(
            key=key, content={"note": note},
            metadata={"timestamp": f"2024-05-01T{at}:00Z"}), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    text, now = "Is she still careful with her injured finger?", system.clock()
    hybrid = MemoryQuery("u5", text)
    ids = [str(item.id) for item in said.values()]
    raw = postgres_search.rankings(MemoryQuery("u5", text, mode="semantic"), now)[1]
    previous = postgres_search.previous_similarities(hybrid, ids, now)
    # The first memory has none before it; "later" comes 89 minutes after "answer".
    asked_similarity = dict(raw)[str(said["asked"].id)]
    assert previous == {str(said["answer"].id): pytest.approx(asked_similarity, abs=1e-6)}
    assert dict(postgres_search.rankings(hybrid, now)[1]) == pytest.approx(
        dict(with_previous(raw, previous)))
    assert postgres_search.previous_similarities(
        MemoryQuery("u5", text, mode="semantic"), ids, now) == {}  # meaning alone
    _, position = system.memory.delete("u5", said["asked"].id, cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    assert postgres_search.previous_similarities(hybrid, ids, now) == {}


def test_keyword_ranking_weighs_rare_words_above_common_ones(postgres_search, system,
                                                             stored):
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="ferry", content="a ferry in the harbour"), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    # "ferry" is in two memories, "Oslo" in one: the memory with both comes first, and
    # the one with only the rarer word beats the one with only the commoner.
    keys = found(postgres_search, system, "ferry Oslo", mode="keyword")
    assert keys == ["trip/oslo", "ferry"]


def test_a_misspelt_word_does_not_bring_look_alikes_when_it_is_found(postgres_search,
                                                                     system, stored):
    # "cats" is a word of u1's memories: no look-alike ("code", "taxes"...) joins it.
    assert found(postgres_search, system, "cats", mode="keyword") == ["pets"]


@pytest.mark.parametrize("filters, allowed", [
    ({"layer": "permanent"}, {"pets"}),
    ({"tags": ["taxes", "pets"]}, {"taxes", "pets"}),
    ({"min_confidence": 0.7}, {"editor"}),
    ({"key_prefix": "trip/"}, {"trip/rome", "trip/oslo"}),
    ({"metadata": {"kind": "finance"}}, {"taxes"}),
])
def test_filters_apply_inside_both_rankings(postgres_search, system, stored, filters,
                                            allowed):
    keys = found(postgres_search, system, "Rome tax filing cats dark theme", **filters)
    assert keys and set(keys) <= allowed


def test_an_expired_memory_is_not_found_from_its_expiry_on(postgres_search, system,
                                                           stored):
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="flight", content="boarding pass for Lisbon", ttl_seconds=60), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    query = MemoryQuery("u1", "Lisbon", mode="keyword")
    assert postgres_search.search(query, system.clock())[1] == 1
    assert postgres_search.search(query, system.clock() + timedelta(seconds=61)) == ([], 0)


def test_the_limit_cuts_the_page_and_the_total_counts_every_match(postgres_search, system,
                                                                  stored):
    rows, total = postgres_search.search(MemoryQuery("u1", "trip", limit=1), system.clock())
    assert len(rows) == 1 and total > 1


def test_another_owners_memories_are_never_found(postgres_search, system, stored):
    rows, _ = postgres_search.search(MemoryQuery("u2", "dark theme editor"), system.clock())
    assert [row["content"] for row in rows] == [{"note": "a dark theme in the editor"}]


def test_snippets_mark_the_matched_words_only_when_asked(postgres_search, system, stored):
    [row] = postgres_search.search(MemoryQuery("u1", "quarterly", mode="keyword",
                                               snippets=True), system.clock())[0]
    assert "<mark>quarterly</mark>" in row["snippet"]
    [row] = postgres_search.search(MemoryQuery("u1", "quarterly", mode="keyword"),
                                   system.clock())[0]
    assert row["snippet"] is None


def test_content_in_clear_holding_the_sealed_mark_still_has_its_snippet(
        postgres_search, system, stored):
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="marks", content=["$sealed", "quarterly marks"]), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    rows, _ = postgres_search.search(MemoryQuery("u1", "marks", mode="keyword",
                                                 snippets=True), system.clock())
    [row] = [row for row in rows if row["key"] == "marks"]
    assert "<mark>marks</mark>" in row["snippet"]


def test_a_hit_has_the_fields_every_face_shows(postgres_search, system, stored):
    [row] = postgres_search.search(MemoryQuery("u1", "Tofu", mode="keyword"),
                                   system.clock())[0]
    assert {"id", "key", "content", "layer", "confidence", "tags", "metadata", "created_at",
            "updated_at", "expires_at", "score", "total", "snippet"} <= set(row)


def test_the_working_set_leaves_secrets_out_and_ranks_the_permanent_first(
        postgres_search, system, stored):
    system.memory.keys.create("u1")  # a registered user's data key
    _, position = system.memory.upsert("u1", MemoryDraft(
        key="pin", content="1234", layer="permanent", sensitivity="secret"), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    shown = postgres_search.working_set("u1", system.clock(), 1000, 100)
    assert shown[0]["key"] == "pets" and "pin" not in {row["key"] for row in shown}


def test_the_working_set_favours_memories_relevant_to_the_conversation(
        postgres_search, system, stored):
    shown = postgres_search.working_set("u1", system.clock(), 1000, 100,
                                        conversation="user: book me a ferry to Oslo")
    temporary = [row["key"] for row in shown if row["layer"] == "temporary"]
    assert temporary[0] == "trip/oslo"


def test_the_working_set_fits_the_budget(postgres_search, system, stored):
    shown = postgres_search.working_set("u1", system.clock(), 30, 100)
    assert 0 < sum(row["tokens"] for row in shown) <= 30


def test_the_working_set_skips_a_memory_too_large_for_what_is_left_and_packs_smaller_ones(
        postgres_search, system, workers):
    workers("memory_items", "memory_embeddings")
    notes = {  # best first (confidence), long and short in turn
        f"n{rank}": (" ".join(["word"] * (12 if rank % 2 else 4)), 0.9 - rank / 100)
        for rank in range(8)}
    position = 0
    for key, (note, confidence) in notes.items():
        _, position = system.memory.upsert("u5", MemoryDraft(
            key=key, content=note, layer="permanent", confidence=confidence), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)
    ranked = postgres_search.working_set("u5", system.clock(), 10_000, 100)
    assert [row["key"] for row in ranked] == list(notes)  # all fit: the whole ranking
    tokens = [row["tokens"] for row in ranked]
    budget = tokens[0] + tokens[2] + tokens[4]
    # Each long one (n1, n3 ...) fits the budget alone, but not after n0.
    assert tokens[0] + tokens[1] > budget >= max(tokens)

    shown = postgres_search.working_set("u5", system.clock(), budget, 100)

    expected, total = pack(tokens, budget)
    assert [row["key"] for row in shown] == [ranked[index]["key"] for index in expected]
    assert [row["key"] for row in shown] == ["n0", "n2", "n4"]
    assert sum(row["tokens"] for row in shown) == total == budget


def test_the_search_waits_for_the_embeddings_too(postgres_search, system, workers):
    workers("memory_items")
    _, position = system.memory.upsert("u1", MemoryDraft(key="k", content="words"), cause=SETUP)
    memory_items_applied(system, position)
    with pytest.raises(TimeoutError, match="memory_embeddings"):
        postgres_search.wait("memory", position, timeout=0.05)


def stored_for(system, postgres_search, owner_id: str, notes: dict[str, tuple[str, dict]]
               ) -> None:
    position = 0
    for key, (note, metadata) in notes.items():
        _, position = system.memory.upsert(owner_id, MemoryDraft(
            key=key, content=note, metadata=metadata), cause=SETUP)
    postgres_search.wait("memory", position, timeout=60)


def test_a_question_sharing_no_word_still_finds_its_memory(postgres_search, system,
                                                           workers):
    workers("memory_items", "memory_embeddings")
    stored_for(system, postgres_search, "u3", {
        "deploy": ("The deploy pipeline failed because the database migration timed out",
                   {}),
        "apples": ("bought apples and pears at the Saturday market", {}),
        "sofa": ("the cat sleeps on the sofa all afternoon", {})})
    # No similarity floor hides it: the ranking decides.
    assert found(postgres_search, system, "why did the release break", "u3")[0] == "deploy"


def test_a_question_naming_a_date_favours_the_memories_of_that_date(postgres_search,
                                                                    system, workers):
    workers("memory_items", "memory_embeddings")
    # keys that say nothing of the dates (a memory is found by its key's words too)
    stored_for(system, postgres_search, "u4", {
        "dinner-1": ("Maria: dinner with Tom at the harbour tonight",
                     {"session_date": "2023-05-03T19:00:00Z"}),
        "dinner-2": ("Maria: dinner with Ana at the harbour tonight",
                     {"session_date": "2023-06-10T19:00:00Z"}),
        # others, so that neither dinner is the worst by meaning, which scores 0
        "bike": ("Maria: my bike has a flat tyre again", {"session_date": "2023-04-01"}),
        "rain": ("Ana: it rained all week in Porto", {"session_date": "2023-07-01"})})
    question = "Who did Maria have dinner with on May 3, 2023?"
    assert found(postgres_search, system, question, "u4")[0] == "dinner-1"
    question = "Who did Maria have dinner with on June 10, 2023?"
    assert found(postgres_search, system, question, "u4")[0] == "dinner-2"


def test_an_answer_is_found_by_the_question_before_it(postgres_search, system, workers):
    workers("memory_items", "memory_embeddings")
    turns = {  # one conversation's turns, in order, then one a day later
        "t1": ("Priya: did the truck pass its health inspection on Friday?",
               "2024-03-01T10:00:00Z"),
        "t2": ("Marco: yes!! zero notes, the inspector even asked for a taco",
               "2024-03-01T10:01:00Z"),
        "t3": ("Marco: the new fryer is loud but it keeps the oil hot",
               "2024-03-01T10:02:00Z"),
        "t4": ("Marco: the parking permit for the market came through",
               "2024-03-02T10:00:00Z"),
        "t5": ("Priya: my sister moved to Lisbon for a design job",
               "2024-03-02T10:00:00Z")}
    stored_for(system, postgres_search, "u5", {
        key: (text, {"session_date": date}) for key, (text, date) in turns.items()})
    keys = found(postgres_search, system, "Did the truck pass the inspection?", "u5")
    # The answer shares no word with the question; the turn before it does, and asks:
    # the answer comes first.
    assert keys[:2] == ["t2", "t1"]


def keys_by_id(postgres_search, owner_id: str) -> dict[str, str]:
    rows = postgres_search.items.query("SELECT id::text, key FROM {table} WHERE owner_id = "
                                       "%(owner)s", owner=owner_id)
    return {row["id"]: row["key"] for row in rows}


def test_neighbours_are_the_memories_just_before_and_after_within_the_hour(
        postgres_search, system, workers):
    workers("memory_items", "memory_embeddings")
    stored_for(system, postgres_search, "u6", {
        "a": ("first", {"session_date": "2024-03-01T10:00:00Z"}),
        "b": ("second", {"session_date": "2024-03-01T10:30:00Z"}),
        "c": ("third", {"session_date": "2024-03-01T10:45:00Z"}),
        "d": ("a day later", {"session_date": "2024-03-02T10:00:00Z"})})
    query = MemoryQuery("u6", "anything")
    key_of = keys_by_id(postgres_search, "u6")
    neighbours = postgres_search.neighbours(list(key_of), query, system.clock())
    named = {key_of[of]: sorted((key_of[n], after) for n, after in found)
             for of, found in neighbours.items()}
    assert named == {"a": [("b", True)], "b": [("a", False), ("c", True)],
                     "c": [("b", False)]}


def test_the_statements_named_placeholders_become_postgresqls_own():
    statement = "SELECT %(a)s, %(b)s WHERE word %% %(a)s"
    assert native_placeholders(statement) == ("SELECT $1, $2 WHERE word % $1", ("a", "b"))


def test_a_neighbour_the_filters_leave_out_lifts_nothing_and_is_not_passed_over(
        postgres_search, system, workers):
    workers("memory_items", "memory_embeddings")
    stored_for(system, postgres_search, "u7", {
        "note/1": ("first", {"session_date": "2024-03-01T10:00:00Z"}),
        "chat/2": ("second", {"session_date": "2024-03-01T10:30:00Z"}),
        "note/3": ("third", {"session_date": "2024-03-01T10:45:00Z"})})
    key_of = keys_by_id(postgres_search, "u7")
    notes = [memory_id for memory_id, key in key_of.items() if key.startswith("note/")]
    unfiltered = postgres_search.neighbours(notes, MemoryQuery("u7", "anything"),
                                            system.clock())
    assert {key_of[of]: [key_of[n] for n, _ in found]
            for of, found in unfiltered.items()} == {
        "note/1": ["chat/2"], "note/3": ["chat/2"]}
    # The turn between them is the conversation's neighbour of each: the other note,
    # further away, is not taken in its place.
    assert postgres_search.neighbours(notes, MemoryQuery("u7", "anything",
                                                         key_prefix="note/"),
                                      system.clock()) == {}


def test_a_search_reads_its_owners_embeddings_alone_through_their_index(system,
                                                                         postgres_search):
    """Even for an owner holding a tenth of them, where PostgreSQL's default costs had
    every owner's embeddings scanned (2.4 of a 5 ms search; 0.7 through the index)."""
    embeddings = postgres_search.embeddings
    vector = vector_literal([0.05] * DIMENSIONS)
    with embeddings.datastore.transaction(commit=True) as curs:
        curs.execute(embeddings.sql(
            "INSERT INTO {table} (id, owner_id, key, tags, embedding, position) "
            "SELECT gen_random_uuid(), 'owner-' || mod(n, 10), 'k' || n, '[]', "
            "%(vector)s::halfvec, n FROM generate_series(1, 5000) AS n"),
            {"vector": vector})
        curs.execute(embeddings.sql("ANALYZE {table}"))
    query = MemoryQuery("owner-3", "tea in the garden", mode="hybrid")
    parameters = postgres_search.search_parameters(query, datetime.now(UTC))
    with embeddings.datastore.get_connection() as conn, \
            RawCursor(conn, row_factory=tuple_row) as cursor:
        statement, names = postgres_search._native(SEARCH, conn)
        conn.execute(GENERIC_PLAN)
        (plan,), = cursor.execute("EXPLAIN (FORMAT JSON) " + statement,
                                  [parameters[name] for name in names]).fetchall()
    nodes = list(plan_nodes(plan[0]["Plan"]))
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"
                and node["Relation Name"] == embeddings.name]
    used = {node.get("Index Name") for node in nodes}
    assert f"{embeddings.name}_owner_vectors_idx" in used


def plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
