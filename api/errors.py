"""Errors rendered once, in the shape of the face the request came through."""

import logging
import math
from typing import Any

import psycopg
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
)
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.errors import ReadOnlySqlTransaction
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Message, Receive, Scope, Send

from arqium.api.common.shapes import BODY_FACES, DIALECT_TAGS, FACE_KEY, face_of
from arqium.api.middleware import HttpMiddleware
from arqium.api.ratelimit import RateLimited
from arqium.domain.shared import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    InvalidToken,
    NotFound,
    Unavailable,
)
from arqium.infra.idempotency import ClaimTakenOver

log = logging.getLogger("arqium.api")

_DOMAIN_KINDS: tuple[tuple[type[DomainError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (Invalid, 400, "validation"),
    (InvalidToken, 401, "invalid_token"),  # before its base class: the first match wins
    (AuthenticationFailed, 401, "unauthenticated"),
    (Forbidden, 403, "forbidden"),
    (Unavailable, 503, "unavailable"),
)
_HTTP_KINDS = {400: "malformed", 401: "unauthenticated", 403: "forbidden",
               404: "not_found", 405: "method_not_allowed", 409: "conflict",
               413: "too_large", 415: "malformed", 503: "unavailable"}


# The library's errors and psycopg's own (PoolTimeout among them), raised unwrapped
# outside the library's datastore.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError,
                        psycopg.InterfaceError)
CONCURRENT_WRITE = ("the resource was changed by a concurrent request; read it again "
                    "and retry")
DATABASE_DOWN = "the database is not reachable right now; retry shortly"
DATABASE_READ_ONLY = "the database takes no writes right now; retry shortly"
RETRY_AFTER = {"Retry-After": "1"}


class ReadModelBehind(Exception):
    """A query asked for a position its read model did not reach in time."""


def error_response(request: Request, status: int, kind: str, message: str,
                   details: dict | None = None, code: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    face = face_of(request.scope)
    body = face.body(status, kind, message, details or {}, code)
    response = JSONResponse(body, status_code=status, headers=headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def domain_kind(error: DomainError) -> tuple[int, str]:
    """The HTTP status and the kind of failure a domain error stands for."""
    return next(((status, kind) for cls, status, kind in _DOMAIN_KINDS
                 if isinstance(error, cls)), (500, "internal"))


async def _domain_error(request: Request, error: DomainError) -> JSONResponse:
    status, kind = domain_kind(error)
    if status in (400, 404) and (elsewhere := more_specific_methods(request)):
        return method_not_allowed(request, elsewhere)
    details = dict(error.details)
    if "field" in details:
        details.update(field_details(details.pop("field"), error.message))
    return error_response(request, status, kind, error.message, details, code=error.code,
                          headers=retry_after(details))


def retry_after(details: dict) -> dict | None:
    """The Retry-After header of an error that says when to retry (whole seconds)."""
    seconds = details.get("retry_after_seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return None
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def field_details(field: str, message: str) -> dict:
    """Details naming the field at fault, as request validation errors name it."""
    return {"errors": [{"field": field, "message": message, "type": "invalid"}]}


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    if elsewhere := more_specific_methods(request):
        return method_not_allowed(request, elsewhere)
    if decide := BODY_FACES.get(request.url.path):
        request.scope.setdefault("state", {})[FACE_KEY] = decide(error.body)
    problems = [describe_problem(problem) for problem in error.errors()]
    if any(p["type"] == "json_invalid" for p in problems):
        return error_response(request, 400, "malformed",
                              "request body is not valid JSON", {"errors": problems})
    first = problems[0]
    message = f"{first['field'] or 'body'}: {first['message']}"
    return error_response(request, 400, "validation", message, {"errors": problems})


_SOURCES = ("body", "query", "path", "header", "cookie")


def describe_problem(problem: dict[str, Any]) -> dict[str, str]:
    """One problem with the field it concerns, without where the field came from."""
    location = [str(part) for part in problem.get("loc", ())]
    if location and location[0] in _SOURCES:
        location = location[1:]
    if location and location[0] in DIALECT_TAGS:
        location = location[1:]
    message = problem.get("msg", "invalid").removeprefix("Value error, ")  # pydantic's
    return {"field": ".".join(location), "message": message, "type": problem.get("type", "")}


class DocumentedMethods:
    """The methods the OpenAPI document gives each path, found by a request's path: a
    path's methods are those its documented routes serve, wherever each is declared."""

    def __init__(self, openapi: dict[str, Any]):
        self._paths = [(compile_path(template), {method.upper() for method in operations
                                                 if method in HTTP_METHODS})
                       for template, operations in openapi.get("paths", {}).items()]

    def at(self, path: str) -> tuple[int, set[str]]:
        """The methods of the most specific paths matching `path` (the fewest parameters:
        `/memory/recent` before `/memory/{item_id}`), with that number of parameters."""
        matching = [(len(convertors), methods)
                    for (pattern, _, convertors), methods in self._paths
                    if pattern.match(path)]
        fewest = min((params for params, _ in matching), default=0)
        return fewest, {method for params, methods in matching if params == fewest
                        for method in methods}


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def documented_methods(request: Request) -> DocumentedMethods:
    state = request.app.state
    if getattr(state, "documented_methods", None) is None:
        state.documented_methods = DocumentedMethods(request.app.openapi())
    return state.documented_methods


def more_specific_methods(request: Request) -> set[str]:
    """The methods of paths more specific than the route a request matched and failed:
    `DELETE /memory/recent` asks for `/memory/recent`, which has no DELETE, rather than
    for `DELETE /memory/{item_id}` with a bad id (or of a memory that does not exist)."""
    route_path = getattr(request.scope.get("route"), "path", "")
    fewest, methods = documented_methods(request).at(request.url.path)
    return methods if fewest < route_path.count("{") else set()


def method_not_allowed(request: Request, methods: set[str]) -> JSONResponse:
    allow = ", ".join(sorted(methods))
    return error_response(request, 405, "method_not_allowed",
                          f"{request.method} is not served at {request.url.path}; "
                          f"it serves {allow}", headers={"Allow": allow})


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == 405 and (methods := documented_methods(request).at(
            request.url.path)[1]):
        return method_not_allowed(request, methods)
    kind = _HTTP_KINDS.get(error.status_code, "malformed")
    message = error.detail if isinstance(error.detail, str) else "request failed"
    if error.status_code == 404 and message == "Not Found":
        message = f"no route for {request.method} {request.url.path}; see /docs"
    return error_response(request, error.status_code, kind, message,
                          headers=getattr(error, "headers", None))


async def _read_model_behind(request: Request, error: ReadModelBehind) -> JSONResponse:
    return error_response(request, 503, "unavailable", str(error),
                          headers={"Retry-After": "1"})


async def _concurrent_write(request: Request, error: IntegrityError) -> JSONResponse:
    return error_response(request, 409, "conflict", CONCURRENT_WRITE)


async def _rate_limited(request: Request, error: RateLimited) -> JSONResponse:
    return error_response(request, 429, "rate_limited", str(error),
                          {"retry_after_seconds": error.retry_after},
                          headers={**error.verdict.headers(),
                                   "Retry-After": str(error.retry_after)})


async def _claim_taken_over(request: Request, error: ClaimTakenOver) -> JSONResponse:
    return error_response(request, 409, "conflict", str(error))


async def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    return database_unavailable(request, error)


def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    """The 503 of a request that found the database out of reach."""
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
    return error_response(request, 503, "unavailable", DATABASE_DOWN, headers=RETRY_AFTER)


def is_read_only(error: BaseException) -> bool:
    """A write refused by a read-only database (SQLSTATE 25006): a standby, a server
    set `default_transaction_read_only`, a disk-full safeguard."""
    return isinstance(error, ReadOnlySqlTransaction) or isinstance(
        error.__cause__, ReadOnlySqlTransaction)


async def _internal_database_error(request: Request, error: InternalError) -> JSONResponse:
    if not is_read_only(error):
        return await _unexpected(request, error)
    log.warning("database read-only on %s %s", request.method, request.url.path)
    return error_response(request, 503, "unavailable", DATABASE_READ_ONLY,
                          headers=RETRY_AFTER)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "internal",
                          "internal error; quote the X-Request-ID header when reporting it")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ReadModelBehind, _read_model_behind)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(IntegrityError, _concurrent_write)
    app.add_exception_handler(ClaimTakenOver, _claim_taken_over)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable)
    app.add_exception_handler(InternalError, _internal_database_error)
    app.add_exception_handler(ReadOnlySqlTransaction, _internal_database_error)
    app.add_exception_handler(Exception, _unexpected)


class DatabaseErrorsMiddleware(HttpMiddleware):
    """Database failures met by a middleware rather than a route (the idempotency
    middleware claims its key before the route runs, and records the answer after it)
    answer as a route's would: the exception handlers only see what routes raise. One
    met once the answer is sent is only logged: the client has its answer."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = {"start": False, "end": False}

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["start"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                sent["end"] = True
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except (*DATABASE_UNAVAILABLE, InternalError, ReadOnlySqlTransaction) as error:
            if sent["end"]:
                log.warning("database failure after answering %s %s: %s",
                            scope["method"], scope["path"], error)
                return
            if sent["start"]:
                raise
            request = Request(scope)
            handler = (_database_unavailable if isinstance(error, DATABASE_UNAVAILABLE)
                       else _internal_database_error)
            await (await handler(request, error))(scope, receive, send)
