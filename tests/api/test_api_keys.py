"""API keys: shown once, authenticate as X-API-Key (or as a bearer token), revocable
(stored hashed: see tests/application/test_identity.py)."""

import pytest

from tests.api.test_analytics import admin


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("api_keys", "login_sessions")


def issue(client, user, name="ci"):
    return client.post("/api/v1/api-keys", headers=user["headers"], json={"name": name})


def test_issuing_a_key_shows_its_secret_once(client, user):
    response = issue(client, user)
    assert response.status_code == 201
    key = response.json()["data"]
    assert set(key) >= {"id", "name", "key", "prefix", "created_at"}
    assert key["key"].startswith(key["prefix"])
    listed = client.get("/api/v1/api-keys", headers=user["headers"]).json()
    assert [k["id"] for k in listed["data"]["items"]] == [key["id"]]
    assert "key" not in listed["data"]["items"][0]
    assert listed["meta"]["pagination"] == {"page": 1, "per_page": 20, "total": 1}


def test_a_key_authenticates_as_its_owner(client, user):
    secret = issue(client, user).json()["data"]["key"]
    stored = client.post("/api/v1/memory/store", headers={"X-API-Key": secret},
                         json={"key": "via-key", "content": "x"})
    assert stored.status_code == 201


def test_a_revoked_key_is_refused(client, user):
    key = issue(client, user).json()["data"]
    assert client.delete(f"/api/v1/api-keys/{key['id']}",
                         headers=user["headers"]).status_code == 200
    response = client.get("/api/v1/memory/recent", headers={"X-API-Key": key["key"]})
    assert response.status_code == 401


def test_an_unknown_key_is_refused(client):
    response = client.get("/api/v1/memory/recent", headers={"X-API-Key": "arq_nope"})
    assert response.status_code == 401


def test_a_key_authenticates_as_a_bearer_token_too(client, user):
    secret = issue(client, user).json()["data"]["key"]
    stored = client.post("/api/v1/memory/store",
                         headers={"Authorization": f"Bearer {secret}"},
                         json={"key": "via-bearer-key", "content": "x"})
    assert stored.status_code == 201


def test_an_unknown_key_as_a_bearer_token_is_refused(client):
    response = client.get("/api/v1/memory/recent",
                          headers={"Authorization": "Bearer arq_nope"})
    assert response.status_code == 401


def test_an_admins_key_refused_for_want_of_the_role_says_why(client):
    """An API key acts with the user role only, whoever owns it: the refusal says so."""
    root = admin(client)
    secret = issue(client, root).json()["data"]["key"]
    with_key = client.get("/api/v1/ledger/verify", headers={"X-API-Key": secret})
    assert with_key.status_code == 403
    assert with_key.json()["error"]["message"].endswith(
        "an API key acts with the user role only: send an access token instead")
    assert client.get("/api/v1/ledger/verify", headers=root["headers"]).status_code == 200
    modules = client.post("/api/modules/install", headers={"X-API-Key": secret},
                          json={"module_id": "graphql"})
    assert modules.status_code == 403
    assert "an API key acts with the user role only" in modules.text
