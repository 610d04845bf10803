"""Expiring signed links to a file, for clients that fetch without credentials
(CEREBRO's upload answers with one): an HMAC of the file id and expiry time under a
key derived from the master key."""

import hashlib
import hmac
from datetime import datetime
from uuid import UUID

from arqium.domain.shared import Clock, InvalidToken


class UrlSigner:
    def __init__(self, key: bytes, clock: Clock):
        self._key, self._clock = key, clock

    def sign(self, file_id: UUID, lifetime_seconds: int) -> tuple[int, str]:
        """(expires, signature): the link works until `expires` (Unix seconds)."""
        expires = int(self._clock().timestamp()) + lifetime_seconds
        return expires, self._signature(file_id, expires)

    def check(self, file_id: UUID, expires: int, signature: str) -> None:
        """InvalidToken unless the signature is ours and the link has not expired."""
        if not hmac.compare_digest(self._signature(file_id, expires).encode(),
                                   signature.encode()):
            raise InvalidToken("this download link is not valid")
        if self._clock() >= datetime.fromtimestamp(expires, self._clock().tzinfo):
            raise InvalidToken("this download link has expired")

    def _signature(self, file_id: UUID, expires: int) -> str:
        message = f"{file_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
