"""/ws/sync: a session's changes reach its sockets through NATS, whichever API process
the change was written through."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from infra.bootstrap import open_system
from infra.embedded import EmbeddedNats, free_port

WAIT_SECONDS = 20


@pytest.fixture(autouse=True)
def own_nats(tmp_path, settings):
    """A NATS server of this test's own: the relay's message ids restart with each test's
    database, and JetStream would drop them as duplicates of an earlier test's."""
    server = EmbeddedNats(tmp_path, port=free_port())
    settings.nats_url = server.start()
    yield server
    server.stop()


@pytest.fixture
def other_instance(settings, clock, own_nats):
    """A second API process: its own app, its own subscription to the stream."""
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as second:
        yield second


@pytest.fixture(autouse=True)
def relay_and_projectors(own_nats, workers):
    workers("nats_relay", "contexts")


def next_update(socket) -> dict:
    """The socket's next message, or a failure after WAIT_SECONDS (never a hang)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(socket.receive_json).result(timeout=WAIT_SECONDS)
    except TimeoutError:
        socket.close()
        pytest.fail(f"nothing arrived on the socket within {WAIT_SECONDS} s")
    finally:
        pool.shutdown(wait=False)


def test_a_memory_written_through_one_instance_reaches_a_socket_on_another(
        client, other_instance, user):
    token = user["access_token"]
    with other_instance.websocket_connect(f"/ws/sync/s-1?token={token}") as socket:
        stored = client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "note", "content": "hello", "session_id": "s-1"})
        update = next_update(socket)
    assert update["event"] == "memory_added"
    assert (update["data"]["id"], update["data"]["key"]) == (
        stored.json()["data"]["id"], "note")


def test_changes_of_a_context_bound_to_the_session_arrive_as_context_updated(
        client, other_instance, user):
    with other_instance.websocket_connect(
            "/ws/sync/s-2", headers={"Authorization": f"Bearer {user['access_token']}"}
    ) as socket:
        created = client.post("/api/v1/contexts", headers=user["headers"], json={
            "name": "draft", "state": {"step": 1}, "session_id": "s-2"}).json()["data"]
        first = next_update(socket)
        client.put(f"/api/v1/contexts/{created['id']}", headers=user["headers"],
                   json={"state": {"step": 2}})
        second = next_update(socket)
    assert [(u["event"], u["data"]["change"]) for u in (first, second)] == [
        ("context_updated", "Created"), ("context_updated", "Updated")]
    assert second["data"]["id"] == created["id"] and second["data"]["version"] == 2


def test_a_socket_without_a_valid_token_is_refused(client):
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("/ws/sync/s-1?token=not-a-token") as socket:
            socket.receive_json()
    assert refused.value.code == 1008


def test_updates_are_routed_to_the_owners_session_only(client):
    hub = client.app.state.sync_hub
    envelope = {"type": "MemoryItem.Upserted", "subject": "m-1", "id": "memory:7",
                "originator_version": 1,
                "data": {"owner_id": "ada", "session_id": "s-1", "key": "k", "layer": "temporary"}}
    (owner, session), update = hub.route(envelope)
    assert (owner, session, update["event"]) == ("ada", "s-1", "memory_added")
    assert hub.route({**envelope, "data": {**envelope["data"], "session_id": None}}) is None
