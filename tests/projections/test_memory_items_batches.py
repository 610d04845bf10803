"""The memory read model is the same whether its events come one at a time (a quiet
projector) or in big batches (a rebuild, a projector behind a busy write path, where
each run of new memories is written in one statement): same rows, search text, prompt
tokens, vocabulary and counts, for sealed, dated and unstorable memories too, with
revisions, deletions, comebacks and a forgotten owner in between."""

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import MemoryItem
from arqium.domain.memory.workingset import prompt_text
from arqium.domain.shared import is_sealed
from arqium.infra.embeddings import plain_tokenizer
from arqium.infra.eventstore import open_pool, shared_env
from arqium.projections import rows
from arqium.projections.base import open_view
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.workers.feed import EventFeed
from tests.conftest import SETUP
from tests.projections.replay import fed_copy


def store(system, owner_id: str, key: str, content, **fields):
    item, _ = system.memory.upsert(owner_id, MemoryDraft(key=key, content=content,
                                                         **fields), cause=SETUP)
    return item


def write_history(system) -> None:
    system.memory.keys.create("u1")  # a registered user's data key, for the secret
    store(system, "u1", "a", "tea with Maria", metadata={"session_date": "8 May 2023"})
    store(system, "u2", "gone soon", {"note": "rice", "list": ["x", 1, None]})
    store(system, "u1", "b", {"nested": {"deep": "coffee beans"}}, tags=["drink"])
    store(system, "u1", "pin", "1234", layer="permanent", sensitivity="secret")
    store(system, "u1", "nul", "a\u0000b naïve 中文 \U0001F600", tags=["t\u0000"])
    store(system, "u1", "a", "green tea with Maria")  # a revision
    system.memory.delete("u1", store(system, "u1", "b", "coffee").id, cause=SETUP)
    system.memory.forget_owner("u2", cause=SETUP)
    store(system, "u1", "ctx", "a passing thought", layer="context")
    system.memory.promote("u1", "ctx", force=True, cause=SETUP)
    store(system, "u1", "b", "tea again")  # a comeback
    for number in range(30):  # a run of new memories
        store(system, f"u{3 + number % 3}", f"turn-{number}", f"turn {number} of a talk")
    store(system, "u2", "back", "a forgotten owner starts again")


def replayed(system, settings, name: str, batch_size: int,
             prepared_ahead: bool = False) -> dict[str, list]:
    """Every table of a fresh copy of the read model fed the whole history."""
    with fed_copy(settings, MemoryItemsProjection, system.memory, name, batch_size,
                  prepared_ahead) as view:
        return {table.removeprefix(name): view.query(
            f"SELECT * FROM {{{table}}} ORDER BY 1, 2", identifiers={table: table})
            for table in view.table_names()[2:] + [name]}


def test_batches_give_the_same_read_model_as_one_event_at_a_time(system, settings):
    write_history(system)
    one_by_one = replayed(system, settings, "memory_items_one", batch_size=1)
    batched = replayed(system, settings, "memory_items_all", batch_size=500)
    assert batched == one_by_one
    rows = one_by_one[""]
    assert len(rows) == 36 and all(row["tokens"] > 0 for row in rows)
    assert {row["key"] for row in rows if row["gone_at"]} == set()  # b came back


def test_batches_in_many_documents_give_the_same_read_model(system, settings, monkeypatch):
    """A batch whose new memories are too large for one document writes them in several
    statements (projections/rows.py), each counting its owners' memories."""
    write_history(system)
    one_by_one = replayed(system, settings, "memory_items_one", batch_size=1)
    monkeypatch.setattr(rows, "MAX_DOCUMENT_CHARS", 2000)  # a few memories a statement
    assert replayed(system, settings, "memory_items_small", batch_size=500) == one_by_one


def test_batches_prepared_ahead_give_the_same_read_model(system, settings):
    """As a rebuild feeds it: each batch's new memories are prepared before the batch
    before it is written (its words not yet known to the projection)."""
    write_history(system)
    one_by_one = replayed(system, settings, "memory_items_one", batch_size=1)
    for batch_size in (4, 500):
        assert replayed(system, settings, f"memory_items_{batch_size}", batch_size,
                        prepared_ahead=True) == one_by_one


def test_what_a_batch_prepared_ahead_is_taken_by_its_write(system, settings):
    write_history(system)
    pool = open_pool(settings)
    try:
        env = shared_env(settings, pool, create_tables=True)
        view = open_view(MemoryItemsProjection, env, name="memory_items_a")
        projection = MemoryItemsProjection(view)
        batch = EventFeed(system.memory, 0, lambda: False, batch_size=500).next_batch()
        projection.prepare(batch)
        new = [tracking.notification_id for event, tracking in batch
               if isinstance(event, MemoryItem.Upserted)]
        assert sorted(projection.ahead) == new and len(new) == 37
        projection.process_batch(batch)
        assert projection.ahead == {}
    finally:
        pool.close()


def test_each_memory_costs_what_the_tokenizer_counts_in_its_prompt_text(system, settings):
    write_history(system)
    rows = replayed(system, settings, "memory_items_all", batch_size=500)[""]
    tokenizer = plain_tokenizer()

    def counted(key: str, content) -> int:
        return len(tokenizer.encode(prompt_text(key, content), add_special_tokens=False))

    clear = [row for row in rows if not is_sealed(row["content"])]
    assert len(clear) == len(rows) - 1
    assert [row["tokens"] for row in clear] == [counted(row["key"], row["content"])
                                                for row in clear]
    [sealed] = [row for row in rows if is_sealed(row["content"])]
    assert sealed["tokens"] > counted(sealed["key"], "")  # its estimated content counts
