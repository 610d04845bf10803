"""Per-owner data-encryption keys, kept apart from the events (crypto-shredding).

Sensitive content is sealed with its owner's key (AES-256-GCM) before it enters an
event; destroying the key leaves the immutable history in place but unreadable."""

import base64
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from arqium.domain.shared import SEALED, Gone, is_sealed

TABLE = "owner_data_keys"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    owner_id text PRIMARY KEY,
    key bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz
)"""
NONCE_BYTES = 12

Connect = Callable[[], AbstractContextManager[Any]]


class OwnerKeys:
    """Creates, uses and destroys owners' keys; `connect` yields a psycopg connection."""

    def __init__(self, connect: Connect):
        self._connect = connect

    def create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(CREATE_TABLE)

    def create(self, owner_id: str) -> None:
        """Give the owner a key, once; a destroyed key is never replaced."""
        with self._connect() as conn:
            conn.execute(f"INSERT INTO {TABLE} (owner_id, key) VALUES (%s, %s) "
                         "ON CONFLICT (owner_id) DO NOTHING",
                         (owner_id, AESGCM.generate_key(bit_length=256)))

    def destroy(self, owner_id: str) -> None:
        with self._connect() as conn:
            conn.execute(f"INSERT INTO {TABLE} (owner_id, key, destroyed_at) "
                         "VALUES (%s, NULL, now()) ON CONFLICT (owner_id) DO UPDATE "
                         "SET key = NULL, destroyed_at = coalesce("
                         f"{TABLE}.destroyed_at, now())", (owner_id,))

    def seal(self, owner_id: str, plaintext: str) -> dict:
        """An envelope that can stand in an event in place of the plaintext."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self._key(owner_id)).encrypt(
            nonce, plaintext.encode(), owner_id.encode())
        return {SEALED: base64.b64encode(nonce + ciphertext).decode(), "alg": "A256GCM"}

    def open(self, owner_id: str, envelope: dict) -> str:
        blob = base64.b64decode(envelope[SEALED])
        try:
            return AESGCM(self._key(owner_id)).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], owner_id.encode()).decode()
        except InvalidTag:
            raise Gone("sealed content does not match its owner's key") from None

    def readable(self, owner_id: str | None, content: Any) -> Any:
        """Content as its owner wrote it: sealed content opened, or None once shredded."""
        if not is_sealed(content):
            return content
        try:
            return json.loads(self.open(owner_id or "", content))
        except Gone:
            return None

    def _key(self, owner_id: str) -> bytes:
        with self._connect() as conn:
            row = conn.execute(f"SELECT key FROM {TABLE} WHERE owner_id = %s",
                               (owner_id,)).fetchone()
        key = row and (row["key"] if isinstance(row, dict) else row[0])
        if not key:
            raise Gone("the owner's data key was destroyed: this content is unreadable")
        return bytes(key)
