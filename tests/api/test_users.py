"""Profiles and users by id on the ARQIUM and AstralBody faces; admins."""

import pytest

from arqium.system.bootstrap import make_admin
from tests.conftest import SETUP, bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("login_sessions", "users")


def caught_up(response) -> dict:
    return {"X-Min-Position": response.headers["X-Event-Position"]}


def login(client, email: str, password: str) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return {**response.json()["data"], "position": response.headers["X-Event-Position"]}


def test_profile_reads_your_user_from_the_read_model(client):
    response = client.post("/api/v1/auth/register", json={
        "email": "ada@example.com", "password": "correct horse", "name": "Ada"})
    token = response.json()["data"]["access_token"]
    profile = client.get("/api/v1/users/profile",
                         headers={**bearer(token), **caught_up(response)}).json()["data"]
    assert (profile["email"], profile["name"], profile["roles"]) == (
        "ada@example.com", "Ada", ["user"])


def test_profile_update_changes_name_and_preferences(client, user):
    response = client.put("/api/v1/users/profile", headers=user["headers"], json={
        "name": "Ada L.", "preferences": {"theme": "dark"}})
    assert response.json()["data"]["name"] == "Ada L."
    profile = client.get("/api/v1/users/profile",
                         headers={**user["headers"], **caught_up(response)}).json()["data"]
    assert (profile["name"], profile["preferences"]) == ("Ada L.", {"theme": "dark"})


def test_profile_update_refuses_unknown_fields(client, user):
    response = client.put("/api/v1/users/profile", headers=user["headers"],
                          json={"email": "other@example.com"})
    assert response.status_code == 400


def test_a_user_reads_itself_by_id_but_not_others(client, user):
    eve = register(client, email="eve@example.com")
    own = client.get(f"/api/v1/users/{user['user']['id']}", headers={
        **user["headers"], "X-Min-Position": user["position"]})
    assert own.status_code == 200
    other = client.get(f"/api/v1/users/{eve['user']['id']}", headers=user["headers"])
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "FORBIDDEN"


def test_an_admin_reads_anyone_by_id(client, system, user):
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    admin = login(client, "root@example.com", "admin password")
    assert admin["user"]["roles"] == ["user", "admin"]
    response = client.get(f"/api/v1/users/{user['user']['id']}", headers={
        **bearer(admin["access_token"]), "X-Min-Position": admin["position"]})
    assert response.json()["data"]["email"] == "ada@example.com"


def test_a_users_last_login_is_recorded(client, user):
    again = login(client, "ada@example.com", "correct horse")
    profile = client.get("/user/profile", headers={**user["headers"],
                                                   "X-Min-Position": again["position"]})
    assert profile.status_code == 200
    assert set(profile.json()) == {"id", "email", "name", "roles", "created_at",
                                   "last_login"}
    assert profile.json()["last_login"] is not None


def test_astralbody_profile_update_answers_its_shape(client, user):
    response = client.put("/user/profile", headers=user["headers"],
                          json={"name": "Ada", "preferences": {"language": "en"},
                                "extra": "ignored"})
    assert response.status_code == 200
    assert response.json()["name"] == "Ada"


def test_astralbody_auth_config_comes_from_settings(client, settings):
    settings.oidc_issuer = "https://id.example.com/realms/astral"
    settings.oidc_client_id = "astralbody-frontend"
    body = client.get("/auth/config").json()
    assert body == {"issuer": "https://id.example.com/realms/astral",
                    "client_id": "astralbody-frontend", "scope": "openid profile email",
                    "redirect_uri": None}


def test_the_admin_named_in_settings_exists_from_start_up(settings, clock):
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from arqium.api.app import create_app
    from arqium.system.bootstrap import open_system

    settings.admin_email, settings.admin_password = "boot@example.com", SecretStr("boot pass")
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as booted:
        assert login(booted, "boot@example.com", "boot pass")["user"]["roles"] == [
            "user", "admin"]
