"""The OpenAPI document as the server answers: each operation's success body and the
errors it really returns, in its face's error shape (never FastAPI's default 422: request
validation answers 400)."""

import copy
from collections.abc import Iterator
from typing import Any, Callable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from arqium.api.common.shapes import (
    ADMIN,
    ARQIUM,
    ASTRALBODY,
    BODY_FACES,
    CEREBRO,
    MEMORY_V0,
    MEMORY_V0_CURRENT,
    Face,
    face_for,
)
from arqium.api.common.validation import MAX_INT64

_ANY: dict = {}  # any JSON value
_TEXT = {"type": "string"}
_DETAILS = {"type": "object", "additionalProperties": True}
_ERROR_OBJECT = {"type": "object", "required": ["code", "message", "details"],
                 "properties": {"code": _TEXT, "message": _TEXT, "details": _DETAILS}}

# Each face's error body, as api/common/shapes.py renders it.
ERROR_SCHEMAS: dict[str, tuple[str, dict]] = {
    ARQIUM.name: ("ArqiumError", {
        "type": "object", "required": ["status", "code", "data", "error", "meta"],
        "properties": {"status": {"const": "error"}, "code": {"type": "integer"},
                       # null, but the health report on a 503 of /api/v1/health
                       "data": {"type": ["object", "null"]}, "error": _ERROR_OBJECT,
                       "meta": {"type": "object"}}}),
    CEREBRO.name: ("CerebroError", {
        "type": "object", "required": ["error", "message", "details"],
        "properties": {"error": _TEXT, "message": _TEXT, "details": _DETAILS}}),
    MEMORY_V0.name: ("MemoryV0Error", {
        "type": "object", "required": ["error", "message", "code"],
        "properties": {"error": _TEXT, "message": _TEXT, "code": _TEXT}}),
    MEMORY_V0_CURRENT.name: ("MemoryV0CurrentError", {
        "type": "object", "required": ["error", "code", "message"],
        "properties": {"error": _TEXT, "code": {"type": "integer"}, "message": _TEXT}}),
    ADMIN.name: ("AdminError", {
        "type": "object", "required": ["error", "status"],
        "properties": {"error": _ERROR_OBJECT, "status": {"type": "integer"}}}),
    ASTRALBODY.name: ("AstralBodyError", {
        "type": "object", "required": ["error"],
        "properties": {"error": {**_ERROR_OBJECT, "properties": {
            **_ERROR_OBJECT["properties"], "timestamp": _TEXT}}}}),
}

# GraphQL answers its own errors in the GraphQL shape; what the HTTP layer refuses
# before GraphQL runs (limits, rate, database) answers in the ARQIUM shape.
GRAPHQL_ERROR = ("GraphQLErrors", {
    "anyOf": [{"type": "object", "required": ["errors"],
               "properties": {"data": _ANY, "errors": {"type": "array"}}},
              {"$ref": "#/components/schemas/ArqiumError"}]})

# What GraphQL answers over HTTP: its result, errors included (a field's error beside
# the other fields' data).
GRAPHQL_PATH = "/graphql"
GRAPHQL_RESULT = ("GraphQLResult", {
    "type": "object", "required": ["data"],
    "properties": {"data": {"type": ["object", "null"]},
                   "errors": {"type": "array", "items": {
                       "type": "object", "required": ["message"],
                       "properties": {"message": _TEXT, "locations": {"type": "array"},
                                      "path": {"type": "array"},
                                      "extensions": {"type": "object"}}}},
                   "extensions": {"type": "object"}}})
# What GraphQL takes over HTTP: a query (mutations by POST only), its variables and the
# operation to run, in a JSON body or, for GET, in the query string.
GRAPHQL_REQUEST = ("GraphQLRequest", {
    "type": "object", "required": ["query"],
    "properties": {"query": {"type": "string", "minLength": 1},
                   "variables": {"type": ["object", "null"]},
                   "operationName": {"type": ["string", "null"]}}})
GRAPHQL_GET_PARAMETERS = [
    {"name": "query", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "a query (not a mutation); without one, GraphiQL"},
    {"name": "variables", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "the variables as a JSON object"},
    {"name": "operationName", "in": "query", "required": False,
     "schema": {"type": "string"}}]
# GET /graphql without a query answers the GraphiQL page.
GRAPHIQL = {"text/html": {"schema": _TEXT}}
GRAPHQL_GET = "The query's result (its errors included); without a query, GraphiQL."

