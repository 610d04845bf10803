"""CEREBRO's clients authenticate with the NextAuth.js (v4) session cookie. The cookies
here come from an encoder written from NextAuth's description: a JWE, `dir` +
`A256GCM`, under HKDF-SHA256(secret, salt "", info "NextAuth.js Generated Encryption
Key", 32 bytes)."""

import base64
import json
import os
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.testclient import TestClient
from pydantic import SecretStr

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import bearer, register

SECRET = "nextauth-secret-0123456789abcdef"
COOKIE = "next-auth.session-token"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def nextauth_token(secret: str = SECRET, **changes) -> str:
    """A session token as next-auth/jwt's encode makes it (its default claims)."""
    now = int(time.time())
    claims = {"name": "Ada", "email": "ada@example.com", "picture": None, "sub": "na-1",
              "iat": now, "exp": now + 30 * 24 * 3600, "jti": str(uuid.uuid4()), **changes}
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"",
               info=b"NextAuth.js Generated Encryption Key").derive(secret.encode())
    header = b64(json.dumps({"alg": "dir", "enc": "A256GCM"}).encode())
    iv = os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, json.dumps(claims).encode(), header.encode())
    return ".".join([header, "", b64(iv), b64(sealed[:-16]), b64(sealed[-16:])])


@pytest.fixture
def nextauth_client(settings, clock):
    settings.nextauth_secret = SecretStr(SECRET)
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def upsert(client, cookies: dict, headers: dict | None = None, key: str = "theme"):
    client.cookies.clear()
    client.cookies.update(cookies)
    try:
        return client.post("/api/memory/upsert", headers=headers or {},
                           json={"key": key, "content": {"theme": "dark"}})
    finally:
        client.cookies.clear()


def refused(response) -> str:
    """The message of a 401 in CEREBRO's error shape."""
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["error"] == "authentication_error"
    return body["message"]


def test_a_nextauth_cookie_acts_as_the_arqium_user_of_its_email(nextauth_client):
    ada = register(nextauth_client)
    response = upsert(nextauth_client, {COOKIE: nextauth_token()})
    assert response.status_code == 200
    history = nextauth_client.get(f"/api/v1/memory/{response.json()['memory']['id']}"
                                  "/history", headers=bearer(ada["access_token"]))
    assert history.status_code == 200 and len(history.json()["data"]["items"]) == 1


def test_a_nextauth_user_is_registered_on_first_sight(nextauth_client):
    assert upsert(nextauth_client, {COOKIE: nextauth_token(
        email="grace@example.com")}).status_code == 200
    assert register_refused(nextauth_client, "grace@example.com")


def register_refused(client, email: str) -> bool:
    """Whether the address is registered already."""
    response = client.post("/api/v1/auth/register", json={
        "email": email, "password": "correct horse", "name": "Grace"})
    return response.status_code == 409


def test_a_token_without_email_is_the_user_of_its_sub(nextauth_client):
    response = upsert(nextauth_client, {COOKIE: nextauth_token(email=None, sub="na-7")})
    assert response.status_code == 200
    assert register_refused(nextauth_client, "na-7@nextauth.invalid")


def test_the_secure_cookie_is_accepted_too(nextauth_client):
    cookies = {"__Secure-next-auth.session-token": nextauth_token()}
    assert upsert(nextauth_client, cookies).status_code == 200


def test_a_cookie_nextauth_split_into_chunks_is_joined(nextauth_client):
    token = nextauth_token(bio="x" * 3000)
    cookies = {f"{COOKIE}.1": token[2000:], f"{COOKIE}.0": token[:2000]}
    assert upsert(nextauth_client, cookies).status_code == 200


def test_a_cookie_made_with_another_secret_is_refused(nextauth_client):
    message = refused(upsert(nextauth_client, {COOKIE: nextauth_token(
        secret="another-secret-0123456789abcdef")}))
    assert "NextAuth" in message


def test_an_expired_cookie_is_refused(nextauth_client):
    expired = nextauth_token(exp=int(time.time()) - 60)
    assert "expired" in refused(upsert(nextauth_client, {COOKIE: expired}))


def test_a_cookie_expires_on_the_servers_clock(nextauth_client, clock):
    token = nextauth_token(exp=int(time.time()) + 60)
    clock.advance(seconds=120)
    refused(upsert(nextauth_client, {COOKIE: token}))


def test_a_tampered_cookie_is_refused(nextauth_client):
    header, key, iv, ciphertext, tag = nextauth_token().split(".")
    flipped = ("B" if ciphertext[0] == "A" else "A") + ciphertext[1:]
    refused(upsert(nextauth_client, {COOKIE: f"{header}.{key}.{iv}.{flipped}.{tag}"}))


@pytest.mark.parametrize("claims", [{"email": None, "sub": None}, {"exp": None},
                                    {"email": 42}])
def test_a_cookie_without_a_user_or_an_expiry_is_refused(nextauth_client, claims):
    refused(upsert(nextauth_client, {COOKIE: nextauth_token(**claims)}))


def test_without_the_secret_a_nextauth_cookie_is_ignored(client):
    message = refused(upsert(client, {COOKIE: nextauth_token()}))
    assert message.startswith("authentication required")


def test_an_arqium_access_token_in_the_cookie_is_accepted(client, user):
    assert upsert(client, {COOKIE: user["access_token"]}).status_code == 200


def test_an_ended_sessions_token_in_the_cookie_is_refused(client, user, workers):
    workers("login_sessions")  # the logout waits until the session is seen ended
    client.post("/api/v1/auth/logout", headers=user["headers"])
    refused(upsert(client, {COOKIE: user["access_token"]}))


def test_other_faces_take_no_cookie(nextauth_client):
    nextauth_client.cookies.set(COOKIE, nextauth_token())
    try:
        response = nextauth_client.get("/api/v1/memory/recent")
    finally:
        nextauth_client.cookies.clear()
    assert response.status_code == 401


def test_an_authorization_header_wins_over_the_cookie(nextauth_client):
    ada = register(nextauth_client, email="grace@example.com")
    cookies = {COOKIE: nextauth_token(secret="another-secret-0123456789abcdef")}
    assert upsert(nextauth_client, cookies,
                  headers=bearer(ada["access_token"])).status_code == 200


def test_an_idempotency_key_is_each_cookie_users_own(nextauth_client):
    headers = {"Idempotency-Key": "same-key"}
    first = upsert(nextauth_client, {COOKIE: nextauth_token()}, headers, key="a")
    second = upsert(nextauth_client, {COOKIE: nextauth_token(email="grace@example.com")},
                    headers, key="b")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["memory"]["key"] == "b"


def test_odd_chunk_names_are_not_chunks(nextauth_client):
    cookie = f"{COOKIE}.\u00b2=x; {COOKIE}.{'9' * 5000}=y".encode("latin-1")
    response = nextauth_client.post("/api/memory/upsert", headers={"Cookie": cookie},
                                    json={"key": "k", "content": {}})
    assert refused(response).startswith("authentication required")
