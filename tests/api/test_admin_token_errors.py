"""The Admin face (seed 003) tells a missing token (AUTH_REQUIRED) from one it cannot
accept (INVALID_TOKEN: malformed, badly signed, expired or of an ended session)."""

import jwt
import pytest

from tests.conftest import bearer, token_claims


def sessions(client, headers: dict):
    return client.get("/api/auth/sessions", headers=headers)


def error_code(response) -> str:
    assert response.status_code == 401
    assert response.json()["status"] == 401
    return response.json()["error"]["code"]


def test_no_token_at_all_is_auth_required(client, user):
    assert error_code(sessions(client, {})) == "AUTH_REQUIRED"


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "Bearer"])
def test_a_malformed_token_is_invalid_token(client, user, token):
    assert error_code(sessions(client, bearer(token))) == "INVALID_TOKEN"


def test_a_token_signed_with_another_secret_is_invalid_token(client, user):
    forged = jwt.encode(token_claims(user["access_token"]),
                        "another-secret-0123456789abcdef0123456789", "HS256")
    assert error_code(sessions(client, bearer(forged))) == "INVALID_TOKEN"


def test_an_expired_token_is_invalid_token(client, user, clock):
    clock.advance(minutes=16)
    assert error_code(sessions(client, user["headers"])) == "INVALID_TOKEN"


def test_the_token_of_an_ended_session_is_invalid_token(client, user, workers):
    workers("login_sessions")  # the logout waits until the session is seen ended
    client.post("/api/auth/logout", json={"token": user["access_token"]})
    assert error_code(sessions(client, user["headers"])) == "INVALID_TOKEN"


def test_refreshing_with_a_malformed_refresh_token_is_invalid_token(client, user):
    response = client.post("/api/auth/refresh", json={"refresh_token": "not-a-token"})
    assert error_code(response) == "INVALID_TOKEN"


def test_a_wrong_password_stays_auth_required(client, user):
    response = client.post("/api/auth/login", json={"email": "ada@example.com",
                                                    "password": "wrong horse"})
    assert error_code(response) == "AUTH_REQUIRED"
