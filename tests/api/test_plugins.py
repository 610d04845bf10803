"""ARQIUM plugins (seed 000): the modules' commands in the ARQIUM envelope, and their
events pushed on /ws/sync as plugin_event to the user who made them."""

import pytest

from arqium.system.bootstrap import make_admin
from tests.api.conftest import next_message
from tests.conftest import SETUP, bearer, register

ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin password"


@pytest.fixture
def projected(own_nats, workers):
    workers("nats_relay", "login_sessions", "users", "platform_modules")


@pytest.fixture
def admin(client) -> dict:
    make_admin(client.app.state.system, ADMIN_EMAIL, ADMIN_PASSWORD, cause=SETUP)
    data = client.post("/api/v1/auth/login",
                       json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                       ).json()["data"]
    return {**data, "headers": bearer(data["access_token"])}


def track(client, user):
    return client.post("/api/v1/analytics/event", headers=user["headers"],
                       json={"name": "opened"})


def test_plugins_are_listed_in_pages_in_the_envelope(projected, client, user):
    body = client.get("/api/v1/plugins?per_page=3", headers=user["headers"]).json()
    assert body["status"] == "success"
    assert [plugin["id"] for plugin in body["data"]["items"]] == [
        "graphql", "realtime-sync", "chat"]
    assert body["meta"]["pagination"] == {"page": 1, "per_page": 3, "total": 11}


def test_disable_and_enable_switch_a_plugin_and_its_routes(projected, client, admin,
                                                           user):
    disabled = client.post("/api/v1/plugins/analytics/disable", headers=admin["headers"])
    assert disabled.json()["data"]["enabled"] is False
    refused = track(client, user)
    assert refused.status_code == 503
    assert (refused.json()["status"], refused.json()["error"]["code"]) == (
        "error", "SERVICE_UNAVAILABLE")
    enabled = client.post("/api/v1/plugins/analytics/enable", headers=admin["headers"])
    assert enabled.json()["data"]["enabled"] is True
    assert track(client, user).status_code == 201


def test_uninstall_and_install_answer_in_the_envelope(projected, client, admin):
    removed = client.delete("/api/v1/plugins/analytics", headers=admin["headers"])
    assert removed.json()["data"] == {"id": "analytics", "uninstalled": True}
    installed = client.post("/api/v1/plugins/install", headers=admin["headers"],
                            json={"module_id": "analytics"})
    assert installed.status_code == 201
    assert installed.json()["data"]["status"] == "installed"


def test_config_is_checked_against_the_plugins_schema(projected, client, admin):
    changed = client.post("/api/v1/plugins/graphql/config", headers=admin["headers"],
                          json={"config": {"max_fields": 50}})
    assert changed.json()["data"]["settings"]["max_fields"] == 50
    refused = client.post("/api/v1/plugins/cerebro/config", headers=admin["headers"],
                          json={"config": {"colour": "red"}})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_plugin_command_is_for_admins_in_the_envelopes_words(projected, client, user):
    response = client.post("/api/v1/plugins/graphql/disable", headers=user["headers"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_a_missing_dependency_refuses_an_install_as_a_module_error(projected, client,
                                                                   admin):
    client.delete("/api/v1/plugins/chat", headers=admin["headers"])
    client.delete("/api/v1/plugins/cerebro", headers=admin["headers"])
    refused = client.post("/api/v1/plugins/install", headers=admin["headers"],
                          json={"module_id": "chat"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "MODULE_ERROR"


def test_a_plugin_event_is_pushed_to_the_user_who_made_it_only(projected, client, admin):
    eve = register(client, email="eve@example.com")
    with client.websocket_connect(f"/ws/sync/s-1?token={admin['access_token']}") as mine, \
            client.websocket_connect(f"/ws/sync/s-2?token={eve['access_token']}") as hers:
        client.post("/api/v1/plugins/analytics/disable", headers=admin["headers"])
        # Eve's own plugin event comes after the admin's in the stream: the first
        # thing her socket hears is hers, so the admin's never reached it.
        client.post("/api/modules/graphql/rating", headers=bearer(eve["access_token"]),
                    json={"stars": 3})
        assert next_message(mine)["data"] | {"data": None, "position": None} == {
            "id": "analytics", "type": "ModuleDisabled", "data": None, "position": None}
        heard = next_message(hers)
    assert (heard["event"], heard["data"]["type"]) == ("plugin_event", "ModuleRated")
    assert heard["data"]["data"]["user"] == eve["user"]["id"]
