"""Access tokens signed with the real secret that name what is not so (a future `nbf`, a
login session that never was, a user that is not the session's) are refused on every
face, whether or not the login sessions read model has caught up."""

import uuid

import jwt
import pytest

from tests.conftest import JWT_SECRET, SETUP, bearer, register, token_claims

# A protected read on the ARQIUM face and on CEREBRO's.
PROTECTED = ["/api/v1/memory/recent", "/api/history"]


def resigned(token: str, **claims) -> str:
    """The token with some claims changed, signed again with the server's secret."""
    return jwt.encode({**token_claims(token), **claims}, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("path", PROTECTED)
def test_a_live_token_opens_the_face(client, user, path):
    assert client.get(path, headers=user["headers"]).status_code == 200


@pytest.mark.parametrize("path", PROTECTED)
def test_a_token_not_valid_before_a_future_time_is_refused(client, user, path):
    issued = token_claims(user["access_token"])["iat"]
    token = resigned(user["access_token"], nbf=issued + 600)
    assert client.get(path, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
def test_a_token_naming_no_login_session_is_refused(client, user, path):
    token = resigned(user["access_token"], sid=str(uuid.uuid4()))
    assert client.get(path, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
def test_a_token_naming_no_user_is_refused(client, user, path):
    token = resigned(user["access_token"], sub=str(uuid.uuid4()))
    assert client.get(path, headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("path", PROTECTED)
def test_a_token_naming_another_users_session_is_refused(client, user, path):
    eve = register(client, email="eve@example.com")
    token = resigned(eve["access_token"], sid=token_claims(user["access_token"])["sid"])
    assert client.get(path, headers=bearer(token)).status_code == 401


def test_a_token_whose_session_id_is_not_an_id_is_refused(client, user):
    token = resigned(user["access_token"], sid="not-a-session")
    assert client.get(PROTECTED[0], headers=bearer(token)).status_code == 401


def test_a_deleted_users_token_is_refused(client, user, system):
    system.identity.delete_user(user["user"]["id"], cause=SETUP)
    assert client.get(PROTECTED[1], headers=user["headers"]).status_code == 401


@pytest.fixture
def projected(workers, system, user):
    """The login sessions read model running and holding the user's session."""
    workers("login_sessions")
    system.read_models.login_sessions.wait(system.identity.name,
                                           system.identity.recorder.max_notification_id(),
                                           timeout=20)
    return user


@pytest.mark.parametrize("path", PROTECTED)
def test_a_token_of_a_projected_session_is_accepted(client, projected, path):
    assert client.get(path, headers=projected["headers"]).status_code == 200


@pytest.mark.parametrize("claims", [{"sid": str(uuid.uuid4())}, {"sub": str(uuid.uuid4())}])
def test_once_projected_forged_sessions_and_users_are_still_refused(client, projected,
                                                                    claims):
    token = resigned(projected["access_token"], **claims)
    assert client.get(PROTECTED[0], headers=bearer(token)).status_code == 401


def test_a_logged_out_token_is_refused_by_the_read_model(client, projected):
    logout = client.post("/api/v1/auth/logout", headers=projected["headers"])
    assert logout.status_code == 200
    assert client.get(PROTECTED[1], headers=projected["headers"]).status_code == 401


def test_validate_says_a_forged_session_is_not_valid(client, user):
    token = resigned(user["access_token"], sid=str(uuid.uuid4()))
    answer = client.post("/api/v1/auth/validate", json={"token": token}).json()["data"]
    assert answer["valid"] is False
