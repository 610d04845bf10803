"""Login sessions on the ARQIUM and Admin faces: refresh rotation, logout, revocation."""

import pytest

from tests.conftest import bearer


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("login_sessions", "users", "api_keys")


def refresh(client, token: str):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_refresh_gives_a_new_pair_that_works(client, user):
    response = refresh(client, user["refresh_token"])
    assert response.status_code == 200
    pair = response.json()["data"]
    assert pair["refresh_token"] != user["refresh_token"]
    assert client.get("/api/v1/memory/recent",
                      headers=bearer(pair["access_token"])).status_code == 200


def test_reusing_a_spent_refresh_token_ends_the_whole_session(client, user):
    fresh = refresh(client, user["refresh_token"]).json()["data"]
    replay = refresh(client, user["refresh_token"])
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "AUTH_FAILED"
    assert refresh(client, fresh["refresh_token"]).status_code == 401
    assert client.get("/api/v1/memory/recent",
                      headers=bearer(fresh["access_token"])).status_code == 401


def test_logout_refuses_the_access_token_at_once(client, user):
    assert client.post("/api/v1/auth/logout", headers=user["headers"]).status_code == 200
    response = client.get("/api/v1/memory/recent", headers=user["headers"])
    assert response.status_code == 401
    assert "ended" in response.json()["error"]["message"]


def test_validate_tells_valid_and_invalid_tokens_apart(client, user):
    valid = client.post("/api/v1/auth/validate", json={"token": user["access_token"]})
    assert valid.json()["data"]["valid"] is True
    assert valid.json()["data"]["user_id"] == user["user"]["id"]
    assert valid.json()["data"]["roles"] == ["user"]
    invalid = client.post("/api/v1/auth/validate", json={"token": "garbage"})
    assert invalid.status_code == 200
    assert invalid.json()["data"] == {"valid": False, "user_id": None, "roles": [],
                                      "expires_at": None}


def test_a_logged_out_token_does_not_validate(client, user):
    client.post("/api/v1/auth/logout", headers=user["headers"])
    response = client.post("/api/v1/auth/validate", json={"token": user["access_token"]})
    assert response.json()["data"]["valid"] is False


def test_admin_face_login_answers_an_auth_token(client, user):
    response = client.post("/api/auth/login", json={
        "email": "ada@example.com", "password": "correct horse", "remember_me": True})
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token", "expires_in",
                                    "token_type"}


def test_admin_face_wrong_password_is_401_in_its_shape(client, user):
    response = client.post("/api/auth/login", json={
        "email": "ada@example.com", "password": "wrong horse"})
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.json()["error"]["code"] == "AUTH_REQUIRED"


def test_admin_face_lists_live_sessions_with_the_current_one(client, user):
    second = client.post("/api/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"}).json()
    body = client.get("/api/auth/sessions", headers=bearer(second["access_token"]),
                      ).json()
    assert len(body["sessions"]) == 2
    assert body["current_session_id"] in {s["id"] for s in body["sessions"]}
    assert set(body["sessions"][0]) == {"id", "user_id", "ip_address", "user_agent",
                                        "last_activity", "created_at"}


def test_deleting_a_session_refuses_its_tokens(client, user):
    sessions = client.get("/api/auth/sessions", headers=user["headers"]).json()
    current = sessions["current_session_id"]
    other = client.post("/api/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"}).json()
    response = client.delete(f"/api/auth/sessions/{current}",
                             headers=bearer(other["access_token"]))
    assert response.json() == {"success": True}
    assert client.get("/api/v1/memory/recent", headers=user["headers"]).status_code == 401


def test_admin_face_logout_takes_the_token_in_the_body(client, user):
    response = client.post("/api/auth/logout", json={"token": user["refresh_token"]})
    assert response.json() == {"success": True}
    assert client.get("/api/v1/memory/recent", headers=user["headers"]).status_code == 401
