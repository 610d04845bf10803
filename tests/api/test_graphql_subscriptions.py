"""/graphql subscriptions over graphql-transport-ws: the caller's memories and context
changes, fed from the NATS stream like /ws/sync."""

from contextlib import contextmanager

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import WAIT_SECONDS, next_message
from tests.conftest import bearer, eventually, register

PROTOCOL = ["graphql-transport-ws"]
MEMORY_ADDED = """subscription($sessionId: String) { onMemoryAdded(sessionId: $sessionId) {
    id key sessionId position memory { content layer } } }"""
CONTEXT_UPDATED = """subscription { onContextUpdate {
    id change version sessionId context { name state version } } }"""


@pytest.fixture(autouse=True)
def relay_and_projectors(own_nats, workers):
    workers("nats_relay", "contexts", "memory_items", "api_keys")


@contextmanager
def graphql_socket(client, payload: dict, path: str = "/graphql"):
    """A graphql-transport-ws socket, its connection_init (with `payload`) sent."""
    with client.websocket_connect(path, subprotocols=PROTOCOL) as socket:
        socket.send_json({"type": "connection_init", "payload": payload})
        yield socket


def subscribe(client, socket, owner_id: str, query: str, session_id=None, **variables):
    """Start a subscription and wait until the hub has its listener."""
    socket.send_json({"id": "1", "type": "subscribe", "payload": {
        "query": query, "variables": variables}})
    hub = client.app.state.sync_hub
    assert eventually(lambda: hub.listeners.get((owner_id, session_id)), WAIT_SECONDS), (
        "the subscription never started listening")


def next_payload(socket) -> dict:
    message = next_message(socket)
    assert message["type"] == "next", message
    return message["payload"]


@pytest.fixture
def socket(client, user):
    with graphql_socket(client, {"Authorization": f"Bearer {user['access_token']}"}
                        ) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        yield socket


def test_on_memory_added_pushes_a_memory_stored_in_the_session(client, user, socket):
    subscribe(client, socket, user["user"]["id"], MEMORY_ADDED, "s-1", sessionId="s-1")
    stored = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": "note", "content": "hello", "session_id": "s-1", "layer": "permanent"})
    added = next_payload(socket)["data"]["onMemoryAdded"]
    assert (added["id"], added["key"], added["sessionId"]) == (
        stored.json()["data"]["id"], "note", "s-1")
    assert added["memory"] == {"content": "hello", "layer": "permanent"}


def test_on_memory_added_skips_other_sessions(client, user, socket):
    subscribe(client, socket, user["user"]["id"], MEMORY_ADDED, "s-1", sessionId="s-1")
    for key, session_id in (("elsewhere", "s-2"), ("here", "s-1")):
        client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": key, "content": "x", "session_id": session_id})
    assert next_payload(socket)["data"]["onMemoryAdded"]["key"] == "here"


def test_a_subscription_keeps_pushing_once_nats_is_back(client, user, socket, own_nats):
    subscribe(client, socket, user["user"]["id"], MEMORY_ADDED)
    with client.websocket_connect(f"/ws/sync/s-1?token={user['access_token']}") as sync:
        own_nats.stop()
        assert next_message(sync)["event"] == "error"
        own_nats.start()
        assert next_message(sync)["event"] == "resumed"  # the hub's updates flow again
    client.post("/api/v1/memory/store", headers=user["headers"],
                json={"key": "note", "content": "x"})
    assert next_payload(socket)["data"]["onMemoryAdded"]["key"] == "note"


def test_on_context_update_without_a_session_pushes_every_change_of_yours(
        client, user, socket):
    subscribe(client, socket, user["user"]["id"], CONTEXT_UPDATED)
    created = client.post("/api/v1/contexts", headers=user["headers"], json={
        "name": "draft", "state": {"step": 1}}).json()["data"]
    first = next_payload(socket)["data"]["onContextUpdate"]
    client.put(f"/api/v1/contexts/{created['id']}", headers=user["headers"],
               json={"state": {"step": 2}})
    second = next_payload(socket)["data"]["onContextUpdate"]
    assert (first["id"], first["change"], first["sessionId"]) == (
        created["id"], "Created", None)
    assert (second["change"], second["version"]) == ("Updated", 2)
    assert second["context"] == {"name": "draft", "state": {"step": 2}, "version": 2}


def test_another_users_updates_never_reach_your_subscription(client, user):
    eve = register(client, email="eve@example.com", name="Eve")
    with graphql_socket(client, {"token": eve["access_token"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        subscribe(client, socket, eve["user"]["id"], MEMORY_ADDED)
        client.post("/api/v1/memory/store", headers=user["headers"],
                    json={"key": "ada's", "content": "x"})
        client.post("/api/v1/memory/store", headers=bearer(eve["access_token"]),
                    json={"key": "eve's", "content": "y"})
        added = next_payload(socket)["data"]["onMemoryAdded"]
    assert added["key"] == "eve's"


def test_an_api_key_in_the_connection_init_payload_is_accepted(client, user):
    key = client.post("/api/v1/api-keys", headers=user["headers"],
                      json={"name": "ws"}).json()["data"]["key"]
    with graphql_socket(client, {"X-API-Key": key}) as socket:
        assert next_message(socket)["type"] == "connection_ack"


def test_the_token_may_come_in_the_query_string(client, user):
    with graphql_socket(client, {}, path=f"/graphql?token={user['access_token']}"
                        ) as socket:
        assert next_message(socket)["type"] == "connection_ack"


def test_a_connection_without_valid_credentials_is_closed_as_forbidden(client):
    with (pytest.raises(WebSocketDisconnect) as refused,
          graphql_socket(client, {"Authorization": "Bearer not-a-token"}) as socket):
        socket.receive_json()
    assert refused.value.code == 4403


def test_a_subscription_on_an_idle_process_pushes_every_memory_from_then_on(
        quickly_idle, client, user):
    """An API process with no socket open stops receiving the stream; a GraphQL socket
    subscribes it again as it authenticates."""
    hub = client.app.state.sync_hub
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
    with graphql_socket(client, {"Authorization": f"Bearer {user['access_token']}"}
                        ) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        assert hub.receiving
        subscribe(client, socket, user["user"]["id"], MEMORY_ADDED, "s-1", sessionId="s-1")
        stored = client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "note", "content": "hello", "session_id": "s-1"}).json()["data"]
        added = next_payload(socket)["data"]["onMemoryAdded"]
    assert added["id"] == stored["id"]
