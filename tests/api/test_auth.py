"""Registration, login and passwords over HTTP; the rules themselves (duplicates,
password policy, e-mail format, wrong credentials) are tests/application/test_identity.py."""

from tests.conftest import bearer, register


def test_register_answers_201_with_the_user_and_tokens(client):
    response = client.post("/api/v1/auth/register", json={
        "email": "Ada@Example.com", "password": "correct horse", "name": "Ada"})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success" and body["code"] == 201
    data = body["data"]
    assert data["user"]["email"] == "ada@example.com"
    assert data["user"]["roles"] == ["user"]
    assert set(data["user"]) == {"id", "email", "name", "roles", "created_at"}
    assert data["token_type"] == "Bearer" and data["expires_in"] > 0
    assert data["access_token"] and data["refresh_token"]
    assert response.headers["X-Event-Position"].startswith("identity.")


def test_registration_with_a_weak_password_is_refused_naming_the_field(client):
    response = client.post("/api/v1/auth/register", json={
        "email": "ada@example.com", "password": "short", "name": "Ada"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "password"


def test_login_answers_tokens_that_open_protected_routes(client):
    register(client)
    response = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 200
    token = response.json()["data"]["access_token"]
    assert client.get("/api/v1/memory/recent", headers=bearer(token)).status_code == 200


def test_protected_route_without_a_token_is_401(client):
    response = client.get("/api/v1/memory/recent")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_FAILED"


def test_protected_route_with_a_forged_token_is_401(client):
    response = client.get("/api/v1/memory/recent", headers=bearer("not.a.jwt"))
    assert response.status_code == 401


def test_wrong_password_and_unknown_email_answer_exactly_alike(client):
    register(client)
    wrong = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "wrong horse"})
    unknown = client.post("/api/v1/auth/login", json={
        "email": "nobody@example.com", "password": "wrong horse"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


def test_a_changed_password_replaces_the_old_one(client, user):
    response = client.put("/api/v1/users/password", headers=user["headers"], json={
        "current_password": "correct horse", "new_password": "battery staple"})
    assert response.status_code == 200
    old = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"})
    new = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "battery staple"})
    assert (old.status_code, new.status_code) == (401, 200)