ARQIUM_ENVELOPE = ("ArqiumEnvelope", {
    "type": "object", "required": ["status", "code", "data", "error", "meta"],
    "properties": {"status": {"const": "success"}, "code": {"type": "integer"},
                   "data": _ANY, "error": {"type": "null"}, "meta": {"type": "object"}}})

ERROR_MEANINGS = {
    400: "the request is malformed or invalid (the field at fault is named)",
    401: "no credentials, or credentials that are not (or no longer) valid",
    403: "the credentials do not allow this",
    404: "no such resource of the caller's",
    409: "conflicts with the resource's current state or a concurrent request",
    429: "rate limit exceeded; see Retry-After and X-RateLimit-* headers",
    503: "a dependency (database, read model, event stream) is unavailable, or the "
         "module serving the route is switched off (the message says which); retry "
         "shortly",
}

WRITES = {"post", "put", "patch", "delete"}
# Health checks of the seeds' faces answer an unhealthy 503 with their success body.
HEALTH_BODY_ON_503 = {"/health", "/v0/health"}

# The error statuses each operation can really answer. Every one: 400 (the boundary
# refuses a body too large or too deep, or text PostgreSQL cannot hold, in any query,
# path or body). Every write: 401 and 409, since an Idempotency-Key makes it check the
# credentials sent and answer 409 while the key's first request is still running (and
# a concurrent change is a 409 too). An operation with a path parameter: 404, since the
# id may name nothing of the caller's. The rest, operation by operation, in the tables
# below ("/path" stands for every method of the path, "METHOD /path" for one).

# Check no credentials (a write does if it carries an Idempotency-Key).
PUBLIC = {"/api/v1/auth/register", "/api/v1/auth/validate", "/api/v1/health", "/health",
          "/v0/health", "/ping", "/auth/config", "/graphql"}  # GraphQL: in its errors
# Counted by no rate limit.
UNLIMITED = {"/api/v1/health", "/health", "/v0/health", "/ping"}
# Need nothing that can be unavailable (a rate-limited operation reads the login
# session of the token it counts, so /auth/config is not one).
SELF_CONTAINED = {"/ping"}
# Refuse some callers: 403.
FORBIDDEN = {
    "DELETE /api/v1/users/{user_id}",  # admins only
    "GET /api/v1/users/{user_id}",  # another user, unless an admin asks
    "/api/v1/ledger/verify", "/api/v1/ledger/export",  # auditors and admins only
    "/api/memory/metrics", "/api/status",  # admins only
    "/api/activity",  # user_id of another user, unless an admin asks
    # ownerId must be the caller
    "/api/memory/upsert", "/api/memory/promote", "/api/memory/search",
    "/api/memory/context", "/api/memory/delete",
    "/v0/users", "/v0/search",  # email / userId must be the caller's own
    # admins only
    "PUT /api/config", "POST /api/config/profiles", "PUT /api/config/profiles/{profile_id}",
    "DELETE /api/config/profiles/{profile_id}", "/api/config/profiles/{profile_id}/apply",
    "POST /api/modules/install", "PUT /api/modules/{module_id}",
    "DELETE /api/modules/{module_id}", "/api/v1/plugins/install",
    "DELETE /api/v1/plugins/{plugin_id}", "/api/v1/plugins/{plugin_id}/enable",
    "/api/v1/plugins/{plugin_id}/disable", "/api/v1/plugins/{plugin_id}/config",
}
FORBIDDEN_PREFIXES = ("/v0/users/{userId}",)  # the path's userId must be the caller
# Can miss what they name although no path parameter names it: 404.
MISSING = {
    # the caller's own user, not yet (or no longer) where the route reads it
    "/api/v1/users/profile", "/api/v1/users/password", "/user/profile",
    "/api/memory/promote", "/api/memory/delete",  # a memory by key or id
    "/api/ledger/transactions",  # the object transacted
    "/api/auth/logout",  # the token's login session
    "/v0/users", "/v0/search",  # the v0 user (and memoryId)
    "/api/modules/install", "/api/v1/plugins/install",  # the module the body names
    "/components/combine", "/components/condense",  # the components named
}

