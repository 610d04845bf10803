"""NextAuth.js (v4) session tokens, CEREBRO's credentials: a JWE (`dir` + `A256GCM`) under
a key derived from the NextAuth secret with HKDF-SHA256, as `next-auth/jwt` encodes it."""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import OctKey

from arqium.domain.shared import Clock, InvalidToken
from arqium.infra.oidc import ExternalIdentity

ENCRYPTION_KEY_INFO = b"NextAuth.js Generated Encryption Key"
ALGORITHMS = ["dir", "A256GCM"]  # nothing else: next-auth/jwt encodes with exactly these
CLOCK_TOLERANCE_SECONDS = 15  # next-auth/jwt decode's own
# The address of a user whose token names no e-mail (its `sub` before the @).
NO_EMAIL_DOMAIN = "nextauth.invalid"


def encryption_key(secret: str) -> OctKey:
    """next-auth/jwt's getDerivedEncryptionKey(secret, salt=""): 32 bytes of HKDF-SHA256."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"",
                   info=ENCRYPTION_KEY_INFO).derive(secret.encode())
    return OctKey.import_key(derived)


class NextAuthSessions:
    """Decrypts and checks the session tokens of the NextAuth deployment whose secret
    this is; whoever holds that secret vouches for the token's e-mail address."""

    def __init__(self, secret: str, clock: Clock):
        self._key = encryption_key(secret)
        self._clock = clock

    def verify(self, token: str) -> ExternalIdentity:
        try:
            claims = jwt.decode(token, self._key, algorithms=ALGORITHMS,
                                registry=JWERegistry()).claims
            jwt.JWTClaimsRegistry(now=int(self._clock().timestamp()),
                                  leeway=CLOCK_TOLERANCE_SECONDS,
                                  exp={"essential": True}).validate(claims)
        except (JoseError, ValueError) as error:
            raise InvalidToken(f"invalid NextAuth session token: {_reason(error)}") from None
        return identity_of(claims)


def identity_of(claims: dict) -> ExternalIdentity:
    """Who the (verified) claims name: their `email`, else their `sub`."""
    email, subject, name = claims.get("email"), claims.get("sub"), claims.get("name")
    if not all(isinstance(value, (str, type(None))) for value in (email, subject, name)):
        raise InvalidToken("invalid NextAuth session token: email, sub and name must be "
                           "strings")
    if not (email or subject):
        raise InvalidToken("the NextAuth session token names no user (no email, no sub)")
    email = email or f"{subject}@{NO_EMAIL_DOMAIN}"
    return ExternalIdentity(subject or email, email, name or email, float(claims["exp"]))


def _reason(error: Exception) -> str:
    # joserfc describes most refusals; a failed decryption it only names.
    return getattr(error, "description", None) or (
        "it does not decrypt under this secret (another secret, or altered)")
