"""Each face's error shape and error codes, chosen by the request path (DESIGN.md §1)."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import orjson

from arqium.api.requestinfo import request_id_var, trace_id_var

ZERO = timedelta(0)


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def meta() -> dict:
    return {"timestamp": now_iso(), "request_id": request_id_var.get(),
            "trace_id": trace_id_var.get()}


@dataclass(frozen=True)
class Face:
    """A seed's API: the paths it owns, its error shape, and its own words (`codes`)
    for each kind of failure (`unauthenticated`: no credentials, or a wrong password;
    `invalid_token`: a token or key that is malformed, badly signed, expired or ended)."""

    name: str
    prefixes: tuple[str, ...]
    codes: dict[str, str]
    shape: Callable[[int, str, str, dict], dict]

    def matches(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes)

    def body(self, status: int, kind: str, message: str, details: dict,
             code: str | None = None) -> dict:
        return self.shape(status, code or self.codes[kind], message, details)


def _arqium(status: int, code: str, message: str, details: dict) -> dict:
    return {"status": "error", "code": status, "data": None,
            "error": {"code": code, "message": message, "details": details},
            "meta": meta()}


def _cerebro(status: int, code: str, message: str, details: dict) -> dict:
    return {"error": code, "message": message, "details": details}


def _memory_v0(status: int, code: str, message: str, details: dict) -> dict:
    return {"error": _reason(status), "message": message, "code": code}


def _memory_v0_current(status: int, code: str, message: str, details: dict) -> dict:
    return {"error": _reason(status), "code": status, "message": message}


def _admin(status: int, code: str, message: str, details: dict) -> dict:
    return {"error": {"code": code, "message": message, "details": details},
            "status": status}


def _astralbody(status: int, code: str, message: str, details: dict) -> dict:
    return {"error": {"code": code, "message": message, "details": details,
                      "timestamp": now_iso()}}


def _reason(status: int) -> str:
    from http import HTTPStatus
    return HTTPStatus(status).phrase


ARQIUM = Face("arqium", ("/api/v1", "/ws", "/graphql"), {
    "validation": "VALIDATION_ERROR", "malformed": "VALIDATION_ERROR",
    "unauthenticated": "AUTH_FAILED", "invalid_token": "AUTH_FAILED",
    "forbidden": "FORBIDDEN",
    "not_found": "NOT_FOUND", "method_not_allowed": "METHOD_NOT_ALLOWED",
    "conflict": "CONFLICT", "too_large": "VALIDATION_ERROR", "rate_limited": "RATE_LIMITED",
    "unavailable": "SERVICE_UNAVAILABLE", "internal": "SERVER_ERROR"}, _arqium)

CEREBRO = Face("cerebro", ("/api/memory", "/api/ledger", "/api/chat", "/api/files",
                           "/api/history", "/ping"), {
    "validation": "validation_error", "malformed": "bad_request",
    "unauthenticated": "authentication_error", "invalid_token": "authentication_error",
    "forbidden": "authorization_error",
    "not_found": "not_found", "method_not_allowed": "bad_request",
    "conflict": "conflict", "too_large": "bad_request", "rate_limited": "rate_limit_exceeded",
    "unavailable": "service_unavailable", "internal": "internal_error"}, _cerebro)

MEMORY_V0 = Face("memory-v0", ("/v0",), {
    "validation": "VALIDATION_ERROR", "malformed": "INVALID_JSON",
    "unauthenticated": "UNAUTHORIZED", "invalid_token": "UNAUTHORIZED",
    "forbidden": "FORBIDDEN",
    "not_found": "NOT_FOUND", "method_not_allowed": "METHOD_NOT_ALLOWED",
    "conflict": "CONFLICT", "too_large": "PAYLOAD_TOO_LARGE", "rate_limited": "RATE_LIMITED",
    "unavailable": "SERVICE_UNAVAILABLE", "internal": "INTERNAL_ERROR"}, _memory_v0)

# The Memory Service's current dialect (its newest SDK, CLI and MCP server): the same
# words, the status as `code`. Its search shares /v0/search: see `FACE_KEY`.
MEMORY_V0_CURRENT = Face("memory-v0-current", ("/v0/vaults",), MEMORY_V0.codes,
                         _memory_v0_current)

ADMIN = Face("admin", ("/api/auth", "/api/config", "/api/modules", "/api/status",
                       "/api/activity"), {
    "validation": "VALIDATION_ERROR", "malformed": "VALIDATION_ERROR",
    "unauthenticated": "AUTH_REQUIRED", "invalid_token": "INVALID_TOKEN",
    "forbidden": "PERMISSION_DENIED",
    "not_found": "NOT_FOUND", "method_not_allowed": "METHOD_NOT_ALLOWED",
    "conflict": "CONFLICT", "too_large": "VALIDATION_ERROR", "rate_limited": "RATE_LIMITED",
    "unavailable": "SYSTEM_ERROR", "internal": "SYSTEM_ERROR"}, _admin)

ASTRALBODY = Face("astralbody", ("/health", "/auth", "/upload", "/download", "/files",
                                 "/sessions", "/components", "/user", "/agents"), {
    "validation": "validation_error", "malformed": "validation_error",
    "unauthenticated": "invalid_token", "invalid_token": "invalid_token",
    "forbidden": "permission_denied",
    "not_found": "not_found", "method_not_allowed": "method_not_allowed",
    "conflict": "conflict", "too_large": "file_too_large", "rate_limited": "rate_limited",
    "unavailable": "service_unavailable", "internal": "internal_error"}, _astralbody)

# Most specific first: /api/v1 before the CEREBRO and Admin /api/* prefixes.
FACES = (ARQIUM, MEMORY_V0_CURRENT, MEMORY_V0, ADMIN, CEREBRO, ASTRALBODY)
# A request's face when its path is shared and its body decides (v0 search's dialects).
FACE_KEY = "face"


def face_for(path: str) -> Face:
    """The face a path belongs to; anything unclaimed answers in the native shape."""
    return next((face for face in FACES if face.matches(path)), ARQIUM)


def is_current_v0_search(body: object) -> bool:
    """A v0 search in the current dialect: a memory named, no user (its bearer key
    names the caller)."""
    return isinstance(body, dict) and "memoryId" in body and "userId" not in body


# The tags of a body union whose dialect the body decides (they are no field's name:
# validation errors leave them out of the field at fault).
SEED_DIALECT, CURRENT_DIALECT = "v0-seed-dialect", "v0-current-dialect"
DIALECT_TAGS = (SEED_DIALECT, CURRENT_DIALECT)

# Shared paths whose body decides the face, even of a body too bad to reach the route.
BODY_FACES: dict[str, Callable[[object], Face]] = {
    "/v0/search": lambda body: MEMORY_V0_CURRENT if is_current_v0_search(body)
    else MEMORY_V0}


def face_of(scope: dict) -> Face:
    """The face a request came through: the one a route chose, else its path's."""
    return scope.get("state", {}).get(FACE_KEY) or face_for(scope["path"])


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as the seeds write their timestamps."""
    if moment is None:
        return None
    if moment.utcoffset() != ZERO:  # naive (local time) or another zone
        moment = moment.astimezone(timezone.utc)
    # orjson writes what isoformat() does, with a Z for UTC, in a quarter of its time.
    return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()


def activity_view(row: dict) -> dict:
    """Seed 003's ActivityLog, from a row of an activity read model."""
    return {"id": row["id"], "type": row["type"], "user_id": row["user_id"],
            "description": row["description"], "metadata": row["metadata"],
            "created_at": iso(row["created_at"])}
