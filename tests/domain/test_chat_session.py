from datetime import datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from arqium.domain.sessions.domainmodel import (
    MAX_MESSAGE_BYTES,
    ChatSession,
    CheckpointNotFound,
    SessionArchived,
    SessionNotFound,
    check_title,
    session_id_for,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_session() -> ChatSession:
    return ChatSession(id=uuid4(), owner_id="u1", title="t", metadata={}, at=AT)


def say(session: ChatSession, content: str, role: str = "user") -> UUID:
    return session.append(uuid4(), role, content, None, False, AT)["id"]


def contents(session: ChatSession) -> list[str]:
    return [m["content"] for m in session.active_messages()]


def test_messages_are_numbered_in_order_and_counted():
    session = new_session()
    first, second = say(session, "hi"), say(session, "hello", "assistant")
    assert [session.messages[m]["seq"] for m in (first, second)] == [1, 2]
    assert session.message_count == 2


def test_appending_records_the_actor_and_request(cause):
    session = new_session()
    say(session, "hi")
    appended = session.collect_events()[-1]
    assert type(appended).__name__ == "MessageAppended"
    assert (appended.actor, appended.correlation_id, appended.seq) == (
        cause.actor, cause.correlation_id, 1)


def test_a_role_outside_the_enum_is_invalid():
    with pytest.raises(Invalid) as refused:
        say(new_session(), "hi", role="wizard")
    assert refused.value.details["field"] == "role"


def test_content_must_be_a_string():
    with pytest.raises(Invalid) as refused:
        new_session().append(uuid4(), "user", {"text": "hi"}, None, False, AT)
    assert refused.value.details["field"] == "content"


def test_content_over_one_megabyte_is_invalid():
    with pytest.raises(Invalid):
        say(new_session(), "x" * (MAX_MESSAGE_BYTES + 1))


def test_a_title_longer_than_200_characters_is_invalid():
    check_title("x" * 200)
    with pytest.raises(Invalid):
        check_title("x" * 201)


def test_a_checkpoint_records_count_thread_position_and_context():
    session = new_session()
    say(session, "a"), say(session, "b")
    checkpoint = session.checkpoint(uuid4(), "two", {"c1": {"state": {}}}, AT)
    assert (checkpoint["message_count"], checkpoint["position"], checkpoint["context"]) == (
        2, 2, {"c1": {"state": {}}})


def test_resuming_a_checkpoint_abandons_later_messages_without_erasing_them():
    session = new_session()
    say(session, "a")
    checkpoint = session.checkpoint(uuid4(), None, {}, AT)["checkpoint_id"]
    later = say(session, "b")
    session.resume(checkpoint, AT + timedelta(seconds=1))
    assert contents(session) == ["a"]
    assert session.message(later)["abandoned"] and session.messages[later]["content"] == "b"
    resumed = session.collect_events()[-1]
    assert (resumed.abandoned, resumed.restored, resumed.message_count) == ([later], [], 1)


def test_the_thread_continues_after_a_resume_with_fresh_numbers():
    session = new_session()
    say(session, "a")
    checkpoint = session.checkpoint(uuid4(), None, {}, AT)["checkpoint_id"]
    say(session, "b")
    session.resume(checkpoint, AT)
    new = say(session, "c")
    assert contents(session) == ["a", "c"] and session.messages[new]["seq"] == 3


def test_resuming_a_later_checkpoint_restores_its_messages():
    session = new_session()
    early = session.checkpoint(uuid4(), None, {}, AT)["checkpoint_id"]
    kept = say(session, "a")
    late = session.checkpoint(uuid4(), None, {}, AT)["checkpoint_id"]
    session.resume(early, AT)
    session.resume(late, AT)
    assert contents(session) == ["a"]
    assert session.collect_events()[-1].restored == [kept]


def test_a_checkpoint_of_another_session_is_invalid():
    other = new_session().checkpoint(uuid4(), None, {}, AT)["checkpoint_id"]
    with pytest.raises(CheckpointNotFound) as refused:
        new_session().resume(other, AT)
    assert refused.value.details["field"] == "checkpoint_id"


def test_an_archived_session_takes_no_messages_until_it_is_reopened():
    session = new_session()
    session.archive(AT)
    with pytest.raises(SessionArchived):
        say(session, "hi")
    assert session.resume(None, AT) is True and session.status == "active"
    say(session, "hi")


def test_resuming_an_active_session_without_a_checkpoint_changes_nothing():
    session = new_session()
    session.collect_events()
    assert session.resume(None, AT) is False and session.collect_events() == []


def test_a_deleted_session_is_not_found():
    session = new_session()
    session.delete(AT)
    with pytest.raises(SessionNotFound):
        say(session, "hi")


def test_a_uuid_chat_id_is_the_session_id_and_other_chat_ids_are_per_owner():
    chat = "0b4c3f9e-5d6a-4b7c-8d9e-0f1a2b3c4d5e"
    assert session_id_for("u1", chat) == UUID(chat)
    assert session_id_for("u1", "chat-1") == session_id_for("u1", "chat-1")
    assert session_id_for("u1", "chat-1") != session_id_for("u2", "chat-1")
