"""Password hashing (Argon2) and JWT access/refresh tokens (HS256, verified strictly)."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from arqium.domain.shared import Clock, InvalidToken

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss", "typ", "jti", "sid"]
TIME_CLAIMS = ("exp", "iat", "nbf")
CLOCK_SKEW_SECONDS = 30


class PasswordHashing:
    """Argon2id; the cost applies to new hashes (each stored hash names its own)."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Principal:
    """Who a verified token or API key speaks for."""

    user_id: str
    roles: tuple[str, ...]
    expires_at: datetime | None
    session_id: str | None = None
    api_key_id: str | None = None

    @property
    def actor(self) -> str:
        if self.api_key_id:
            return f"api_key:{self.api_key_id}"
        return f"user:{self.user_id}"

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    session_id: str
    token_id: str


class TokenService:
    def __init__(self, secret: str, issuer: str, access_ttl: timedelta,
                 refresh_ttl: timedelta, clock: Clock,
                 remember_me_ttl: timedelta | None = None):
        self._secret = secret
        self._issuer = issuer
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._remember_me_ttl = remember_me_ttl or refresh_ttl
        self._clock = clock

    def issue(self, user_id: str, roles: list[str], session_id: str,
              refresh_token_id: str, remember_me: bool = False) -> TokenPair:
        """An access token and a refresh token for one login session."""
        common = {"sub": user_id, "roles": roles, "sid": session_id}
        access = self._encode({**common, "typ": "access", "jti": uuid.uuid4().hex},
                              self._access_ttl)
        refresh_ttl = self._remember_me_ttl if remember_me else self._refresh_ttl
        refresh = self._encode({**common, "typ": "refresh", "jti": refresh_token_id},
                               refresh_ttl)
        return TokenPair(access, refresh, int(self._access_ttl.total_seconds()))

    def verify_access(self, token: str) -> Principal:
        claims = self._decode(token, "access")
        return Principal(
            user_id=claims["sub"],
            roles=tuple(claims.get("roles", [])),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=self._clock().tzinfo),
            session_id=claims["sid"],
        )

    def verify_refresh(self, token: str) -> RefreshClaims:
        claims = self._decode(token, "refresh")
        return RefreshClaims(claims["sub"], claims["sid"], claims["jti"])

    def _encode(self, claims: dict, ttl: timedelta) -> str:
        now = self._clock()
        return jwt.encode({**claims, "iss": self._issuer, "iat": now, "exp": now + ttl},
                          self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str) -> dict:
        now = self._clock().timestamp()
        try:
            # Times are checked against the injected clock, not the wall clock.
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM],
                                issuer=self._issuer,
                                options={"require": REQUIRED_CLAIMS, "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
        except jwt.PyJWTError as error:
            raise InvalidToken(f"invalid token: {error}") from None
        if not all(_is_time(claims[name]) for name in TIME_CLAIMS if name in claims):
            raise InvalidToken("invalid token: its times must be numbers")
        if claims["exp"] <= now:
            raise InvalidToken("token has expired; log in again or refresh it")
        if claims["iat"] > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken("token was issued in the future")
        if claims.get("nbf", now) > now + CLOCK_SKEW_SECONDS:
            raise InvalidToken("token is not valid yet (nbf)")
        if claims["typ"] != kind:
            raise InvalidToken(f"wrong kind of token: {kind} token expected")
        return claims


def _is_time(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def new_secret() -> str:
    return secrets.token_hex(32)
