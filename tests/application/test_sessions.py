"""Chat sessions through the sessions application and their read models: titles,
message order, checkpoints and resume, abandoned messages, archive, deletion."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from uuid import uuid4

import pytest

from arqium.domain.sessions.application import MessageDraft
from arqium.domain.sessions.domainmodel import (
    CheckpointNotFound,
    SessionArchived,
    SessionNotFound,
)
from arqium.domain.shared import Invalid
from tests.application.conftest import at_once
from tests.conftest import SETUP


@pytest.fixture
def session(system):
    created, _ = system.sessions.create_session("ada", "Planning", cause=SETUP)
    return created


def say(system, session, content, role="user"):
    return system.sessions.append_message("ada", session.id, MessageDraft(role, content),
                                          cause=SETUP)


def checkpoint(system, session, label=None, context=None):
    return system.sessions.checkpoint("ada", session.id, label, context or {}, cause=SETUP)


def resume(system, session, checkpoint_id):
    return system.sessions.resume("ada", session.id, checkpoint_id, cause=SETUP)


@pytest.fixture
def listed(system, session, workers):
    """The session's (content, abandoned) messages in the read model once it has
    reached a position, oldest first."""
    workers("session_messages")
    view = system.read_models.session_messages

    def read(position, include_abandoned=False) -> list:
        view.wait("sessions", position, timeout=5)
        rows, _ = view.page("ada", session.id, 100, 0, include_abandoned)
        return [(row["content"], row["abandoned"]) for row in rows]

    return read


def test_a_session_without_a_title_is_called_new_session(system):
    session, _ = system.sessions.create_session("ada", cause=SETUP)
    assert (session.title, session.status, session.message_count) == (
        "New session", "active", 0)


def test_a_title_over_200_characters_is_invalid(system):
    with pytest.raises(Invalid) as refused:
        system.sessions.create_session("ada", "x" * 201, cause=SETUP)
    assert refused.value.details == {"field": "title"}


@pytest.mark.parametrize("role, content, field", [("wizard", "hi", "role"),
                                                  ("user", 42, "content")])
def test_a_message_of_an_unknown_role_or_not_text_is_invalid(system, session, role,
                                                             content, field):
    with pytest.raises(Invalid) as refused:
        say(system, session, content, role=role)
    assert refused.value.details == {"field": field}


def test_messages_are_listed_oldest_first(system, session, listed):
    say(system, session, "one")
    _, position = say(system, session, "two", role="assistant")
    assert listed(position) == [("one", False), ("two", False)]


def test_a_checkpoint_names_the_count_and_position_of_the_thread(system, session):
    say(system, session, "one")
    say(system, session, "two")
    saved, _ = checkpoint(system, session, label="two messages")
    assert (saved["label"], saved["message_count"], saved["position"]) == (
        "two messages", 2, 2)


def test_resuming_a_checkpoint_answers_the_session_as_it_was(system, session):
    say(system, session, "kept")
    saved, _ = checkpoint(system, session, context={"c1": {"state": {"step": 1}}})
    say(system, session, "abandoned")
    resumed, _ = resume(system, session, str(saved["checkpoint_id"]))
    assert [m["content"] for m in resumed.active_messages()] == ["kept"]
    assert resumed.message_count == 1
    assert resumed.checkpoints[saved["checkpoint_id"]]["context"] == {
        "c1": {"state": {"step": 1}}}


def test_abandoned_messages_leave_the_thread_but_stay_readable(system, session, listed):
    say(system, session, "kept")
    saved, _ = checkpoint(system, session)
    say(system, session, "abandoned")
    resume(system, session, str(saved["checkpoint_id"]))
    _, position = say(system, session, "after")
    assert listed(position) == [("kept", False), ("after", False)]
    assert listed(position, include_abandoned=True) == [
        ("kept", False), ("abandoned", True), ("after", False)]


def test_resuming_a_later_checkpoint_brings_abandoned_messages_back(system, session,
                                                                     listed):
    early, _ = checkpoint(system, session)
    say(system, session, "later")
    late, _ = checkpoint(system, session)
    resume(system, session, str(early["checkpoint_id"]))
    _, position = resume(system, session, str(late["checkpoint_id"]))
    assert listed(position) == [("later", False)]


@pytest.mark.parametrize("checkpoint_id", ["nonsense", "of another session"])
def test_a_checkpoint_that_is_not_the_sessions_is_invalid(system, session, checkpoint_id):
    if checkpoint_id == "of another session":
        other, _ = system.sessions.create_session("ada", cause=SETUP)
        checkpoint_id = str(checkpoint(system, other)[0]["checkpoint_id"])
    with pytest.raises(CheckpointNotFound) as refused:
        resume(system, session, checkpoint_id)
    assert refused.value.details == {"field": "checkpoint_id"}


def test_an_archived_session_takes_no_messages_until_resumed(system, session):
    archived, _ = system.sessions.archive("ada", session.id, cause=SETUP)
    assert archived.status == "archived"
    with pytest.raises(SessionArchived):
        say(system, session, "hello")
    reopened, _ = resume(system, session, None)
    assert reopened.status == "active"
    assert say(system, session, "hello")[0]["seq"] == 1


def test_a_deleted_session_is_not_found_and_leaves_the_read_models(system, session,
                                                                    workers):
    workers("chat_sessions", "session_messages")
    position = system.sessions.delete_session("ada", session.id, cause=SETUP)
    with pytest.raises(SessionNotFound):
        say(system, session, "hello")
    for view in (system.read_models.chat_sessions, system.read_models.session_messages):
        view.wait("sessions", position, timeout=5)
    assert system.read_models.chat_sessions.get("ada", session.id) is None
    assert not system.read_models.session_messages.has_session("ada", session.id)


def test_an_unknown_session_is_not_found(system):
    with pytest.raises(SessionNotFound):
        system.sessions.append_message("ada", uuid4(), MessageDraft("user", "hi"),
                                       cause=SETUP)


def test_concurrent_appends_all_land_in_order(system, session):
    start = Barrier(4)

    def write(writer: int) -> list[int]:
        start.wait()
        return [say(system, session, f"{writer}:{n}")[0]["seq"] for n in range(10)]

    with ThreadPoolExecutor(4) as pool:
        seqs = list(pool.map(write, range(4)))
    assert all(ours == sorted(ours) for ours in seqs)  # each writer's order is kept
    assert sorted(seq for ours in seqs for seq in ours) == list(range(1, 41))
    stored = system.sessions.repository.get(session.id)
    assert (stored.message_count, stored.version) == (40, 41)


def test_64_messages_at_once_all_land_numbered_without_gaps(system, session, processes):
    sessions = processes(system.sessions)
    outcomes = at_once(64, lambda n: sessions[n % len(sessions)].append_message(
        "ada", session.id, MessageDraft("user", f"message {n}"), cause=SETUP))
    assert sorted(message["seq"] for message, _ in outcomes) == list(range(1, 65))
    stored = system.sessions.repository.get(session.id)
    assert (stored.message_count, stored.version) == (64, 65)


def test_sessions_are_listed_most_recently_active_first_a_page_at_a_time(system, clock,
                                                                         workers):
    workers("chat_sessions")
    for title in ("a", "b", "c"):
        _, position = system.sessions.create_session("ada", title, cause=SETUP)
        clock.advance(seconds=1)
    system.read_models.chat_sessions.wait("sessions", position, timeout=5)
    rows, total = system.read_models.chat_sessions.page("ada", 1, 1)
    assert ([row["title"] for row in rows], total) == (["b"], 3)


def test_archived_sessions_are_listed_only_when_asked_for(system, session, workers):
    workers("chat_sessions")
    kept, _ = system.sessions.create_session("ada", "kept", cause=SETUP)
    _, position = system.sessions.archive("ada", session.id, cause=SETUP)
    view = system.read_models.chat_sessions
    view.wait("sessions", position, timeout=5)
    assert [row["id"] for row in view.page("ada", 10, 0, archived=False)[0]] == [kept.id]
    assert {row["id"]: row["status"] for row in view.page("ada", 10, 0)[0]} == {
        kept.id: "active", session.id: "archived"}


def test_messages_before_a_time_page_backwards_through_the_thread(system, session, clock,
                                                                  workers):
    workers("session_messages")
    for n in range(3):
        _, position = say(system, session, f"m{n}")
        clock.advance(seconds=1)
    view = system.read_models.session_messages
    view.wait("sessions", position, timeout=5)
    newest, more = view.before("ada", session.id, None, 2)
    assert ([m["content"] for m in newest], more) == (["m1", "m2"], True)
    older, more = view.before("ada", session.id, newest[0]["created_at"], 2)
    assert ([m["content"] for m in older], more) == (["m0"], False)
