"""ARQIUM's identity routes answer their successes with the envelopes /openapi.json
documents."""

from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import bearer, register


def test_each_identity_success_body_is_the_documented_one(client):
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
