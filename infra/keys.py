"""Per-owner data-encryption keys, kept apart from the events (crypto-shredding).

Sensitive content is sealed with its owner's key (AES-256-GCM) before it enters an
event; destroying the key leaves the immutable history in place but unreadable.

The data keys are stored wrapped by a master key that is never in the database
(ARQIUM_MASTER_KEY, or a key file): a copy of the database alone opens nothing."""

import base64
import binascii
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
KEY_BYTES = 32  # AES-256; a stored key of this length is a raw one from before wrapping
MASTER_KEY_FILE = "master.key"

Connect = Callable[[], AbstractContextManager[Any]]


class MasterKey:
    """Seals small secrets (data keys, stored responses) with AES-256-GCM; the
    associated data binds each to where it belongs (an owner, a request)."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes (base64-encoded)")
        self._aead = AESGCM(key)
        self._key = key

    def derived(self, purpose: str) -> bytes:
        """A key of its own for `purpose` (HKDF-SHA256): signing with it reveals
        nothing of the master key or of other purposes' keys."""
        return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                    info=f"arqium:{purpose}".encode()).derive(self._key)

    def seal(self, plaintext: bytes, bound_to: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, bound_to: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:],
                                      bound_to.encode())
        except InvalidTag:
            raise ValueError("this was not sealed by the configured master key "
                             "(ARQIUM_MASTER_KEY or its key file changed?)") from None


def load_master_key(value: str | None, key_file: Path | None, data_dir: Path
                    ) -> MasterKey:
    """The master key: ARQIUM_MASTER_KEY (base64), else the key file named, else the
    embedded default's file under the data directory, generated once (mode 0600)."""
    if value:
        return MasterKey(_decoded(value, "ARQIUM_MASTER_KEY"))
    path = key_file or Path(data_dir) / MASTER_KEY_FILE
    if key_file is None and not path.exists():
        _write_new_key(path)
    return MasterKey(_decoded(path.read_text().strip(), str(path)))


def lazy_master_key(value: str | None, key_file: Path | None, data_dir: Path
                    ) -> Callable[[], MasterKey]:
    """The master key, loaded when first needed (a migration with nothing to wrap
    writes no key file)."""
    return cache(lambda: load_master_key(value, key_file, data_dir))


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once keep the one key written first
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as file:
        file.write(base64.b64encode(os.urandom(KEY_BYTES)).decode() + "\n")


def _decoded(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError(f"{where} is not base64 (try: openssl rand -base64 32)") from None


class OwnerKeys:
    """Creates, uses and destroys owners' keys; `connect` yields a psycopg connection."""

    def __init__(self, connect: Connect, master: Callable[[], MasterKey]):
        self._connect = connect
        self._master = master

    def create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(CREATE_TABLE)

    def create(self, owner_id: str) -> None:
        """Give the owner a key, once; a destroyed key is never replaced."""
        with self._connect() as conn:
            conn.execute(f"INSERT INTO {TABLE} (owner_id, key) VALUES (%s, %s) "
                         "ON CONFLICT (owner_id) DO NOTHING",
                         (owner_id, self._wrapped(owner_id, AESGCM.generate_key(256))))

    def wrap_raw_keys(self) -> int:
        """Wrap every key stored raw (before master keys existed), in place; how many.
        Idempotent: a wrapped key is longer than a raw one."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT owner_id, key FROM {TABLE} WHERE "
                                f"octet_length(key) = {KEY_BYTES} FOR UPDATE").fetchall()
            for row in rows:
                owner_id, key = _columns(row, "owner_id", "key")
                conn.execute(f"UPDATE {TABLE} SET key = %s WHERE owner_id = %s",
                             (self._wrapped(owner_id, bytes(key)), owner_id))
        return len(rows)

    def _wrapped(self, owner_id: str, key: bytes) -> bytes:
        return self._master().seal(key, f"data-key:{owner_id}")

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
        key = row and _columns(row, "key")[0]
        if not key:
            raise Gone("the owner's data key was destroyed: this content is unreadable")
        if len(key) == KEY_BYTES:  # not wrapped yet: `arqium migrate` wraps it
            return bytes(key)
        return self._master().open(bytes(key), f"data-key:{owner_id}")


def _columns(row: Any, *names: str) -> tuple:
    return tuple(row[name] for name in names) if isinstance(row, dict) else tuple(row)