WEBSOCKETS = """

## WebSockets
OpenAPI describes no WebSocket, so they are described here.

* **`/ws/sync/{session_id}`** (ARQIUM): a chat session's live changes. Authenticate
  with `Authorization: Bearer <access_token>` (or `?token=`) or `X-API-Key`; refused
  credentials: the socket opens, then closes with code 1008 and a reason. The server
  pushes JSON `{"event", "data"}` messages: `memory_added` (the memory as
  `GET /api/v1/memory/{id}` shows it, a `secret` or `pii` memory's `content` null, plus
  `position`), `context_updated` (the context as `GET /api/v1/contexts/{id}` shows it,
  plus `change` and `position`), `plugin_event`, `error` (a message it does not
  understand, or updates delayed while the event stream is unreachable) and `resumed`
  (updates flow again: re-read what you show). `plugin_event` tells the user who changed
  a module (`/api/modules`, `/api/v1/plugins`) of it on every socket of theirs:
  `{"id": module id, "type": "ModuleInstalled" | "ModuleUninstalled" | "ModuleEnabled"
  | "ModuleDisabled" | "ModuleSettingsChanged" | "ModuleRated", "position", "data": the
  event's NATS data}`. The socket is closed with code 4401 (the reason says why) once its
  credentials end: the token expires, its login session ends, its user is deleted or
  the API key is revoked; with 1013 at once while the `realtime-sync` module is off.
* **`/api/ws`** (Admin API; seed 003 names no path): the Admin console's events, as
  JSON `{"type", "data"}` messages. Credentials and refusals as `/ws/sync`. To admins,
  SystemEvents: `status_update` (`data.status`: `GET /api/status`'s SystemStatus, at
  once, then whenever it changes, at most once a second), `notification`
  (`data.notification` `{type, message, action: {type, payload}}`: a configuration,
  profile or module change, `action.type` the event's type) and `error`
  (`data.error` `{code: SYSTEM_ERROR, message, details}`: a worker started failing). To
  every user, their own UserEvents: `activity` (`data.activity`: an ActivityLog as
  `GET /api/activity` lists it), `session` (`data.session` `{id, action: start | end |
  timeout}`: one of their login sessions) and `preference` (`data.preference`
  `{key, value}`: one preference their profile change set; `null`: removed). Every
  socket is told when the event stream is lost (`error` `SERVICE_UNAVAILABLE`) and
  when updates flow again (an `info` `notification`). Closed with 4401 once the
  credentials end.
* **`/graphql`** (ARQIUM) also speaks the `graphql-transport-ws` protocol for
  subscriptions, authenticated by the same token or API key in `connection_init`'s
  payload or the upgrade request's headers; it closes with 4401/4403 once the
  credentials end, and with 1013 at once while the `graphql` or `realtime-sync` module
  is off.
"""


def truthful_openapi(app: FastAPI) -> Callable[[], dict]:
    """An `app.openapi` that builds the document once, then tells the truth in it."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=(app.description or "") + WEBSOCKETS,
                                   routes=app.routes, tags=app.openapi_tags)
            app.openapi_schema = storable_text(describe_responses(integral_bounds(
                document)))
        return app.openapi_schema

    return openapi


# The input limits refuse NUL in any text (PostgreSQL cannot store it): stated on every
# text without a pattern or a format of its own, and on the names of every JSON object.
NO_NUL = "^[^\\u0000]*$"
FORMATTED = ("format", "pattern", "enum", "const")
NOT_SCHEMAS = ("example", "examples", "default")


def storable_text(document: dict) -> dict:
    """The document with the rule of NUL in text stated as a pattern: on bodies,
    queries, headers and answers. Not on path parameters: a fuzzer draws those from
    characters a path can hold, and a pattern would make it draw any and discard most.
    Not on the names of a form's fields, which a multipart upload does not check."""
    forms = {media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
             for operation in _operations(document)
             for kind, media in operation.get("requestBody", {}).get("content", {}).items()
             if kind.startswith("multipart/")}
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        _rule_text(schema, names=name not in forms)
    for operation in _operations(document):
        for parameter in operation.get("parameters", ()):
            if parameter.get("in") != "path":
                _rule_text(parameter.get("schema", {}))
        for kind, media in operation.get("requestBody", {}).get("content", {}).items():
            _rule_text(media.get("schema", {}), names=not kind.startswith("multipart/"))
        _rule_text(operation.get("responses", {}))
    return document


def _operations(document: dict) -> list[dict]:
    return [operation for operations in document.get("paths", {}).values()
            for operation in operations.values() if isinstance(operation, dict)]


def _rule_text(node: Any, names: bool = True) -> None:
    for schema in _schemas(node, skip=NOT_SCHEMAS):
        if schema.get("type") == "string" and not any(key in schema for key in FORMATTED):
            schema["pattern"] = NO_NUL
        elif schema.get("type") == "object" and names:
            schema.setdefault("propertyNames", {"pattern": NO_NUL})


