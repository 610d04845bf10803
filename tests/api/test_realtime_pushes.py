"""/ws/sync pushes carry what changed: the memory or context as the REST answer shows it,
never a sealed memory's content; a late read model delays no one else's pushes
(issue 15, point 4)."""

import json

import pytest

from tests.api.conftest import next_message
from tests.api.test_graphql_subscriptions import graphql_socket, next_payload, subscribe
from tests.conftest import bearer, register

MEMORY = {"key": "note", "content": {"text": "hello"}, "session_id": "s-1",
          "layer": "permanent", "tags": ["a", "b"], "metadata": {"source": "test"}}


def without(data: dict, *names: str) -> dict:
    return {name: value for name, value in data.items() if name not in names}


def connect(client, user, session_id="s-1"):
    return client.websocket_connect(f"/ws/sync/{session_id}?token={user['access_token']}")


def read_back(client, user, path: str, stored) -> dict:
    """GET path once the read model has the stored write."""
    return client.get(path, headers={
        **user["headers"], "X-Min-Position": stored.headers["X-Event-Position"]}
    ).json()["data"]


def store(client, user, **fields):
    return client.post("/api/v1/memory/store", headers=user["headers"],
                       json={**MEMORY, **fields})


@pytest.fixture
def projected(own_nats, workers):
    """The relay and the projections pushes read from."""
    workers("nats_relay", "contexts", "memory_items")


@pytest.fixture
def relay_only(own_nats, workers):
    """The relay without the projections: read models stay behind."""
    workers("nats_relay")


def test_memory_added_carries_the_memory_as_get_shows_it(projected, client, user):
    with connect(client, user) as socket:
        stored = store(client, user)
        update = next_message(socket)
    shown = read_back(client, user, f"/api/v1/memory/{stored.json()['data']['id']}",
                      stored)
    assert update["event"] == "memory_added"
    assert without(update["data"], "position") == shown
    assert shown["content"] == {"text": "hello"}


def test_memory_added_says_which_event_it_shows(projected, client, user):
    with connect(client, user) as socket:
        stored = store(client, user)
        update = next_message(socket)
    application, _, number = stored.headers["X-Event-Position"].rpartition(".")
    assert update["data"]["position"] == f"{application}:{number}"


@pytest.mark.parametrize("sensitivity", ["secret", "pii"])
def test_a_sensitive_memory_is_pushed_without_its_content(projected, client, user,
                                                          sensitivity):
    with connect(client, user) as socket:
        stored = store(client, user, content="my s3cr3t words", sensitivity=sensitivity)
        update = next_message(socket)
    shown = read_back(client, user, f"/api/v1/memory/{stored.json()['data']['id']}",
                      stored)
    assert "s3cr3t" not in json.dumps(update)
    assert without(update["data"], "position") == {**shown, "content": None}


def test_a_memory_stored_again_after_its_deletion_is_pushed_with_its_new_content(
        projected, client, user):
    with connect(client, user) as socket:
        first = store(client, user, content="one")
        next_message(socket)
        client.delete(f"/api/v1/memory/{first.json()['data']['id']}",
                      headers=user["headers"])
        store(client, user, content="two")
        update = next_message(socket)
    assert (update["data"]["id"], update["data"]["content"]) == (
        first.json()["data"]["id"], "two")


def test_pushes_of_one_owner_arrive_in_the_order_stored(projected, client, user):
    with connect(client, user) as socket:
        for key in ("first", "second", "third"):
            store(client, user, key=key)
        keys = [next_message(socket)["data"]["key"] for _ in range(3)]
    assert keys == ["first", "second", "third"]


def test_context_updated_carries_state_and_version_as_get_shows_them(projected, client,
                                                                      user):
    with connect(client, user, "s-2") as socket:
        created = client.post("/api/v1/contexts", headers=user["headers"], json={
            "name": "draft", "state": {"step": 1}, "session_id": "s-2"}).json()["data"]
        next_message(socket)
        updated = client.put(f"/api/v1/contexts/{created['id']}", headers=user["headers"],
                             json={"state": {"step": 2}})
        update = next_message(socket)
    shown = read_back(client, user, f"/api/v1/contexts/{created['id']}", updated)
    assert (update["event"], update["data"]["change"]) == ("context_updated", "Updated")
    assert without(update["data"], "change", "position") == shown
    assert (shown["state"], shown["version"]) == ({"step": 2}, 2)


