"""Sockets end with their credentials: /ws/sync (4401) and GraphQL subscription sockets
(4401 expired or logged out, 4403 revoked) close when the token expires, its login session
ends, its user is deleted or its API key is revoked: told by NATS, or by the periodic
re-check when NATS did not tell."""

import pytest
from starlette.websockets import WebSocketDisconnect

from arqium.system.bootstrap import make_admin
from tests.api.conftest import WAIT_SECONDS, next_message
from tests.api.test_graphql_subscriptions import MEMORY_ADDED, graphql_socket, subscribe
from tests.conftest import SETUP, bearer, eventually

NEVER = 3600.0  # a re-check interval no test waits for: NATS or the timer must end it


@pytest.fixture(autouse=True)
def projectors(own_nats, workers):
    workers("login_sessions", "api_keys", "users", "memory_items")


@pytest.fixture
def relay(workers, projectors):
    workers("nats_relay")


@pytest.fixture
def told_by_nats(settings, relay):
    """Only the identity events on NATS (and the expiry timer) end sockets."""
    settings.socket_credential_check_seconds = NEVER


@pytest.fixture
def told_by_rechecks(settings):
    """No relay: nothing reaches NATS, the periodic re-check alone ends sockets."""
    settings.socket_credential_check_seconds = 0.2


@pytest.fixture
def one_second_tokens(settings, told_by_nats):
    settings.access_token_minutes = 1 / 60


@pytest.fixture
def admin(client, system):
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    data = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()["data"]
    return bearer(data["access_token"])


def watched(client, count: int = 1) -> None:
    """Wait until the server watches the credentials of `count` open sockets."""
    credentials = client.app.state.socket_credentials
    assert eventually(lambda: len(credentials.watched) >= count, WAIT_SECONDS), (
        "the socket's credentials were never watched")


def close_code(socket) -> int:
    """The code the server closes the socket with (what it pushed before is skipped)."""
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            next_message(socket)
    return closed.value.code


def sync_socket(client, token: str):
    return client.websocket_connect(f"/ws/sync/s-1?token={token}")


def test_logging_out_closes_the_sync_socket_with_4401(told_by_nats, client, user):
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        client.post("/api/v1/auth/logout", headers=user["headers"])
        assert close_code(socket) == 4401


def test_logging_out_closes_a_graphql_socket_with_4401(told_by_nats, client, user):
    with graphql_socket(client, {"token": user["access_token"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        subscribe(client, socket, user["user"]["id"], MEMORY_ADDED)
        client.post("/api/v1/auth/logout", headers=user["headers"])
        assert close_code(socket) == 4401


def test_ending_another_login_session_leaves_the_socket_open(told_by_nats, client, user):
    other = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"}).json()["data"]
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        client.post("/api/v1/auth/logout", headers=bearer(other["access_token"]))
        client.post("/api/v1/memory/store", headers=user["headers"], json={
            "key": "after", "content": "x", "session_id": "s-1"})
        assert next_message(socket)["event"] == "memory_added"


def test_a_reused_refresh_token_closes_its_sessions_socket(told_by_nats, client, user):
    refresh = {"refresh_token": user["refresh_token"]}
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        assert client.post("/api/v1/auth/refresh", json=refresh).status_code == 200
        client.post("/api/v1/auth/refresh", json=refresh)  # reused: the session ends
        assert close_code(socket) == 4401


def test_an_expiring_token_closes_the_sync_socket_with_4401(one_second_tokens, client,
                                                              user, clock):
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        clock.advance(seconds=2)
        assert close_code(socket) == 4401


def test_an_expiring_token_closes_a_graphql_socket_with_4401(one_second_tokens, client,
                                                               user, clock):
    with graphql_socket(client, {"token": user["access_token"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        clock.advance(seconds=2)
        assert close_code(socket) == 4401


def test_deleting_the_user_closes_the_sync_socket_with_4401(told_by_nats, client, user,
                                                             admin):
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        client.delete(f"/api/v1/users/{user['user']['id']}", headers=admin)
        assert close_code(socket) == 4401


def test_deleting_the_user_closes_a_graphql_socket_with_4403(told_by_nats, client, user,
                                                              admin):
    with graphql_socket(client, {"token": user["access_token"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        client.delete(f"/api/v1/users/{user['user']['id']}", headers=admin)
        assert close_code(socket) == 4403


def issue_key(client, user) -> dict:
    return client.post("/api/v1/api-keys", headers=user["headers"],
                       json={"name": "ws"}).json()["data"]


def test_revoking_the_api_key_closes_a_graphql_socket_opened_with_it_with_4403(
        told_by_nats, client, user):
    key = issue_key(client, user)
    with graphql_socket(client, {"X-API-Key": key["key"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        client.delete(f"/api/v1/api-keys/{key['id']}", headers=user["headers"])
        assert close_code(socket) == 4403


def test_revoking_the_api_key_closes_a_sync_socket_opened_with_it_with_4401(
        told_by_nats, client, user):
    key = issue_key(client, user)
    with client.websocket_connect("/ws/sync/s-1", headers={"X-API-Key": key["key"]}
                                  ) as socket:
        watched(client)
        client.delete(f"/api/v1/api-keys/{key['id']}", headers=user["headers"])
        assert close_code(socket) == 4401


def test_without_nats_a_logout_closes_the_socket_at_the_next_recheck(
        told_by_rechecks, client, user):
    with sync_socket(client, user["access_token"]) as socket:
        watched(client)
        client.post("/api/v1/auth/logout", headers=user["headers"])
        assert close_code(socket) == 4401


def test_without_nats_a_revoked_key_closes_the_socket_at_the_next_recheck(
        told_by_rechecks, client, user):
    key = issue_key(client, user)
    with graphql_socket(client, {"X-API-Key": key["key"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        client.delete(f"/api/v1/api-keys/{key['id']}", headers=user["headers"])
        assert close_code(socket) == 4403


def test_without_nats_deleting_the_user_closes_the_socket_at_the_next_recheck(
        told_by_rechecks, client, user, admin):
    with graphql_socket(client, {"token": user["access_token"]}) as socket:
        assert next_message(socket)["type"] == "connection_ack"
        client.delete(f"/api/v1/users/{user['user']['id']}", headers=admin)
        assert close_code(socket) == 4403


def test_logging_out_closes_a_legacy_graphql_ws_socket_too(told_by_nats, client, user):
    with client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as socket:
        socket.send_json({"type": "connection_init",
                          "payload": {"token": user["access_token"]}})
        assert next_message(socket)["type"] == "connection_ack"
        client.post("/api/v1/auth/logout", headers=user["headers"])
        assert close_code(socket) == 4401


def test_a_socket_that_wakes_an_idle_process_still_ends_with_its_revoked_api_key(
        quickly_idle, told_by_nats, client, user):
    """The process subscribes again before the socket's credentials are checked: no
    event that ends them passes unheard."""
    hub = client.app.state.sync_hub
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
    key = issue_key(client, user)
    with client.websocket_connect("/ws/sync/s-1", headers={"X-API-Key": key["key"]}
                                  ) as socket:
        watched(client)
        assert hub.receiving
        client.delete(f"/api/v1/api-keys/{key['id']}", headers=user["headers"])
        assert close_code(socket) == 4401