def _schemas(node: Any, skip: tuple[str, ...] = ()) -> Iterator[dict]:
    """Every object in `node`, outermost first (each before what it holds, which may be
    changed in between), but under the keys in `skip`."""
    if isinstance(node, list):
        for item in node:
            yield from _schemas(item, skip)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key not in skip:
                yield from _schemas(value, skip)


INTEGER_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def integral_bounds(node: Any) -> Any:
    """The document with each integer's bounds as integers. FastAPI's document model
    holds bounds as floats, which cannot hold the int64 ceiling: 2**63 - 1 became 2**63,
    so a client keeping to the document could send a version the server refuses."""
    for schema in _schemas(node):
        if schema.get("type") == "integer":
            for key in INTEGER_BOUNDS:
                if isinstance(schema.get(key), float):
                    schema[key] = min(int(schema[key]), MAX_INT64) if schema[key] >= 0 \
                        else max(int(schema[key]), -MAX_INT64 - 1)
    return node


def describe_responses(document: dict) -> dict:
    """Every operation's success body and the error statuses it answers (those of
    `error_statuses` only), in its face's shape; FastAPI's 422 and its validation
    schemas removed."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for name, schema in (*ERROR_SCHEMAS.values(), ARQIUM_ENVELOPE, GRAPHQL_ERROR,
                         GRAPHQL_RESULT, GRAPHQL_REQUEST):
        schemas[name] = copy.deepcopy(schema)  # the document is changed in place later
    for path, operations in document.get("paths", {}).items():
        face = face_for(path)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in [status for status in responses if status == "422" or (
                    path == GRAPHQL_PATH and not status.startswith("2"))]:
                del responses[status]  # FastAPI's 422; strawberry's 404 when GraphiQL is off
            describe_success(path, face, responses)
            if path == GRAPHQL_PATH and method == "get":
                responses["200"] = {"description": GRAPHQL_GET, "content": {
                    **responses["200"]["content"], **GRAPHIQL}}
                operation["parameters"] = copy.deepcopy(GRAPHQL_GET_PARAMETERS)
            if path == GRAPHQL_PATH and method == "post":
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": ref(GRAPHQL_REQUEST[0])}}}
            for status in error_statuses(path, method):
                responses[str(status)] = error_response(path, face, status)
            if path in HEALTH_BODY_ON_503:
                responses["503"] = {**responses["200"], "description": "unhealthy"}
    return document


def describe_success(path: str, face: Face, responses: dict[str, Any]) -> None:
    """A success answer FastAPI documented without a body gets its face's body: the
    GraphQL result, the ARQIUM envelope, any JSON for the seeds' faces. 204 stays
    without a body."""
    schema = (ref(GRAPHQL_RESULT[0]) if path == GRAPHQL_PATH
              else ref(ARQIUM_ENVELOPE[0]) if face is ARQIUM else _ANY)
    for status, response in responses.items():
        if not status.startswith("2") or status == "204":
            continue
        content = response.setdefault("content", {})
        if content.get("application/json", {}).get("schema"):
            continue
        if any(media != "application/json" for media in content):
            content.pop("application/json", None)  # a stream, documented by its route
        else:
            content["application/json"] = {"schema": schema}


def error_statuses(path: str, method: str) -> list[int]:
    """What the operation can answer besides success, by the rules and tables above."""

    def listed(table: set[str]) -> bool:
        return path in table or f"{method.upper()} {path}" in table

    write = method in WRITES
    statuses = {400}
    if write or not listed(PUBLIC):
        statuses.add(401)
    if listed(FORBIDDEN) or path.startswith(FORBIDDEN_PREFIXES):
        statuses.add(403)
    if "{" in path or listed(MISSING):
        statuses.add(404)
    if write:
        statuses.add(409)
    if not listed(UNLIMITED):
        statuses.add(429)
    if not listed(SELF_CONTAINED):
        statuses.add(503)
    return sorted(statuses)


def error_response(path: str, face: Face, status: int) -> dict:
    if path in BODY_FACES:  # either face's shape, as the body decides
        schema = {"anyOf": [ref(ERROR_SCHEMAS[name][0]) for name in
                            (MEMORY_V0.name, MEMORY_V0_CURRENT.name)]}
    else:
        schema = ref(GRAPHQL_ERROR[0] if path == GRAPHQL_PATH
                     else ERROR_SCHEMAS[face.name][0])
    return {"description": ERROR_MEANINGS[status],
            "content": {"application/json": {"schema": schema}}}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}
