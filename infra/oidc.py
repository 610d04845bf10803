"""Bearer tokens from an external OpenID Connect issuer (RS256, keys from its JWKS)."""

import logging
from dataclasses import dataclass

import jwt

from arqium.domain.shared import Clock, InvalidToken, Unavailable

log = logging.getLogger("arqium.oidc")

ALGORITHMS = ["RS256"]
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class ExternalIdentity:
    subject: str
    email: str
    name: str
    expires_at: float


class OidcVerifier:
    """Verifies tokens of one issuer strictly: RS256 only, its keys, its audience."""

    def __init__(self, issuer: str, jwks_url: str, audience: str | None, clock: Clock):
        self.issuer = issuer
        self.audience = audience
        self._keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)
        self._clock = clock

    def names_issuer(self, token: str) -> bool:
        """Whether the (not yet verified) token claims to come from this issuer."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.issuer

    def verify(self, token: str) -> ExternalIdentity:
        try:
            key = self._keys.get_signing_key_from_jwt(token).key
            claims = jwt.decode(
                token, key, algorithms=ALGORITHMS, issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False,
                         "verify_iat": False, "verify_aud": self.audience is not None})
        except jwt.PyJWKClientConnectionError as error:  # the provider's fault
            log.warning("the signing keys of %s cannot be fetched: %s", self.issuer, error)
            raise Unavailable("the identity provider's signing keys cannot be fetched right "
                              "now; retry shortly", retry_after_seconds=1) from None
        except (jwt.PyJWTError, jwt.PyJWKClientError) as error:
            raise InvalidToken(f"invalid token from {self.issuer}: {error}") from None
        if claims["exp"] <= self._clock().timestamp() - CLOCK_SKEW_SECONDS:
            raise InvalidToken("token has expired; sign in again")
        email = claims.get("email") or f"{claims['sub']}@{_host(self.issuer)}"
        return ExternalIdentity(claims["sub"], email, claims.get("name") or email,
                                claims["exp"])


def _host(url: str) -> str:
    from urllib.parse import urlparse
    return urlparse(url).hostname or "oidc"
