"""Rate limits per face, with X-RateLimit-* headers and 429 + Retry-After."""

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import bearer, register


@pytest.fixture
def limited_client(settings, clock):
    """A client of an app whose limits are small enough to reach in a test."""
    def build(**limits: str) -> TestClient:
        for name, value in limits.items():
            setattr(settings, f"limit_{name}", value)
        app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
        return TestClient(app)
    return build


def test_limited_responses_carry_the_rate_limit_headers(client, user):
    response = client.get("/api/v1/memory/recent", headers=user["headers"])
    assert response.headers["X-RateLimit-Limit"] == "1000"
    assert int(response.headers["X-RateLimit-Remaining"]) < 1000
    assert int(response.headers["X-RateLimit-Reset"]) > 0


def test_health_endpoints_are_not_limited(client):
    assert "X-RateLimit-Limit" not in client.get("/api/v1/health").headers


def test_arqium_refuses_past_the_per_user_limit_with_its_shape(limited_client):
    with limited_client(arqium_user="3/minute") as client:
        headers = bearer(register(client)["access_token"])
        statuses = [client.get("/api/v1/memory/recent", headers=headers).status_code
                    for _ in range(4)]
        refused = client.get("/api/v1/memory/recent", headers=headers)
    assert statuses[:2] == [200, 200] and refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_cerebro_general_limit_answers_rate_limit_exceeded(limited_client):
    with limited_client(cerebro_general="2/minute") as client:
        headers = bearer(register(client)["access_token"])
        body = {"key": "k", "content": {"a": 1}}
        responses = [client.post("/api/memory/upsert", headers=headers, json=body)
                     for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[-1].json()["error"] == "rate_limit_exceeded"


def test_astralbody_limit_answers_rate_limited(limited_client):
    with limited_client(astralbody_user="1/minute") as client:
        client.get("/auth/config")
        refused = client.get("/auth/config")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


def test_users_are_limited_separately(limited_client):
    with limited_client(arqium_user="2/minute") as client:
        ada = bearer(register(client)["access_token"])
        eve = bearer(register(client, email="eve@example.com")["access_token"])
        for _ in range(3):
            client.get("/api/v1/memory/recent", headers=ada)
        assert client.get("/api/v1/memory/recent", headers=eve).status_code == 200


def test_password_guessing_stops_after_a_handful(limited_client):
    with limited_client() as client:
        register(client)
        attempts = [client.post("/api/v1/auth/login", json={
            "email": "ada@example.com", "password": f"guess {n}"}).status_code
            for n in range(7)]
        right_password = client.post("/api/v1/auth/login", json={
            "email": "ada@example.com", "password": "correct horse"})
    assert attempts[:5] == [401] * 5 and attempts[5:] == [429, 429]
    assert right_password.status_code == 429


def test_login_attempts_are_also_limited_per_client_address(limited_client):
    with limited_client(login_address="3/minute") as client:
        statuses = [client.post("/api/auth/login", json={
            "email": f"user{n}@example.com", "password": "whatever1"}).status_code
            for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_limits_can_be_switched_off(limited_client, settings):
    settings.rate_limits = "off"
    with limited_client(arqium_user="1/minute") as client:
        headers = bearer(register(client)["access_token"])
        responses = [client.get("/api/v1/memory/recent", headers=headers) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in responses[0].headers
