"""/api/ws (seed 003 §5): SystemEvents to admins and each user's own UserEvents, fed from
NATS, so a change written through one API process reaches the sockets of another."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from arqium.api.app import create_app
from arqium.system.bootstrap import make_admin, open_system
from tests.api.conftest import WAIT_SECONDS, next_message
from tests.conftest import SETUP, bearer, eventually, register, token_claims

ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin password"


@pytest.fixture(autouse=True)
def relay_and_projectors(own_nats, workers):
    workers("nats_relay", "login_sessions", "users", "platform_config",
            "platform_modules", "identity_activity")


@pytest.fixture
def other_instance(settings, clock, own_nats):
    """A second API process: its own app, its own subscription to the stream."""
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as second:
        yield second


def login(client, email: str, password: str) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def admin(client) -> dict:
    make_admin(client.app.state.system, ADMIN_EMAIL, ADMIN_PASSWORD, cause=SETUP)
    return login(client, ADMIN_EMAIL, ADMIN_PASSWORD)


def next_of_type(socket, wanted: str) -> tuple[dict, list[dict]]:
    """The next message of that type, and those that came before it."""
    before = []
    while (message := next_message(socket))["type"] != wanted:
        before.append(message)
    return message, before


@pytest.fixture
def long_read_waits(settings):
    """Pushes wait a minute for a late read model: longer than a test waits for one."""
    settings.read_wait_seconds = 60


def test_an_admins_notification_does_not_wait_for_a_late_activity_read_model(
        long_read_waits, client, other_instance, admin):
    """platform_activity does not run here: the change's activity entry waits for it,
    the admins' notification, which reads nothing, goes at once."""
    with other_instance.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        client.put("/api/config", headers=bearer(admin["access_token"]),
                   json={"config": {"general": {"site_name": "Acme"}}})
        told, _ = next_of_type(ws, "notification")
    assert told["data"]["notification"]["action"]["type"] == "PlatformConfig.ConfigUpdated"


def test_an_admin_is_first_pushed_the_status(other_instance, admin):
    with other_instance.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        status, before = next_of_type(ws, "status_update")
    # The admin's own user events from their login (its activity and its session's
    # start, relayed through NATS) may come first: the socket receives user events from
    # the moment it joins, and the status takes a moment to read. No system event comes
    # before it.
    assert {message["type"] for message in before} <= {"activity", "session"}
    assert set(status["data"]["status"]) == {"initialization", "modules", "performance"}


def test_a_config_change_through_one_instance_reaches_an_admin_on_another(
        client, other_instance, admin):
    with other_instance.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        client.put("/api/config", headers=bearer(admin["access_token"]),
                   json={"config": {"general": {"site_name": "Acme"}}})
        told, _ = next_of_type(ws, "notification")
    notification = told["data"]["notification"]
    assert notification["type"] == "info"
    assert notification["action"]["type"] == "PlatformConfig.ConfigUpdated"


def test_a_module_change_through_one_instance_reaches_an_admin_on_another(
        client, other_instance, admin):
    with other_instance.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        response = client.put("/api/modules/graphql", headers=bearer(admin["access_token"]),
                              json={"enabled": False})
        assert response.status_code == 200, response.text
        told, _ = next_of_type(ws, "notification")
    notification = told["data"]["notification"]
    assert (notification["type"], notification["message"]) == (
        "warning", "Module disabled: graphql")


def test_a_user_gets_their_own_session_and_activity_and_never_anothers(
        client, other_instance):
    ada = register(client)
    bob = register(client, email="bob@example.com", name="Bob")
    with other_instance.websocket_connect(f"/api/ws?token={ada['access_token']}") as ws:
        login(client, "bob@example.com", "correct horse")
        mine = login(client, "ada@example.com", "correct horse")
        # Ada's registration may still be on its way too: read until her login's two
        pushed = until_login_told(ws)
    assert {message["type"] for message in pushed} == {"session", "activity"}
    activities = [message["data"]["activity"] for message in pushed
                  if message["type"] == "activity"]
    assert {activity["user_id"] for activity in activities} == {mine["user"]["id"]}
    assert bob["user"]["id"] != mine["user"]["id"]


def until_login_told(socket) -> list[dict]:
    """Messages up to both a login's session start and its `auth.login` activity."""
    pushed: list[dict] = []
    while not (_told(pushed, "session", lambda data: data["session"]["action"] == "start")
               and _told(pushed, "activity",
                         lambda data: data["activity"]["type"] == "auth.login")):
        pushed.append(next_message(socket))
    return pushed


def _told(pushed: list[dict], kind: str, matches) -> bool:
    return any(message["type"] == kind and matches(message["data"]) for message in pushed)