def test_a_created_context_is_pushed_with_its_state(projected, client, user):
    with connect(client, user, "s-2") as socket:
        client.post("/api/v1/contexts", headers=user["headers"], json={
            "name": "draft", "state": {"step": 1}, "session_id": "s-2"})
        update = next_message(socket)
    assert (update["data"]["change"], update["data"]["state"],
            update["data"]["version"]) == ("Created", {"step": 1}, 1)


def test_a_deleted_context_is_pushed_as_deleted_without_a_state(projected, client, user):
    with connect(client, user, "s-2") as socket:
        created = client.post("/api/v1/contexts", headers=user["headers"], json={
            "name": "draft", "state": {"step": 1}, "session_id": "s-2"}).json()["data"]
        next_message(socket)
        client.delete(f"/api/v1/contexts/{created['id']}", headers=user["headers"])
        update = next_message(socket)
    assert (update["data"]["id"], update["data"]["change"]) == (created["id"], "Deleted")
    assert "state" not in update["data"]


def test_a_deletion_is_pushed_though_the_read_model_forgot_the_context_first(
        own_nats, workers, client, user):
    """The context's row is gone from the read model before the relay publishes its
    deletion: the event itself names the owner and session to push to."""
    workers("contexts", "memory_items")
    relay = workers("nats_relay")
    with connect(client, user, "s-2") as socket:
        created = client.post("/api/v1/contexts", headers=user["headers"], json={
            "name": "draft", "state": {"step": 1}, "session_id": "s-2"}).json()["data"]
        next_message(socket)
        relay.stop()
        deleted = client.delete(f"/api/v1/contexts/{created['id']}",
                                headers=user["headers"])
        gone = client.get(f"/api/v1/contexts/{created['id']}", headers={
            **user["headers"], "X-Min-Position": deleted.headers["X-Event-Position"]})
        assert gone.status_code == 404
        workers("nats_relay")
        update = next_message(socket)
    assert (update["event"], update["data"]["id"], update["data"]["change"],
            update["data"]["session_id"]) == ("context_updated", created["id"], "Deleted",
                                             "s-2")


@pytest.fixture
def short_wait(settings):
    settings.read_wait_seconds = 0.2


def test_a_memory_whose_read_model_is_late_is_pushed_with_its_ids_only(
        short_wait, relay_only, client, user):
    with connect(client, user) as socket:
        stored = store(client, user)
        update = next_message(socket)
    assert update == {"event": "memory_added", "data": {
        "id": stored.json()["data"]["id"], "key": "note", "layer": "permanent",
        "session_id": "s-1", "position": update["data"]["position"]}}


@pytest.fixture
def long_wait(settings):
    settings.read_wait_seconds = 60.0  # longer than next_message waits


def test_a_late_read_model_holds_up_no_other_owners_pushes(long_wait, relay_only,
                                                           workers, client, user):
    workers("contexts")  # memory_items stays behind: Ada's memory waits for it
    eve = register(client, email="eve@example.com", name="Eve")
    with connect(client, user), connect(client, eve) as eve_socket:
        store(client, user)
        client.post("/api/v1/contexts", headers=bearer(eve["access_token"]), json={
            "name": "eve's", "state": {}, "session_id": "s-1"})
        update = next_message(eve_socket)
    assert (update["event"], update["data"]["name"]) == ("context_updated", "eve's")


def test_a_graphql_subscription_shows_a_secret_memory_without_its_content(
        projected, client, user):
    with graphql_socket(client, {"Authorization": f"Bearer {user['access_token']}"}
                        ) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        subscribe(client, socket, user["user"]["id"], """subscription {
            onMemoryAdded { key memory { key content } } }""")
        store(client, user, content="my s3cr3t words", sensitivity="secret")
        added = next_payload(socket)["data"]["onMemoryAdded"]
    assert added["memory"] == {"key": "note", "content": None}
