from datetime import timedelta

import jwt
import pytest

from domain.shared import AuthenticationFailed
from infra.security import PasswordHashing, TokenService
from tests.conftest import FakeClock

SECRET = "s" * 40


def service(clock: FakeClock) -> TokenService:
    return TokenService(SECRET, "arqium", timedelta(minutes=15), timedelta(days=30), clock)


def test_an_issued_access_token_verifies_to_its_user_and_roles():
    tokens = service(FakeClock()).issue("u1", ["user"])
    principal = service(FakeClock()).verify_access(tokens.access_token)
    assert (principal.user_id, principal.roles) == ("u1", ("user",))


def test_an_expired_access_token_is_refused():
    clock = FakeClock()
    tokens = service(clock).issue("u1", ["user"])
    clock.advance(minutes=16)
    with pytest.raises(AuthenticationFailed, match="expired"):
        service(clock).verify_access(tokens.access_token)


def test_a_refresh_token_is_not_an_access_token():
    tokens = service(FakeClock()).issue("u1", ["user"])
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(tokens.refresh_token)


def test_a_token_signed_with_another_key_is_refused():
    forged = jwt.encode({"sub": "u1", "typ": "access", "iss": "arqium", "iat": 0,
                         "exp": 4102444800, "jti": "x"}, "another-key" * 4, algorithm="HS256")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(forged)


def test_an_unsigned_token_is_refused():
    unsigned = jwt.encode({"sub": "u1", "typ": "access", "iss": "arqium", "iat": 0,
                           "exp": 4102444800, "jti": "x"}, None, algorithm="none")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(unsigned)


def test_passwords_are_hashed_with_argon2_and_verified():
    hashing = PasswordHashing()
    password_hash = hashing.hash("correct horse")
    assert password_hash.startswith("$argon2id$")
    assert hashing.verify(password_hash, "correct horse")
    assert not hashing.verify(password_hash, "wrong horse")