def test_a_user_is_told_when_another_session_of_theirs_ends(client, other_instance,
                                                            user):
    other = login(client, "ada@example.com", "correct horse")
    with other_instance.websocket_connect("/api/ws?token=" + user["access_token"]) as ws:
        client.post("/api/auth/logout", json={"token": other["refresh_token"]})
        # The starts of both sessions may reach the socket first: the relay may publish
        # them after the socket subscribed.
        sessions = [next_of_type(ws, "session")[0]["data"]["session"]]
        while sessions[-1]["action"] == "start":
            sessions.append(next_of_type(ws, "session")[0]["data"]["session"])
    ids = {name: token_claims(tokens["access_token"])["sid"]
           for name, tokens in (("own", user), ("other", other))}
    *starts, end = sessions
    assert (end["action"], end["id"]) == ("end", ids["other"])
    assert sorted(start["id"] for start in starts) in (
        [], [ids["own"]], [ids["other"]], sorted(ids.values()))


def test_a_user_is_told_of_each_preference_their_profile_change_sets(
        client, other_instance, user):
    with other_instance.websocket_connect("/api/ws?token=" + user["access_token"]) as ws:
        response = client.put("/user/profile", headers=user["headers"],
                              json={"preferences": {"theme": "dark"}})
        assert response.status_code == 200, response.text
        preference, _ = next_of_type(ws, "preference")
    assert preference["data"]["preference"] == {"key": "theme", "value": "dark"}


def test_a_user_who_is_not_an_admin_gets_no_system_events(client, other_instance, admin,
                                                          user):
    with other_instance.websocket_connect("/api/ws?token=" + user["access_token"]) as ws:
        client.put("/api/config", headers=bearer(admin["access_token"]),
                   json={"config": {"general": {"site_name": "Acme"}}})
        login(client, "ada@example.com", "correct horse")  # then one of their own
        _, before = next_of_type(ws, "session")
    assert {m["type"] for m in before} <= {"activity"}


def test_a_worker_failure_is_pushed_to_admins_as_an_error(client, other_instance, admin):
    system = other_instance.app.state.system
    with other_instance.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        next_message(ws)  # the status: failures from now on are pushed
        system.worker_failures.record("users", "identity", 7, "boom", 1.0)
        error, _ = next_of_type(ws, "error")
    assert error["data"]["error"]["code"] == "SYSTEM_ERROR"
    assert error["data"]["error"]["details"]["position"] == 7


def test_a_socket_with_a_bad_token_is_closed(other_instance):
    with pytest.raises(WebSocketDisconnect) as refused:
        with other_instance.websocket_connect("/api/ws?token=nonsense") as ws:
            ws.receive_json()
    assert refused.value.code == 1008


def test_a_revoked_session_closes_the_socket(client, other_instance, user):
    with pytest.raises(WebSocketDisconnect) as closed:
        with other_instance.websocket_connect("/api/ws?token=" + user["access_token"]
                                              ) as ws:
            client.post("/api/auth/logout", json={"token": user["refresh_token"]})
            while True:
                next_message(ws)
    assert closed.value.code == 4401


def test_losing_nats_tells_the_socket_updates_may_be_delayed_and_when_they_flow_again(
        client, other_instance, user, own_nats):
    with other_instance.websocket_connect("/api/ws?token=" + user["access_token"]) as ws:
        own_nats.stop()
        lost, _ = next_of_type(ws, "error")
        own_nats.start()
        resumed, _ = next_of_type(ws, "notification")
        login(client, "ada@example.com", "correct horse")
        session, _ = next_of_type(ws, "session")
    assert lost["data"]["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert resumed["data"]["notification"]["message"] == (
        "updates flow again; re-read what you show")
    assert session["data"]["session"]["action"] == "start"


def test_an_admin_socket_opened_on_an_idle_process_hears_every_change_from_then_on(
        quickly_idle, client, admin):
    """An API process with no socket open stops receiving the stream; an admin's socket
    subscribes it again before it opens: no "updates delayed", then "flow again"."""
    hub = client.app.state.sync_hub
    assert eventually(lambda: not hub.receiving, WAIT_SECONDS)
    with client.websocket_connect(f"/api/ws?token={admin['access_token']}") as ws:
        client.put("/api/config", headers=bearer(admin["access_token"]),
                   json={"config": {"general": {"site_name": "Acme"}}})
        told, before = next_of_type(ws, "notification")
    assert told["data"]["notification"]["action"]["type"] == "PlatformConfig.ConfigUpdated"
    assert {message["type"] for message in before} <= {"activity", "session",
                                                        "status_update"}
