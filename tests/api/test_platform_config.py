"""The Admin API's configuration (seed 003 §2): settings, their effects, profiles."""

import pytest

from arqium.domain.platform.domainmodel import ConfigProfiles, PlatformConfig
from arqium.system.bootstrap import make_admin
from tests.conftest import SETUP, bearer, register

ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin password"


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("login_sessions", "users", "platform_config", "platform_modules")


def login(client, email: str, password: str) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def admin(client) -> dict:
    make_admin(client.app.state.system, ADMIN_EMAIL, ADMIN_PASSWORD, cause=SETUP)
    data = login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    return {"id": data["user"]["id"], "headers": bearer(data["access_token"])}


def put_config(client, admin: dict, config: dict):
    return client.put("/api/config", headers=admin["headers"], json={"config": config})


def config_events(client) -> list:
    return list(client.app.state.system.platform.events.get(PlatformConfig.create_id()))


def test_the_configuration_starts_as_todays_defaults(client, user):
    body = client.get("/api/config", headers=user["headers"]).json()
    assert body == {"config": {
        "general": {"site_name": "ARQIUM", "timezone": "UTC", "locale": "en-US"},
        "security": {"password_policy": {"min_length": 8, "require_special": False},
                     "session_timeout": 0},
        # Every module is on, but those whose requirement these tests do not set.
        "modules": {"enabled": ["graphql", "realtime-sync", "memory-service-v0",
                                "cerebro", "astralbody", "files", "rag", "agents",
                                "analytics"],
                    "disabled": ["chat", "elasticsearch-search"]}}, "last_updated": None}


def test_a_change_is_deep_merged_and_shown(client, admin):
    put_config(client, admin, {"general": {"timezone": "Europe/Paris"}})
    response = put_config(client, admin, {"general": {"locale": "fr-FR"}})
    assert response.status_code == 200
    general = client.get("/api/config", headers=admin["headers"]).json()["config"]["general"]
    assert general == {"site_name": "ARQIUM", "timezone": "Europe/Paris", "locale": "fr-FR"}
    assert response.json()["last_updated"] is not None


def test_null_puts_a_setting_back_to_its_default(client, admin):
    put_config(client, admin, {"general": {"site_name": "Acme"}})
    body = put_config(client, admin, {"general": {"site_name": None}}).json()
    assert body["config"]["general"]["site_name"] == "ARQIUM"


def test_each_change_is_one_event_with_its_patch_and_actor(client, admin):
    patch = {"security": {"session_timeout": 600}}
    put_config(client, admin, patch)
    updates = [e for e in config_events(client) if isinstance(e, PlatformConfig.ConfigUpdated)]
    assert [(e.patch, e.actor) for e in updates] == [(patch, f"user:{admin['id']}")]


def test_a_user_who_is_not_an_admin_may_not_change_settings(client, user):
    response = client.put("/api/config", headers=user["headers"],
                          json={"config": {"general": {"site_name": "Mine"}}})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert response.json()["status"] == 403


@pytest.mark.parametrize("config, path", [
    ({"security": {"password_policy": {"min_lenght": 10}}},
     "security.password_policy.min_lenght"),
    ({"security": {"password_policy": {"min_length": "10"}}},
     "security.password_policy.min_length"),
    ({"security": {"password_policy": {"min_length": 6}}},
     "security.password_policy.min_length"),
    ({"general": {"timezone": "Mars/Olympus"}}, "general.timezone"),
    ({"general": {"locale": "english please"}}, "general.locale"),
    ({"modules": {"enabled": "graphql"}}, "modules.enabled"),
    ({"colour": "blue"}, "colour"),
])
def test_an_unknown_setting_or_a_wrong_value_is_refused_naming_its_path(
        client, admin, config, path):
    response = put_config(client, admin, config)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["errors"][0]["field"] == path
    assert config_events(client) == []


def test_the_password_policy_refuses_a_short_password_at_registration(client, admin):
    put_config(client, admin, {"security": {"password_policy": {"min_length": 12}}})
    response = client.post("/api/v1/auth/register", json={
        "email": "eve@example.com", "password": "eleven char", "name": "Eve"})
    assert response.status_code == 400
    assert "at least 12 characters" in response.json()["error"]["message"]
    register(client, email="eve@example.com", password="twelve chars")


def test_the_password_policy_can_require_a_special_character(client, admin):
    put_config(client, admin, {"security": {"password_policy": {"require_special": True}}})
    response = client.post("/api/v1/auth/register", json={
        "email": "eve@example.com", "password": "correct horse", "name": "Eve"})
    assert response.status_code == 400
    register(client, email="eve@example.com", password="correct horse!")


