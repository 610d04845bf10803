"""ARQIUM's identity routes answer their successes with the envelopes /openapi.json
documents."""

from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import bearer, register


def test_each_identity_success_body_is_the_documented_one(client, workers):
    workers("users", "api_keys", "login_sessions")
    document = client.get("/openapi.json").json()
    registered = client.post("/api/v1/auth/register", json={
        "email": "bea@example.com", "password": "correct horse", "name": "Bea"})
    assert_documented(document, "/api/v1/auth/register", "post", registered)
    login = client.post("/api/v1/auth/login",
                        json={"email": "bea@example.com", "password": "correct horse"})
    assert_documented(document, "/api/v1/auth/login", "post", login)
    tokens = login.json()["data"]
    headers = bearer(tokens["access_token"])
    for token in (tokens["access_token"], "not a token"):
        validity = client.post("/api/v1/auth/validate", json={"token": token})
        assert_documented(document, "/api/v1/auth/validate", "post", validity)
    issued = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert_documented(document, "/api/v1/api-keys", "post", issued)
    assert_documented(document, "/api/v1/api-keys", "get",
                      client.get("/api/v1/api-keys", headers=headers))
    revoked = client.delete(f"/api/v1/api-keys/{issued.json()['data']['id']}",
                            headers=headers)
    assert_documented(document, "/api/v1/api-keys/{key_id}", "delete", revoked)
    refreshed = client.post("/api/v1/auth/refresh",
                            json={"refresh_token": tokens["refresh_token"]})
    assert_documented(document, "/api/v1/auth/refresh", "post", refreshed)
    logout_headers = bearer(refreshed.json()["data"]["access_token"])
    assert_documented(document, "/api/v1/auth/logout", "post",
                      client.post("/api/v1/auth/logout", headers=logout_headers))


def test_each_memory_context_and_profile_success_body_is_the_documented_one(
        client, user, workers):
    workers("users", "contexts", "memory_items", "memory_embeddings")
    document = client.get("/openapi.json").json()
    headers = user["headers"]

    def after(response) -> dict:
        """Headers that read what `response` wrote."""
        return {**headers, "X-Min-Position": response.headers["X-Event-Position"]}

    profile = client.get("/api/v1/users/profile", headers=after_registering(user))
    assert_documented(document, "/api/v1/users/profile", "get", profile)
    assert_documented(document, "/api/v1/users/{user_id}", "get", client.get(
        f"/api/v1/users/{user['user']['id']}", headers=after_registering(user)))
    changed = client.put("/api/v1/users/profile", json={"name": "Ada L."}, headers=headers)
    assert_documented(document, "/api/v1/users/profile", "put", changed)
    stored = client.post("/api/v1/memory/store", json={"content": "tea", "tags": ["t"]},
                         headers=headers)
    assert_documented(document, "/api/v1/memory/store", "post", stored)
    item = "/api/v1/memory/" + stored.json()["data"]["id"]
    assert_documented(document, "/api/v1/memory/{item_id}", "get",
                      client.get(item, headers=after(stored)))
    assert_documented(document, "/api/v1/memory/recent", "get",
                      client.get("/api/v1/memory/recent", headers=after(stored)))
    found = client.get("/api/v1/memory/search", params={"q": "tea"}, headers=after(stored))
    assert_documented(document, "/api/v1/memory/search", "get", found)
    assert found.json()["data"]["items"]
    assert_documented(document, "/api/v1/memory/{item_id}", "delete",
                      client.delete(item, headers=headers))
    assert_documented(document, "/api/v1/memory/clear", "post", client.post(
        "/api/v1/memory/clear", json={"layer": "temporary"}, headers=headers))
    made = client.post("/api/v1/contexts", json={"name": "plan", "state": {"a": 1}},
                       headers=headers)
    assert_documented(document, "/api/v1/contexts", "post", made)
    context = "/api/v1/contexts/" + made.json()["data"]["id"]
    assert_documented(document, "/api/v1/contexts", "get",
                      client.get("/api/v1/contexts", headers=after(made)))
    assert_documented(document, "/api/v1/contexts/{context_id}", "get",
                      client.get(context, headers=after(made)))
    assert_documented(document, "/api/v1/contexts/{context_id}/sync", "post", client.post(
        context + "/sync", json={"state": {"b": 2}, "base_version": 1}, headers=headers))
    assert_documented(document, "/api/v1/contexts/{context_id}", "delete",
                      client.delete(context, headers=headers))
    password = client.put("/api/v1/users/password", headers=headers, json={
        "current_password": "correct horse", "new_password": "battery staple 42!"})
    assert_documented(document, "/api/v1/users/password", "put", password)


def after_registering(user: dict) -> dict:
    return {**user["headers"], "X-Min-Position": user["position"]}
