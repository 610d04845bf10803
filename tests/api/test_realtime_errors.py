"""/ws/sync `error` events: a message the socket does not understand, and updates
delayed because the event stream (NATS) is out of reach; and `resumed` once they flow
again. The socket stays open."""

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.api.common.sync_hub import RESUMED, STREAM_LOST
from arqium.system.bootstrap import open_system
from tests.api.conftest import WAIT_SECONDS, next_message
from tests.conftest import eventually


@pytest.fixture(autouse=True)
def relay(own_nats, workers):
    workers("nats_relay", "memory_items")


def connect(client, user, session_id="s-1"):
    return client.websocket_connect(f"/ws/sync/{session_id}?token={user['access_token']}")


def store(client, user, key="note", session_id="s-1"):
    return client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": key, "content": "hello", "session_id": session_id})


def test_a_message_that_is_not_json_gets_an_error_and_the_socket_stays_open(client, user):
    with connect(client, user) as socket:
        socket.send_text("{not json")
        error = next_message(socket)
        store(client, user)
        update = next_message(socket)
    assert error["event"] == "error"
    assert error["data"]["code"] == "VALIDATION_ERROR"
    assert "not valid JSON" in error["data"]["message"]
    assert (update["event"], update["data"]["key"]) == ("memory_added", "note")


def test_an_unknown_message_gets_an_error(client, user):
    with connect(client, user) as socket:
        socket.send_json({"event": "subscribe", "data": {}})
        error = next_message(socket)
    assert error["event"] == "error"
    assert "unknown message" in error["data"]["message"]


def test_losing_nats_tells_the_sockets_that_updates_may_be_delayed(client, user, own_nats):
    with connect(client, user) as socket:
        own_nats.stop()
        error = next_message(socket)
    assert error == {"event": "error", "data": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "lost the connection to the event stream; updates may be delayed"}}


def test_when_nats_is_back_the_sockets_are_told_to_re_read_and_updates_flow_again(
        client, user, own_nats):
    with connect(client, user) as socket:
        own_nats.stop()
        assert next_message(socket) == STREAM_LOST
        own_nats.start()
        resumed = next_message(socket)
        store(client, user)
        update = next_message(socket)
    assert resumed == {"event": "resumed", "data": {
        "message": "updates flow again; re-read what you show"}}
    assert (update["event"], update["data"]["key"]) == ("memory_added", "note")


def test_a_socket_opened_while_nats_is_unreachable_is_told_at_once(settings, clock, user):
    without_nats = settings.model_copy(update={"nats_url": ""})
    app = create_app(without_nats, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as second, connect(second, user) as socket:
        error = next_message(socket)
    assert (error["event"], error["data"]["code"]) == ("error", "SERVICE_UNAVAILABLE")


def test_an_api_started_while_nats_is_down_connects_once_it_is_back_and_tells_the_sockets(
        settings, clock, user, own_nats):
    own_nats.stop()
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as started_without_nats, connect(started_without_nats,
                                                          user) as socket:
        told_delayed_then_resumed_then_pushed(socket, started_without_nats, user, own_nats)


def test_a_socket_that_wakes_an_idle_process_while_nats_is_down_is_told_and_resumes(
        quickly_idle, client, user, own_nats):
    """Woken with NATS out of reach, the process cannot subscribe: the socket is told
    its updates are delayed (within START_WAIT_SECONDS), then to re-read once they
    flow."""
    hub = client.app.state.sync_hub
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
    own_nats.stop()
    with connect(client, user) as socket:
        told_delayed_then_resumed_then_pushed(socket, client, user, own_nats)


def told_delayed_then_resumed_then_pushed(socket, client, user, own_nats) -> None:
    """A socket opened while NATS is down: told its updates are delayed, then, NATS
    started, to re-read; then pushed a memory stored through `client`."""
    assert next_message(socket) == STREAM_LOST
    own_nats.start()
    assert next_message(socket) == RESUMED
    store(client, user)
    update = next_message(socket)
    assert (update["event"], update["data"]["key"]) == ("memory_added", "note")
