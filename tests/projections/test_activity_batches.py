"""The activity read models are the same whether their events come one at a time (a
quiet projector) or in big batches (a rebuild, a projector behind a busy write path,
where a batch's log entries, owners and counts are each written in one statement):
same log, owners and hourly counts, with deletions of memories stored in the same
batch and owners forgotten between their own writes."""

from datetime import timedelta

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.sessions.application import MessageDraft
from arqium.projections import rows
from arqium.projections.activity import MemoryActivityProjection, SessionsActivityProjection
from tests.conftest import SETUP
from tests.projections.replay import fed_copy


def store(system, owner_id: str, key: str, content: str):
    item, _ = system.memory.upsert(owner_id, MemoryDraft(key=key, content=content),
                                   cause=SETUP)
    return item


def write_history(system, clock) -> None:
    store(system, "u1", "a", "tea with Maria")
    store(system, "u1", "a", "green tea with Maria")  # a revision
    system.memory.delete("u1", store(system, "u1", "b", "coffee").id, cause=SETUP)
    store(system, "u2", "x", "rice")
    system.memory.forget_owner("u2", cause=SETUP)
    store(system, "u2", "back", "a forgotten owner starts again")
    for number in range(12):  # a run of memories over two hours
        clock.now += timedelta(minutes=10)
        store(system, f"u{3 + number % 2}", f"turn-{number}", f"turn {number}")
    sessions = system.sessions
    session, _ = sessions.create_session("u1", "a chat", cause=SETUP)
    for text in ("hello", "how are you", "fine"):
        sessions.append_message("u1", session.id, MessageDraft("user", text), cause=SETUP)
    sessions.archive("u1", session.id, cause=SETUP)
    other, _ = sessions.create_session("u2", "soon forgotten", cause=SETUP)
    sessions.append_message("u2", other.id, MessageDraft("user", "hi"), cause=SETUP)
    sessions.forget_owner("u2", cause=SETUP)


def replayed(system, settings, projection_class, application, name: str,
             batch_size: int) -> dict[str, list]:
    """Every table of a fresh copy of the read model fed the whole history."""
    with fed_copy(settings, projection_class, application, name, batch_size) as view:
        order = {name: "position", f"{name}_counts": "owner_id, bucket, name",
                 f"{name}_owners": "id"}
        return {table.removeprefix(name): view.query(
            f"SELECT * FROM {{{table}}} ORDER BY {columns}", identifiers={table: table})
            for table, columns in order.items()}


def replayed_both_ways(system, settings, projection_class, application,
                       monkeypatch) -> dict[str, list]:
    """The read model fed one event at a time, once checked to be the same fed in big
    batches, their rows in one document a statement or in several."""
    one_by_one = replayed(system, settings, projection_class, application,
                          f"{projection_class.name}_one", batch_size=1)
    assert replayed(system, settings, projection_class, application,
                    f"{projection_class.name}_all", batch_size=500) == one_by_one
    monkeypatch.setattr(rows, "MAX_DOCUMENT_CHARS", 400)  # a few rows a statement
    assert replayed(system, settings, projection_class, application,
                    f"{projection_class.name}_small", batch_size=500) == one_by_one
    return one_by_one


def test_memory_activity_batched_is_the_same_as_one_event_at_a_time(system, settings,
                                                                    clock, monkeypatch):
    write_history(system, clock)
    tables = replayed_both_ways(system, settings, MemoryActivityProjection, system.memory,
                                monkeypatch)
    log, counts = tables[""], tables["_counts"]
    assert [row["type"] for row in log if row["user_id"] == "u1"] == [
        "memory.stored", "memory.stored", "memory.stored", "memory.deleted"]
    assert {row["user_id"] for row in log} == {"u1", "u2", "u3", "u4"}
    # What u2 did before being forgotten is gone; what came after stays.
    assert [row["description"] for row in log if row["user_id"] == "u2"] == [
        "Stored a memory"]
    assert sum(row["n"] for row in counts if row["owner_id"] == "u2") == 1
    per_hour = {(row["owner_id"], row["bucket"]): row["n"] for row in counts
                if row["name"] == "memories_stored" and row["owner_id"] in ("u3", "u4")}
    assert sum(per_hour.values()) == 12 and len(per_hour) > 2  # hours apart
    assert all(row["bucket"].minute == 0 for row in counts)


def test_sessions_activity_batched_is_the_same_as_one_event_at_a_time(system, settings,
                                                                      clock, monkeypatch):
    write_history(system, clock)
    tables = replayed_both_ways(system, settings, SessionsActivityProjection,
                                system.sessions, monkeypatch)
    counts = {row["name"]: row["n"] for row in tables["_counts"]}
    assert counts["chat_sessions"] == 1 and counts["chat_messages"] == 3
    assert counts["chat_tokens"] >= 3
    assert [row["type"] for row in tables[""]] == ["session.created", "session.archived"]
    assert [row["owner_id"] for row in tables["_owners"]] == ["u1"]
