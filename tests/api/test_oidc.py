"""Bearer tokens of an external OIDC issuer (RS256), verified against its JWKS, served
here on loopback by the test itself."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.infra.embedded import free_port
from arqium.system.bootstrap import open_system
from tests.conftest import SETUP

ISSUER = "https://idp.example.com/realms/astralbody"
AUDIENCE = "astralbody-frontend"
KID = "test-key"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key():
    return new_key()


@pytest.fixture(scope="module")
def jwks_url(signing_key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    document = json.dumps({"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json"
    server.shutdown()


@pytest.fixture
def oidc_client(settings, clock, jwks_url):
    settings.oidc_issuer, settings.oidc_jwks_url = ISSUER, jwks_url
    settings.oidc_audience = AUDIENCE
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as client:
        yield client


def claims(**changes) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "kc-123", "email": "grace@example.com",
            "name": "Grace", "iat": now, "exp": now + 300, **changes}


def token(key, algorithm="RS256", **changes) -> str:
    return jwt.encode(claims(**changes), key, algorithm=algorithm, headers={"kid": KID})


def profile(client, bearer_token: str):
    return client.get("/api/v1/memory/recent",
                      headers={"Authorization": f"Bearer {bearer_token}"})


def test_a_token_of_the_configured_issuer_is_accepted_and_provisions_the_user(
        oidc_client, signing_key, system):
    response = profile(oidc_client, token(signing_key))
    assert response.status_code == 200
    user = system.identity.provision_external("grace@example.com", "Grace", cause=SETUP)
    assert (user.email, user.roles) == ("grace@example.com", ["user"])


def test_the_external_user_can_use_every_face(oidc_client, signing_key):
    headers = {"Authorization": f"Bearer {token(signing_key)}"}
    response = oidc_client.post("/api/memory/upsert", headers=headers,
                                json={"key": "k", "content": {"a": 1}})
    assert response.status_code == 200


def test_a_token_of_another_issuer_is_refused(oidc_client, signing_key):
    assert profile(oidc_client, token(signing_key, iss="https://evil.example.com")
                   ).status_code == 401


def test_an_unsigned_token_is_refused(oidc_client):
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": KID})
    assert profile(oidc_client, unsigned).status_code == 401


def test_an_hs256_token_signed_with_the_public_key_is_refused(oidc_client, signing_key):
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert profile(oidc_client, _hs256(claims(), public_pem)).status_code == 401


def test_an_expired_token_is_refused(oidc_client, signing_key):
    expired = token(signing_key, iat=int(time.time()) - 900, exp=int(time.time()) - 600)
    assert profile(oidc_client, expired).status_code == 401


def test_a_provider_whose_keys_cannot_be_fetched_is_a_503_not_the_callers_fault(
        settings, clock, signing_key, caplog):
    settings.oidc_issuer, settings.oidc_audience = ISSUER, AUDIENCE
    settings.oidc_jwks_url = f"http://127.0.0.1:{free_port()}/jwks.json"  # nothing there
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as client:
        response = profile(client, token(signing_key))
    assert response.status_code == 503
    assert response.headers.get("Retry-After")
    message = response.json()["error"]["message"]
    assert message.startswith("the identity provider's signing keys cannot be fetched")
    assert "127.0.0.1" not in message
    assert "cannot be fetched" in caplog.text


def test_a_token_with_a_bad_signature_is_refused(oidc_client):
    assert profile(oidc_client, token(new_key())).status_code == 401


def test_a_token_for_another_audience_is_refused(oidc_client, signing_key):
    assert profile(oidc_client, token(signing_key, aud="someone-else")).status_code == 401


def _hs256(payload: dict, secret: bytes) -> str:
    """An HS256 token signed with `secret`, built by hand: PyJWT rightly refuses to use
    a PEM public key as an HMAC secret, which is exactly the attack being tested."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
                     + "." + b64(json.dumps(payload).encode()))
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)
