"""Idempotency-Key: a retried command answers the first response and stores nothing new."""

from tests.conftest import bearer, register


def store(client, user, key: str, content: str = "dark mode"):
    return client.post("/api/v1/memory/store", json={"content": content},
                       headers={**user["headers"], "Idempotency-Key": key})


def test_a_retried_store_returns_the_first_response_and_stores_nothing(client, user, system):
    first = store(client, user, "retry-1")
    head = system.memory.recorder.max_notification_id()
    again = store(client, user, "retry-1")
    assert again.status_code == 201
    assert again.json()["data"] == first.json()["data"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert system.memory.recorder.max_notification_id() == head


def test_different_keys_are_different_commands(client, user):
    first = store(client, user, "a").json()["data"]["key"]
    second = store(client, user, "b").json()["data"]["key"]
    assert first != second


def test_reusing_a_key_for_another_request_is_refused(client, user):
    store(client, user, "same", "one thing")
    response = store(client, user, "same", "another thing")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "Idempotency-Key"


def test_keys_are_scoped_to_the_caller(client, user):
    eve = register(client, email="eve@example.com")
    ada = store(client, user, "shared-key").json()["data"]
    eves = client.post("/api/v1/memory/store", json={"content": "dark mode"}, headers={
        **bearer(eve["access_token"]), "Idempotency-Key": "shared-key"})
    assert eves.status_code == 201 and eves.json()["data"]["id"] != ada["id"]


def test_cerebro_upsert_honours_the_key(client, user, system):
    body = {"key": "theme", "content": {"theme": "dark"}}
    headers = {**user["headers"], "Idempotency-Key": "upsert-1"}
    first = client.post("/api/memory/upsert", json=body, headers=headers)
    head = system.memory.recorder.max_notification_id()
    again = client.post("/api/memory/upsert", json=body, headers=headers)
    assert again.json() == first.json()
    assert system.memory.recorder.max_notification_id() == head


def test_a_failed_validation_is_answered_again_the_same_way(client, user):
    headers = {**user["headers"], "Idempotency-Key": "bad-1"}
    first = client.post("/api/v1/memory/store", json={"content": 1}, headers=headers)
    again = client.post("/api/v1/memory/store", json={"content": 1}, headers=headers)
    assert first.status_code == again.status_code == 400


def test_concurrent_retries_store_one_memory(client, user, system):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: store(client, user, "burst").status_code, range(8)))
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert system.memory.recorder.max_notification_id() == 1


def test_a_retry_after_logout_is_refused_not_replayed(client, user, workers):
    workers("login_sessions")  # the logout waits until the session is seen ended
    assert store(client, user, "before-logout").status_code == 201
    assert client.post("/api/v1/auth/logout", headers=user["headers"]).status_code == 200
    retry = store(client, user, "before-logout")
    assert retry.status_code == 401
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json()["error"]["code"] == "AUTH_FAILED"


def test_a_retry_with_a_revoked_api_key_is_refused_on_cerebro(client, user, workers):
    workers("api_keys")
    created = client.post("/api/v1/api-keys", headers=user["headers"],
                          json={"name": "k"}).json()["data"]
    headers = {"X-API-Key": created["key"], "Idempotency-Key": "cerebro-retry"}
    body = {"key": "k", "content": {"a": 1}}
    assert client.post("/api/memory/upsert", json=body, headers=headers).status_code == 200
    client.delete(f"/api/v1/api-keys/{created['id']}", headers=user["headers"])
    retry = client.post("/api/memory/upsert", json=body, headers=headers)
    assert retry.status_code == 401 and retry.json()["error"] == "authentication_error"
