from datetime import timedelta

import jwt
import pytest

from arqium.domain.shared import AuthenticationFailed
from arqium.infra.security import PasswordHashing, TokenService
from tests.conftest import FakeClock

SECRET = "s" * 40


def service(clock: FakeClock) -> TokenService:
    return TokenService(SECRET, "arqium", timedelta(minutes=15), timedelta(days=1), clock,
                        remember_me_ttl=timedelta(days=30))


def test_an_issued_access_token_verifies_to_its_user_and_roles():
    tokens = service(FakeClock()).issue("u1", ["user"], "s1", "r1")
    principal = service(FakeClock()).verify_access(tokens.access_token)
    assert (principal.user_id, principal.roles, principal.session_id) == ("u1", ("user",), "s1")


def test_a_refresh_token_names_its_session_and_rotation_id():
    tokens = service(FakeClock()).issue("u1", ["user"], "s1", "r1")
    claims = service(FakeClock()).verify_refresh(tokens.refresh_token)
    assert (claims.user_id, claims.session_id, claims.token_id) == ("u1", "s1", "r1")


def test_an_access_token_is_not_a_refresh_token():
    tokens = service(FakeClock()).issue("u1", ["user"], "s1", "r1")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_refresh(tokens.access_token)


def test_remember_me_gives_the_refresh_token_a_longer_life():
    clock = FakeClock()
    tokens = service(clock).issue("u1", ["user"], "s1", "r1", remember_me=True)
    clock.advance(days=7)
    assert service(clock).verify_refresh(tokens.refresh_token).session_id == "s1"


def test_a_refresh_token_expires_after_its_lifetime():
    clock = FakeClock()
    tokens = service(clock).issue("u1", ["user"], "s1", "r1")
    clock.advance(days=2)
    with pytest.raises(AuthenticationFailed, match="expired"):
        service(clock).verify_refresh(tokens.refresh_token)


def test_an_expired_access_token_is_refused():
    clock = FakeClock()
    tokens = service(clock).issue("u1", ["user"], "s1", "r1")
    clock.advance(minutes=16)
    with pytest.raises(AuthenticationFailed, match="expired"):
        service(clock).verify_access(tokens.access_token)


def test_a_refresh_token_is_not_an_access_token():
    tokens = service(FakeClock()).issue("u1", ["user"], "s1", "r1")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(tokens.refresh_token)


def test_a_token_signed_with_another_key_is_refused():
    forged = jwt.encode({"sub": "u1", "typ": "access", "sid": "s1", "iss": "arqium", "iat": 0,
                         "exp": 4102444800, "jti": "x"}, "another-key" * 4, algorithm="HS256")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(forged)


def test_an_unsigned_token_is_refused():
    unsigned = jwt.encode({"sub": "u1", "typ": "access", "sid": "s1", "iss": "arqium", "iat": 0,
                           "exp": 4102444800, "jti": "x"}, None, algorithm="none")
    with pytest.raises(AuthenticationFailed):
        service(FakeClock()).verify_access(unsigned)


def signed(**claims) -> str:
    """A token signed with the real secret, carrying exactly these claims."""
    return jwt.encode({"sub": "u1", "typ": "access", "sid": "s1", "iss": "arqium",
                       "jti": "x", **claims}, SECRET, algorithm="HS256")


def test_an_access_token_not_valid_before_a_future_time_is_refused():
    clock = FakeClock()
    now = int(clock().timestamp())
    with pytest.raises(AuthenticationFailed, match="not valid yet"):
        service(clock).verify_access(signed(iat=now, exp=now + 600, nbf=now + 300))


def test_an_access_token_whose_nbf_has_come_is_accepted():
    clock = FakeClock()
    now = int(clock().timestamp())
    principal = service(clock).verify_access(signed(iat=now, exp=now + 600, nbf=now))
    assert principal.user_id == "u1"


def test_a_token_whose_times_are_not_numbers_is_refused():
    clock = FakeClock()
    now = int(clock().timestamp())
    with pytest.raises(AuthenticationFailed, match="numbers"):
        service(clock).verify_access(signed(iat=now, exp=now + 600, nbf="tomorrow"))


def test_passwords_are_hashed_with_argon2_and_verified():
    hashing = PasswordHashing()
    password_hash = hashing.hash("correct horse")
    assert password_hash.startswith("$argon2id$")
    assert hashing.verify(password_hash, "correct horse")
    assert not hashing.verify(password_hash, "wrong horse")
