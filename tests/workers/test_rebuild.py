import threading

import psycopg
import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.sessions.application import MessageDraft
from arqium.projections.chat_sessions import ChatSessionsProjection
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.system.skips import skip_event
from arqium.workers import feed as feed_module
from arqium.workers.feed import EventFailed
from arqium.workers.rebuild import rebuild
from tests.conftest import SETUP, eventually
from tests.workers.test_feed import make_unreadable


def write(system, count: int, prefix: str) -> int:
    position = 0
    for n in range(count):
        _, position = system.memory.upsert("u1", MemoryDraft(key=f"{prefix}{n}", content=n),
                                           cause=SETUP)
        system.clock.advance(seconds=1)
    return position


def test_rebuild_gives_back_exactly_the_same_query_results(system, settings, workers, clock):
    workers("memory_items")
    position = write(system, 20, "k")
    write(system, 5, "k")  # revisions of existing keys
    view = system.views["memory_items"]
    view.wait("memory", system.memory.recorder.max_notification_id(), timeout=5)
    before = view.recent("u1", 100, clock())
    rebuilt_to = rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert rebuilt_to == system.memory.recorder.max_notification_id() > position
    assert view.recent("u1", 100, clock()) == before


def test_the_live_projector_resumes_after_a_rebuild(system, settings, workers, clock):
    workers("memory_items")
    write(system, 10, "a")
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    position = write(system, 10, "b")
    view = system.views["memory_items"]
    view.wait("memory", position, timeout=5)
    assert len(view.recent("u1", 100, clock())) == 20


def test_an_idle_live_projector_steps_aside_for_a_rebuild_at_once(system, settings,
                                                                   workers, monkeypatch):
    """Not at its feed's next look for commits: here a minute away."""
    monkeypatch.setattr(feed_module, "NOTIFIED_POLL_SECONDS", 60.0)
    workers("memory_items")
    position = write(system, 3, "k")
    view = system.views["memory_items"]
    # Looked at without hurrying it (as a read's wait would): idle from now on.
    assert eventually(lambda: view.position("memory") >= position, 60)
    done = []
    rebuilding = threading.Thread(target=lambda: done.append(
        rebuild(MemoryItemsProjection, settings, show_progress=False)))
    rebuilding.start()
    rebuilding.join(20)
    assert done == [position], "the rebuild still waits for the live projector"


def test_rebuild_works_when_no_projector_is_running(system, settings, clock):
    write(system, 3, "k")
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert len(system.views["memory_items"].recent("u1", 10, clock())) == 3


def unreadable_and_skipped(system, position: int) -> None:
    """The event at `position` made unreadable, and memory_items stepped over it by an
    operator's skip."""
    make_unreadable(system, position)
    skip_event(system, "memory_items", position, "unreadable", "ops", force=True)


# Every memory_items table created from now on refuses memories keyed poison*.
REFUSING_POISON_IN_NEW_TABLES = """
CREATE FUNCTION refuse_poison() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE created record;
BEGIN
    FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
        WHERE command_tag = 'CREATE TABLE' AND object_identity LIKE '%memory_items__rebuild'
    LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT no_poison CHECK (key NOT LIKE %L)',
                       created.object_identity, 'poison%');
    END LOOP;
END $$;
CREATE EVENT TRIGGER refuse_poison ON ddl_command_end EXECUTE FUNCTION refuse_poison();
"""


def keys_of(system, clock) -> list[str]:
    rows = system.views["memory_items"].recent("u1", 10, clock())
    return sorted(row["key"] for row in rows)


def test_a_rebuild_steps_over_a_skipped_event_it_cannot_read(system, settings, clock):
    write(system, 1, "before")
    skipped = write(system, 1, "skipped")
    after = write(system, 1, "after")
    unreadable_and_skipped(system, skipped)
    assert rebuild(MemoryItemsProjection, settings, show_progress=False) == after
    assert keys_of(system, clock) == ["after0", "before0"]


