"""The v0 face by default: the same credentials as every face, and a userId in the path
must be the caller's own v0 user (or the caller an admin)."""

import pytest

from arqium.cli.run import warn_if_v0_open_beyond_loopback
from arqium.domain.shared import NotFound
from tests.conftest import SETUP, bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("users", "vaults", "memory_items", "api_keys")


def claim(client, headers, user_id="ada_1", email="ada@example.com"):
    return client.post("/v0/users", headers=headers,
                       json={"userId": user_id, "email": email})


def test_without_credentials_v0_is_401_in_its_error_shape(client):
    response = client.post("/v0/users", json={"userId": "ada_1", "email": "a@example.com"})
    assert response.status_code == 401
    assert set(response.json()) == {"error", "message", "code"}
    assert client.get("/v0/users/ada_1/vaults").status_code == 401


def test_a_user_makes_its_own_account_a_v0_user_and_uses_it(client, user):
    created = claim(client, user["headers"])
    assert created.status_code == 201, created.text
    vault = client.post("/v0/users/ada_1/vaults", headers=user["headers"],
                        json={"title": "work"})
    assert vault.status_code == 201
    assert client.get("/v0/users/ada_1", headers=user["headers"]).json()["email"] == \
        "ada@example.com"


def test_a_user_cannot_create_a_v0_user_for_another_address(client, user):
    response = claim(client, user["headers"], email="bob@example.com")
    assert response.status_code == 403


def test_one_user_never_reaches_another_users_v0_data(client, user):
    claim(client, user["headers"])
    client.post("/v0/users/ada_1/vaults", headers=user["headers"], json={"title": "work"})
    bob = register(client, email="bob@example.com", name="Bob")
    bob_headers = bearer(bob["access_token"])
    assert client.get("/v0/users/ada_1/vaults", headers=bob_headers).status_code == 403
    assert client.post("/v0/search", headers=bob_headers,
                       json={"userId": "ada_1", "query": "work"}).status_code == 403
    assert client.get("/v0/users/nobody", headers=bob_headers).status_code == 403


def test_an_api_key_acts_as_its_owner_on_v0(client, user):
    claim(client, user["headers"])
    issued = client.post("/api/v1/api-keys", headers=user["headers"], json={"name": "sdk"})
    key = issued.json()["data"]["key"]
    client.get("/api/v1/api-keys", headers={  # the key is usable once its model has it
        **user["headers"], "X-Min-Position": issued.headers["X-Event-Position"]})
    listed = client.get("/v0/users/ada_1/vaults", headers={"X-API-Key": key})
    assert listed.status_code == 200 and listed.json() == {"vaults": [], "count": 0}


def test_warns_when_v0_is_open_beyond_loopback(settings, capsys):
    warn_if_v0_open_beyond_loopback(settings.model_copy(
        update={"v0_auth": "open", "host": "0.0.0.0"}))
    assert "ARQIUM_V0_AUTH=open" in capsys.readouterr().out
    for quiet in ({"v0_auth": "open", "host": "127.0.0.1"},
                  {"v0_auth": "required", "host": "0.0.0.0"}):
        warn_if_v0_open_beyond_loopback(settings.model_copy(update=quiet))
        assert capsys.readouterr().out == ""


def test_a_deleted_users_v0_id_names_no_one(client, user, system):
    claim(client, user["headers"])
    system.identity.delete_user(user["user"]["id"], cause=SETUP)
    with pytest.raises(NotFound):
        system.identity.user_of_handle("ada_1")


def test_an_admin_gives_an_existing_account_its_v0_id(client, system, user):
    from arqium.system.bootstrap import make_admin
    make_admin(system, "root@example.com", "correct horse", cause=SETUP)
    token = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "correct horse"}).json()["data"]
    admin = bearer(token["access_token"])
    assert claim(client, admin).status_code == 201
    assert client.get("/v0/users/ada_1", headers=user["headers"]).status_code == 200


def test_an_account_made_by_open_v0_opens_with_no_password(settings, clock, workers):
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.system.bootstrap import open_system

    workers("users")
    open_settings = settings.model_copy(update={"v0_auth": "open"})
    app = create_app(open_settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as open_client:
        made = open_client.post("/v0/users", json={"userId": "solo",
                                                   "email": "solo@example.com"})
        assert made.status_code == 201
        for password in ("", "!", "correct horse", "x" * 64):
            login = open_client.post("/api/v1/auth/login", json={
                "email": "solo@example.com", "password": password})
            assert login.status_code in (400, 401)
