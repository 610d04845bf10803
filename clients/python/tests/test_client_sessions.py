"""Sessions through the client: messages, checkpoints, resume and archive."""

import pytest

from arqium_client import Conflict


def test_a_sessions_messages_are_listed_oldest_first(client):
    session = client.sessions.create("Trip planning", {"channel": "web"})
    client.sessions.add_message(session.id, "user", "Where should we go?")
    client.sessions.add_message(session.id, "assistant", "The Alps, in June.")
    assert [m.content for m in client.sessions.messages(session.id, per_page=1)] == [
        "Where should we go?", "The Alps, in June."]
    assert client.sessions.get(session.id).message_count == 2


def test_resuming_a_checkpoint_abandons_the_later_messages(client):
    session = client.sessions.create("Draft")
    client.sessions.add_message(session.id, "user", "first")
    checkpoint = client.sessions.checkpoint(session.id, "before the detour")
    client.sessions.add_message(session.id, "user", "detour")
    resumed = client.sessions.resume(session.id, checkpoint.checkpoint_id)
    assert [message.content for message in resumed.messages] == ["first"]
    assert [c.label for c in client.sessions.get(session.id).checkpoints] == [
        "before the detour"]


def test_an_archived_session_takes_no_messages_until_reopened(client):
    session = client.sessions.create("Old")
    assert client.sessions.archive(session.id).status == "archived"
    with pytest.raises(Conflict):
        client.sessions.add_message(session.id, "user", "hello?")
    client.sessions.resume(session.id)
    assert client.sessions.add_message(session.id, "user", "hello again").seq >= 1


def test_the_sessions_list_holds_the_new_session(client):
    session = client.sessions.create("Listed")
    assert [listed.id for listed in client.sessions.list()] == [session.id]
