"""/ws/sync: a session's changes reach its sockets through NATS, whichever API process
the change was written through."""

import asyncio
import json
import time

import nats
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.api.conftest import WAIT_SECONDS
from tests.api.conftest import next_message as next_update
from tests.conftest import bearer, eventually, register


@pytest.fixture
def other_instance(settings, clock, own_nats):
    """A second API process: its own app, its own subscription to the stream."""
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as second:
        yield second


@pytest.fixture(autouse=True)
def relay_and_projectors(own_nats, workers):
    workers("nats_relay", "contexts", "memory_items")


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


MEMORY_UPSERTED = {
    "type": "MemoryItem.Upserted", "subject": "m-1", "id": "memory:7", "application": "memory",
    "originator_version": 1,
    "data": {"owner_id": "ada", "session_id": "s-1", "key": "k", "layer": "temporary"}}


def test_updates_are_routed_to_the_owners_session(client):
    (owner, session), update = client.app.state.sync_hub.route(MEMORY_UPSERTED)
    assert (owner, session, update["event"]) == ("ada", "s-1", "memory_added")


def test_an_update_outside_any_session_is_routed_to_the_owner_alone(client):
    envelope = {**MEMORY_UPSERTED, "data": {**MEMORY_UPSERTED["data"], "session_id": None}}
    (owner, session), _ = client.app.state.sync_hub.route(envelope)
    assert (owner, session) == ("ada", None)


def test_a_platform_event_about_a_session_is_routed_as_a_plugin_event(client):
    envelope = {"type": "Plugin.Installed", "subject": "p-1", "id": "platform:3",
                "application": "platform", "originator_version": 1,
                "data": {"owner_id": "ada", "session_id": "s-1", "plugin": "weather"}}
    (owner, session), update = client.app.state.sync_hub.route(envelope)
    assert (owner, session, update["event"]) == ("ada", "s-1", "plugin_event")
    assert update["data"]["type"] == "Plugin.Installed"
    assert update["data"]["data"]["plugin"] == "weather"


def test_a_platform_event_without_a_session_is_not_routed(client):
    envelope = {"type": "Plugin.Installed", "subject": "p-1", "id": "platform:3",
                "application": "platform", "originator_version": 1,
                "data": {"owner_id": "ada", "plugin": "weather"}}
    assert client.app.state.sync_hub.route(envelope) is None


def test_a_memory_stored_again_after_its_deletion_arrives_as_memory_added(client, user):
    with client.websocket_connect(f"/ws/sync/s-3?token={user['access_token']}") as socket:
        first = client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "note", "content": "one", "session_id": "s-3"})
        next_update(socket)
        memory_id = first.json()["data"]["id"]
        client.get(f"/api/v1/memory/{memory_id}", headers={
            **user["headers"], "X-Min-Position": first.headers["X-Event-Position"]})
        client.delete(f"/api/v1/memory/{memory_id}", headers=user["headers"])
        client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "note", "content": "two", "session_id": "s-3"})
        again = next_update(socket)
    assert (again["event"], again["data"]["id"], again["data"]["key"]) == (
        "memory_added", memory_id, "note")


def test_another_users_memory_in_a_session_of_the_same_name_does_not_arrive(client, user):
    eve = register(client, email="eve@example.com", name="Eve")
    with client.websocket_connect(f"/ws/sync/shared?token={eve['access_token']}") as socket:
        client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "ada's", "content": "x", "session_id": "shared"})
        client.post("/api/v1/memory/store", headers=bearer(eve["access_token"]), json={
            "key": "eve's", "content": "y", "session_id": "shared"})
        update = next_update(socket)
    assert update["data"]["key"] == "eve's"


def test_a_platform_event_on_the_stream_arrives_as_plugin_event(client, user, settings):
    envelope = {"id": "platform:1", "type": "Plugin.Installed", "subject": "p-1",
                "position": 1, "application": "platform", "originator_version": 1,
                "data": {"owner_id": user["user"]["id"], "session_id": "s-4",
                         "plugin": "weather"}}
    with client.websocket_connect(f"/ws/sync/s-4?token={user['access_token']}") as socket:
        asyncio.run(publish(settings.nats_url, "arqium.platform.plugin.installed",
                            envelope))
        update = next_update(socket)
    assert update["event"] == "plugin_event"
    assert (update["data"]["type"], update["data"]["data"]["plugin"]) == (
        "Plugin.Installed", "weather")


async def publish(nats_url: str, subject: str, envelope: dict) -> None:
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(subject, json.dumps(envelope).encode())
    finally:
        await connection.close()


def test_a_process_with_no_socket_open_stops_receiving_the_stream_until_one_opens(
        quickly_idle, client, user):
    """Every event reaching an API process for sockets it does not have cost ~5 % of its
    processor per write: idle, it unsubscribes; a socket opening subscribes it again
    before the socket is open, so that the socket hears every update from then on."""
    hub = client.app.state.sync_hub
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
    with client.websocket_connect(f"/ws/sync/s-1?token={user['access_token']}") as socket:
        assert hub.receiving
        stored = client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "note", "content": "hello", "session_id": "s-1"}).json()["data"]
        update = next_update(socket)  # the first message: no "updates delayed" before it
        assert (update["event"], update["data"]["id"]) == ("memory_added", stored["id"])
        time.sleep(0.5)  # longer than IDLE_SECONDS: an open socket keeps it subscribed
        assert hub.receiving
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
