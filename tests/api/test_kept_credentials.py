"""The API keeps the active API keys and live login sessions it has verified, so that
most requests are verified without a query; a key revoked or a session ended is refused
from the next request on, by this API process and (once the read model has the change:
its NOTIFY) by every other."""

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import eventually


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("api_keys", "login_sessions")


@pytest.fixture
def other_api(settings, clock):
    """A second API process's worth of state (its own kept credentials), on the same
    database."""
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as other:
        yield other


def recent(client, headers):
    return client.get("/api/v1/memory/recent", headers=headers)


def issued_key(client, user) -> dict:
    return client.post("/api/v1/api-keys", headers=user["headers"],
                       json={"name": "kept"}).json()["data"]


def refused_within(client, headers, seconds: float = 5.0) -> bool:
    return eventually(lambda: recent(client, headers).status_code == 401, seconds,
                      every=0.05)


def kept(client, headers) -> None:
    """Verify the credentials twice (the first keeps them), both accepted."""
    assert [recent(client, headers).status_code for _ in range(2)] == [200, 200]


def test_a_kept_key_revoked_here_is_refused_on_the_next_request(client, user):
    key = issued_key(client, user)
    kept(client, {"X-API-Key": key["key"]})
    assert client.delete(f"/api/v1/api-keys/{key['id']}",
                         headers=user["headers"]).status_code == 200
    response = recent(client, {"X-API-Key": key["key"]})
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_kept_key_sent_as_a_bearer_token_and_revoked_is_refused(client, user):
    key = issued_key(client, user)
    kept(client, {"Authorization": f"Bearer {key['key']}"})
    client.delete(f"/api/v1/api-keys/{key['id']}", headers=user["headers"])
    assert recent(client, {"Authorization": f"Bearer {key['key']}"}).status_code == 401


def test_a_key_revoked_through_another_api_is_refused_here_too(client, other_api, user):
    key = issued_key(client, user)
    kept(client, {"X-API-Key": key["key"]})
    assert other_api.delete(f"/api/v1/api-keys/{key['id']}",
                            headers=user["headers"]).status_code == 200
    assert refused_within(client, {"X-API-Key": key["key"]})


def test_a_session_ended_through_another_api_refuses_its_token_here_too(
        client, other_api, user):
    kept(client, user["headers"])
    assert other_api.post("/api/v1/auth/logout",
                          headers=user["headers"]).status_code == 200
    assert refused_within(client, user["headers"])
    response = recent(client, user["headers"])
    assert "ended" in response.json()["error"]["message"]


def test_an_expired_token_is_refused_though_its_session_is_kept(client, user, clock,
                                                                 settings):
    kept(client, user["headers"])
    clock.advance(minutes=settings.access_token_minutes + 1)
    response = recent(client, user["headers"])
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_wrong_key_is_refused_however_many_keys_are_kept(client, user):
    key = issued_key(client, user)
    kept(client, {"X-API-Key": key["key"]})
    assert recent(client, {"X-API-Key": key["key"][:-1] + "x"}).status_code == 401
    assert recent(client, {"X-API-Key": key["key"] + " "}).status_code == 401
