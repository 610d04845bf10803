"""Rate limits per face, with X-RateLimit-* headers and 429 + Retry-After."""

import time

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import bearer, register


@pytest.fixture
def limited_client(settings, clock):
    """A client of an app whose limits are small enough to reach in a test (connecting
    from `address`)."""
    def build(address: str = "testclient", **limits: str) -> TestClient:
        for name, value in limits.items():
            setattr(settings, f"limit_{name}", value)
        app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
        return TestClient(app, client=(address, 50000))
    return build


def header_count(response, name: str) -> int:
    return sum(1 for key, _ in response.headers.raw if key.decode().lower() == name.lower())


def login_attempts(client, count: int, forwarded_for=lambda n: None) -> list[int]:
    """Statuses of `count` wrong logins, each from the X-Forwarded-For given, if any."""
    statuses = []
    for n in range(count):
        address = forwarded_for(n)
        headers = {"X-Forwarded-For": address} if address else {}
        statuses.append(client.post("/api/auth/login", headers=headers, json={
            "email": f"user{n}@example.com", "password": "whatever1"}).status_code)
    return statuses


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


def test_v0_refuses_past_the_per_user_limit_in_its_shape(limited_client):
    with limited_client(v0_user="2/minute") as client:
        headers = bearer(register(client)["access_token"])
        responses = [client.get("/v0/users/someone", headers=headers) for _ in range(3)]
    assert responses[0].headers["X-RateLimit-Limit"] == "2"
    assert responses[-1].status_code == 429
    assert responses[-1].json()["code"] == "RATE_LIMITED"


def test_v0_health_is_not_limited(client):
    assert "X-RateLimit-Limit" not in client.get("/v0/health").headers


def test_v0_api_keys_get_the_per_key_limit(client, user, workers):
    workers("api_keys")
    key = client.post("/api/v1/api-keys", headers=user["headers"],
                      json={"name": "k"}).json()["data"]["key"]
    response = client.get("/v0/users/someone", headers={"X-API-Key": key})
    assert response.headers["X-RateLimit-Limit"] == "10000"


def test_a_users_api_keys_share_one_budget(limited_client, workers):
    with limited_client(arqium_api_key="3/minute") as client:
        workers("api_keys")
        headers = bearer(register(client)["access_token"])
        keys = [client.post("/api/v1/api-keys", headers=headers,
                            json={"name": f"k{n}"}).json()["data"]["key"] for n in range(4)]
        statuses = [client.get("/api/v1/memory/recent",
                               headers={"X-API-Key": key}).status_code for key in keys]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize(("method", "path", "body", "limit"), [
    ("post", "/api/chat", {"id": "c", "messages": [{"role": "user", "content": "hi"}]}, "30"),
    ("post", "/api/memory/search", {"query": "alps"}, "20"),
    ("post", "/api/memory/context", {"chatId": "c1"}, "20"),
    ("post", "/api/memory/upsert", {"key": "k", "content": {"a": 1}}, "100"),
    ("get", "/api/history", None, "100"),
])
def test_cerebro_limits_follow_the_seeds_endpoint_classes(client, user, method, path, body,
                                                          limit):
    kwargs = {"json": body} if body else {}
    response = getattr(client, method)(path, headers=user["headers"], **kwargs)
    assert response.headers["X-RateLimit-Limit"] == limit


def test_chat_refuses_past_its_own_limit(limited_client):
    with limited_client(cerebro_chat="1/minute") as client:
        headers = bearer(register(client)["access_token"])
        body = {"id": "c1", "messages": [{"role": "user", "content": "hi"}]}
        client.post("/api/chat", headers=headers, json=body)
        refused = client.post("/api/chat", headers=headers, json=body)
        history = client.get("/api/history", headers=headers)
    assert refused.status_code == 429 and history.status_code == 200


def test_x_forwarded_for_is_ignored_without_trusted_proxies(limited_client):
    with limited_client(address="127.0.0.1", login_address="3/minute") as client:
        statuses = login_attempts(client, 4, forwarded_for=lambda n: f"203.0.113.{n}")
    assert statuses == [401, 401, 401, 429]


def test_a_trusted_proxy_names_the_client_address(limited_client, settings):
    settings.trusted_proxies = ["127.0.0.0/8"]
    with limited_client(address="127.0.0.1", login_address="3/minute") as client:
        rotating = login_attempts(client, 4, forwarded_for=lambda n: f"203.0.113.{n}")
        one_client = login_attempts(client, 4, forwarded_for=lambda n: "198.51.100.7")
    assert rotating == [401] * 4
    assert one_client == [401, 401, 401, 429]


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(limited_client, settings):
    settings.trusted_proxies = ["10.0.0.1"]
    with limited_client(address="192.0.2.9", login_address="3/minute") as client:
        statuses = login_attempts(client, 4, forwarded_for=lambda n: f"203.0.113.{n}")
    assert statuses == [401, 401, 401, 429]


def test_trusted_proxies_must_be_addresses_or_networks(settings):
    with pytest.raises(ValueError):
        type(settings)(**{**settings.model_dump(), "trusted_proxies": "proxy.local"})


@pytest.mark.parametrize("name", ["X-RateLimit-Limit", "X-RateLimit-Remaining",
                                  "X-RateLimit-Reset", "Retry-After"])
def test_a_refused_login_carries_each_rate_limit_header_once(limited_client, name):
    with limited_client(login_account="1/minute") as client:
        register(client)
        for _ in range(2):
            refused = client.post("/api/v1/auth/login", json={
                "email": "ada@example.com", "password": "wrong password"})
    assert refused.status_code == 429 and header_count(refused, name) == 1


@pytest.mark.parametrize("name", ["X-RateLimit-Limit", "X-RateLimit-Remaining",
                                  "X-RateLimit-Reset"])
def test_a_refused_request_carries_each_rate_limit_header_once(limited_client, name):
    with limited_client(arqium_user="1/minute") as client:
        headers = bearer(register(client)["access_token"])
        for _ in range(2):
            refused = client.get("/api/v1/memory/recent", headers=headers)
    assert refused.status_code == 429 and header_count(refused, name) == 1


def test_a_command_refused_by_the_rate_limit_runs_when_retried_under_its_key(
        limited_client):
    with limited_client(arqium_user="2/second") as client:
        headers = bearer(register(client)["access_token"])
        keyed = {**headers, "Idempotency-Key": "store-1"}
        note = {"key": "k", "content": "c"}
        statuses = [client.post("/api/v1/memory/store", headers=headers, json=note
                                ).status_code for _ in range(2)]
        refused = client.post("/api/v1/memory/store", headers=keyed, json=note)
        time.sleep(int(refused.headers["Retry-After"]) + 0.1)
        retried = client.post("/api/v1/memory/store", headers=keyed, json=note)
    assert statuses == [201, 201] and refused.status_code == 429
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
