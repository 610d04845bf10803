"""The ledger's tamper evidence, as an auditor recomputes it (offline too): each event
of an object is hashed with the hash of the object's previous event,

    hash = SHA-256(prev_hash ‖ canonical JSON of the event's record)

where the record is the event's meaning (below), canonical JSON has sorted keys, no
spaces, UTF-8, and numbers written exactly as they were sent (decimals, never floats).
The first event of an object chains to GENESIS. A digest chains the objects together:
SHA-256 of the previous digest and every object's latest hash, in object id order."""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import simplejson

GENESIS = "0" * 64
RECORD_FIELDS = ("object_id", "type_name", "version", "type", "transaction_id", "action",
                 "data", "metadata", "actor", "recorded_at")  # an entry's hashed part


# orjson writes only the plain JSON types itself; anything else goes to `_decimal`.
CANONICAL = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS
             | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)


def canonical_json(value: Any) -> str:
    """The reference is simplejson (below); orjson writes the same text about ten times
    faster. What it will not write (an integer past 64 bits, a lone surrogate, a key
    that is not text) is written by the reference. (Ledger data holds no binary floats,
    which the two would write differently: check_object refuses them.)"""
    try:
        return orjson.dumps(value, default=_decimal, option=CANONICAL).decode()
    except orjson.JSONEncodeError:
        return simplejson.dumps(value, sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False, use_decimal=True)


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # as written, as simplejson writes it
    raise TypeError(type(value).__name__)


# simplejson.loads(text, use_decimal=True) builds this decoder on every call.
_EXACT_DECODER = simplejson.JSONDecoder(parse_float=Decimal)


def exact_json(text: str | bytes) -> Any:
    """JSON whose numbers stay exactly as written (decimals, not floats)."""
    return _EXACT_DECODER.decode(text)


def record(*, object_id: Any, type_name: str, version: int, type: str,
           transaction_id: Any, action: str, data: Any, metadata: Any, actor: str,
           recorded_at: datetime | str) -> dict:
    """What an event's hash covers."""
    return {"object_id": str(object_id), "type_name": type_name, "version": version,
            "type": type, "transaction_id": None if transaction_id is None else str(
                transaction_id), "action": action, "data": data, "metadata": metadata,
            "actor": actor, "recorded_at": recorded_at if isinstance(recorded_at, str)
            else recorded_at.isoformat()}


def chain_hash(prev_hash: str, event_record: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_json(event_record)).encode()).hexdigest()


def digest_hash(prev_digest: str, heads: Iterable[tuple[str, str]]) -> str:
    """The digest over (object id, latest hash) pairs, chained to the previous digest."""
    body = canonical_json([[object_id, head] for object_id, head in sorted(heads)])
    return hashlib.sha256((prev_digest + body).encode()).hexdigest()


def verify(entries: Iterable[dict], seals: Iterable[dict] = ()) -> dict:
    """Recompute every hash of a ledger's entries (events as exported: the record fields,
    `hash` and `prev_hash`, in position order) and every sealed digest (`up_to_position`,
    `digest`, `prev_digest`): `{ok, checked_events, checked_seals, digest}`, or
    `{ok: false, checked_events, first_failure: {object_id, version, reason}}`."""
    heads: dict[str, tuple[int, str]] = {}
    pending = sorted(seals, key=lambda seal: seal["up_to_position"])
    checked = sealed = 0
    prev_digest = GENESIS
    for entry in entries:
        while pending and entry.get("position", 0) > pending[0]["up_to_position"]:
            reason = seal_failure(pending.pop(0), heads, prev_digest)
            if reason:
                return failed(checked, {"object_id": None, "version": None, "reason": reason})
            prev_digest, sealed = heads_digest(prev_digest, heads), sealed + 1
        reason = failure(entry, heads.get(str(entry.get("object_id")), (0, GENESIS)))
        if reason:
            return failed(checked, {"object_id": entry.get("object_id"),
                                    "version": entry.get("version"), "reason": reason})
        heads[str(entry["object_id"])] = (entry["version"], entry["hash"])
        checked += 1
    for seal in pending:
        reason = seal_failure(seal, heads, prev_digest)
        if reason:
            return failed(checked, {"object_id": None, "version": None, "reason": reason})
        prev_digest, sealed = heads_digest(prev_digest, heads), sealed + 1
    return {"ok": True, "checked_events": checked, "checked_seals": sealed,
            "digest": heads_digest(GENESIS, heads)}


def heads_digest(prev_digest: str, heads: dict[str, tuple[int, str]]) -> str:
    return digest_hash(prev_digest, [(oid, head) for oid, (_, head) in heads.items()])


def seal_failure(seal: dict, heads: dict[str, tuple[int, str]], prev_digest: str
                 ) -> str | None:
    """Why a sealed digest does not match the ledger up to its position (None if it does)."""
    where = f"the digest sealed up to position {seal['up_to_position']}"
    if seal["prev_digest"] != prev_digest:
        return f"{where} does not chain to the digest sealed before it"
    if seal["digest"] != heads_digest(prev_digest, heads):
        return f"{where} does not match the ledger's hashes at that position"
    return None


def failed(checked: int, first_failure: dict) -> dict:
    return {"ok": False, "checked_events": checked, "first_failure": first_failure}


def failure(entry: dict, previous: tuple[int, str]) -> str | None:
    """Why an entry breaks its object's chain (None if it does not)."""
    if "unreadable" in entry:
        return entry["unreadable"]
    missing = [name for name in (*RECORD_FIELDS, "hash", "prev_hash") if name not in entry]
    if missing:
        return f"missing fields: {', '.join(missing)}"
    version, head = previous
    if entry["version"] != version + 1:
        return f"version {entry['version']} follows version {version}"
    if entry["prev_hash"] != head:
        return "prev_hash is not the hash of the object's previous event"
    if chain_hash(entry["prev_hash"], {name: entry[name] for name in RECORD_FIELDS}) != entry[
            "hash"]:
        return "hash does not match the event's content"
    return None