def test_a_rebuild_steps_over_a_skipped_event_it_still_cannot_apply(
        system, settings, clock, caplog):
    """The rebuilt tables refuse the skipped memory, as the live one did."""
    write(system, 1, "before")
    skipped = write(system, 1, "poison")
    write(system, 1, "after")
    skip_event(system, "memory_items", skipped, "unstorable", "ops", force=True)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(REFUSING_POISON_IN_NEW_TABLES)
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert keys_of(system, clock) == ["after0", "before0"]
    assert (f"the event at position {skipped}, skipped by an operator, still fails "
            "(IntegrityError: new row") in caplog.text


def test_a_rebuild_stops_at_an_event_it_cannot_apply_naming_it(system, settings, clock):
    """The rebuilt tables refuse a memory the live one holds: the rebuild names that
    event (its batch applied one event at a time) and leaves the live read model as it
    was."""
    write(system, 1, "before")
    poison = write(system, 1, "poison")
    write(system, 30, "after")
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(REFUSING_POISON_IN_NEW_TABLES)
    with pytest.raises(EventFailed) as failed:
        rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert failed.value.position == poison
    assert "no_poison" in str(failed.value.error)
    assert len(system.views["memory_items"].recent("u1", 100, clock())) == 32


def test_a_rebuild_applies_a_skipped_event_that_it_now_can(system, settings, clock):
    write(system, 1, "before")
    skipped = write(system, 1, "fixed")
    skip_event(system, "memory_items", skipped, "fixed in the next release", "ops",
               force=True)
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert keys_of(system, clock) == ["before0", "fixed0"]


def test_a_rebuild_ends_past_a_skipped_event_that_is_the_last(system, settings, clock):
    write(system, 1, "before")
    skipped = write(system, 1, "skipped")
    unreadable_and_skipped(system, skipped)
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert system.views["memory_items"].position("memory") == skipped
    assert keys_of(system, clock) == ["before0"]


def test_a_rebuilt_sessions_read_model_keeps_its_checkpoints(system, settings, workers):
    workers("chat_sessions")
    session, _ = system.sessions.create_session("u1", "chat", cause=SETUP)
    system.sessions.append_message("u1", session.id, MessageDraft(role="user", content="a"),
                                   cause=SETUP)
    _, position = system.sessions.checkpoint("u1", session.id, "one", {}, cause=SETUP)
    view = system.views["chat_sessions"]
    view.wait("sessions", position, timeout=5)
    before = view.page("u1", 10, 0), view.checkpoints_of("u1", session.id)
    assert rebuild(ChatSessionsProjection, settings, show_progress=False) == position
    assert (view.page("u1", 10, 0), view.checkpoints_of("u1", session.id)) == before
    assert len(before[1]) == 1


def indexes(view) -> dict[str, str]:
    """Each index of the read model's tables, by name, with how it is made."""
    rows = view.query("SELECT indexname, indexdef FROM pg_indexes "
                      "WHERE tablename = ANY(%(tables)s)", tables=view.table_names())
    return {row["indexname"]: row["indexdef"] for row in rows}


def test_a_rebuild_that_builds_indexes_after_the_load_ends_with_the_same_indexes(
        system, settings, clock):
    view = system.views["memory_items"]
    assert type(view).index_after_load
    before = indexes(view)
    write(system, 3, "k")
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    assert indexes(view) == before
    assert {"memory_items_owner_tsv_idx", "memory_items_words_trgm_idx"} <= set(before)
    rows = view.query("SELECT count(*) AS n FROM {table} WHERE tsv @@ 'k0'::tsquery")
    assert rows[0]["n"] == 1


def test_a_rebuilt_read_model_goes_live_with_its_statistics(system, settings, clock):
    """Analyzed before the swap: queries are not planned on a guess of its rows until
    autovacuum comes round to the new tables."""
    for key, words in (("a", "quick brown fox"), ("b", "lazy dog sleeps")):
        system.memory.upsert("u1", MemoryDraft(key=key, content=words), cause=SETUP)
    rebuild(MemoryItemsProjection, settings, show_progress=False)
    view = system.views["memory_items"]
    rows = view.query("SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = "
                      "%(schema)s AND tablename = ANY(%(tables)s)",
                      schema=view.datastore.schema, tables=view.table_names())
    assert {row["tablename"] for row in rows} == set(view.table_names())