def test_the_password_policy_refuses_a_short_new_password(client, admin, user):
    put_config(client, admin, {"security": {"password_policy": {"min_length": 14}}})
    response = client.put("/api/v1/users/password", headers=user["headers"], json={
        "current_password": "correct horse", "new_password": "thirteen char"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "password"


def test_a_refresh_after_the_session_timeout_is_refused_and_ends_the_session(
        client, admin, user, clock):
    put_config(client, admin, {"security": {"session_timeout": 600}})
    clock.advance(seconds=601)
    response = client.post("/api/v1/auth/refresh",
                           json={"refresh_token": user["refresh_token"]})
    assert response.status_code == 401
    sessions = client.app.state.system.read_models.login_sessions
    assert sessions.active_for_user(user["user"]["id"]) == []


def test_a_refresh_within_the_session_timeout_keeps_the_session(client, admin, user, clock):
    put_config(client, admin, {"security": {"session_timeout": 600}})
    clock.advance(seconds=599)
    first = client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})
    clock.advance(seconds=599)  # idle time counts from the last use
    second = client.post("/api/v1/auth/refresh", json={
        "refresh_token": first.json()["data"]["refresh_token"]})
    assert (first.status_code, second.status_code) == (200, 200)


def create_profile(client, admin: dict, name: str = "strict", config: dict | None = None):
    return client.post("/api/config/profiles", headers=admin["headers"], json={
        "name": name, "description": "for audits",
        "config": config or {"security": {"password_policy": {"min_length": 16}}}})


def test_a_profile_is_created_listed_and_changed(client, admin):
    created = create_profile(client, admin)
    assert created.status_code == 201
    profile = created.json()
    assert (profile["name"], profile["description"]) == ("strict", "for audits")
    changed = client.put(f"/api/config/profiles/{profile['id']}", headers=admin["headers"],
                         json={"description": "for audits and demos"}).json()
    assert (changed["name"], changed["description"]) == ("strict", "for audits and demos")
    listed = client.get("/api/config/profiles", headers=admin["headers"]).json()
    assert listed == {"profiles": [changed]}


def test_a_profile_name_is_unique(client, admin):
    create_profile(client, admin)
    response = create_profile(client, admin)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"


def test_applying_a_profile_is_one_change_with_its_settings(client, admin):
    profile = create_profile(client, admin, config={"general": {"timezone": "Asia/Tokyo"}})
    response = client.post(f"/api/config/profiles/{profile.json()['id']}/apply",
                           headers=admin["headers"])
    assert response.json()["config"]["general"]["timezone"] == "Asia/Tokyo"
    updates = [e for e in config_events(client) if isinstance(e, PlatformConfig.ConfigUpdated)]
    assert [e.patch for e in updates] == [{"general": {"timezone": "Asia/Tokyo"}}]


def test_a_deleted_profile_is_gone(client, admin):
    profile_id = create_profile(client, admin).json()["id"]
    deleted = client.delete(f"/api/config/profiles/{profile_id}", headers=admin["headers"])
    assert deleted.json() == {"success": True}
    assert client.get("/api/config/profiles", headers=admin["headers"]).json() == {
        "profiles": []}
    again = client.post(f"/api/config/profiles/{profile_id}/apply", headers=admin["headers"])
    assert again.status_code == 404


def test_only_an_admin_writes_profiles(client, admin, user):
    response = create_profile(client, {"headers": user["headers"]})
    assert response.status_code == 403
    profiles = client.app.state.system.platform.repository
    assert ConfigProfiles.create_id() not in profiles


def test_a_profile_with_an_unknown_setting_is_refused(client, admin):
    response = create_profile(client, admin, config={"general": {"theme": "dark"}})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "general.theme"


def test_each_config_success_body_is_the_documented_one(client, admin):
    from tests.api.test_openapi_v0_bodies import assert_documented

    document = client.get("/openapi.json").json()
    headers = admin["headers"]
    assert_documented(document, "/api/config", "get", client.get("/api/config",
                                                                 headers=headers))
    assert_documented(document, "/api/config", "put", put_config(client, admin, {}))
    created = create_profile(client, admin)
    assert_documented(document, "/api/config/profiles", "post", created)
    path = "/api/config/profiles/{profile_id}"
    profile = f"/api/config/profiles/{created.json()['id']}"
    assert_documented(document, "/api/config/profiles", "get",
                      client.get("/api/config/profiles", headers=headers))
    assert_documented(document, path, "put", client.put(profile, headers=headers,
                                                        json={"name": "audit"}))
    assert_documented(document, f"{path}/apply", "post",
                      client.post(f"{profile}/apply", headers=headers))
    assert_documented(document, path, "delete", client.delete(profile, headers=headers))


def test_a_retried_change_with_an_idempotency_key_stores_nothing_new(client, admin):
    headers = {**admin["headers"], "Idempotency-Key": "tz-1"}
    body = {"config": {"general": {"timezone": "Europe/Berlin"}}}
    first = client.put("/api/config", headers=headers, json=body)
    again = client.put("/api/config", headers=headers, json=body)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert len([e for e in config_events(client)
                if isinstance(e, PlatformConfig.ConfigUpdated)]) == 1


def test_a_retried_profile_creation_creates_one_profile(client, admin):
    headers = {**admin["headers"], "Idempotency-Key": "profile-1"}
    body = {"name": "strict", "config": {}}
    first = client.post("/api/config/profiles", headers=headers, json=body)
    again = client.post("/api/config/profiles", headers=headers, json=body)
    assert (again.status_code, again.json()) == (201, first.json())
    assert len(client.get("/api/config/profiles", headers=admin["headers"]
                          ).json()["profiles"]) == 1
