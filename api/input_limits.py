"""Input limits at the boundary of every face: a body over the size limit, JSON nested
deeper than the depth limit or holding NaN, and text PostgreSQL cannot hold (NUL, lone
surrogates) in a body, a query or a path are refused 400 in the face's shape before any
route parses them, so none of it is ever stored."""

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.routing import iter_route_contexts
from starlette.responses import JSONResponse, Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arqium.api.common.shapes import ARQIUM
from arqium.api.common.uploads import STREAMED_UPLOAD_PATHS
from arqium.api.errors import error_response
from arqium.api.middleware import HttpMiddleware

# PostgreSQL text and jsonb cannot hold NUL; UTF-8 cannot encode a lone surrogate.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# How such a character can hide in JSON text: as an escape (\u0000, \ud800 to \udfff).
UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")
INNERMOST_PAIR = re.compile(rb"[\[{][\]}]")
NOT_A_NUMBER = re.compile(rb"NaN|Infinity")
DIGITS = re.compile("[0-9]{1,19}")  # ASCII only: str.isdigit() takes "²" too
GRAPHQL_PATH = "/graphql"
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates"


class Refused(Exception):
    """A request the limits refuse: its kind of failure, message and details."""

    def __init__(self, kind: str, message: str, details: dict):
        super().__init__(message)
        self.kind, self.message, self.details = kind, message, details


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether JSON text nests deeper than `limit`, judged from its brackets outside
    strings, without parsing it (a parser recurses once per level)."""
    return _deeper_than(NOT_A_BRACKET.sub(b"", outside_strings(raw)), limit)


def outside_strings(raw: bytes) -> bytes:
    return JSON_STRING.sub(b"", raw)


def _deeper_than(brackets: bytes, limit: int) -> bool:
    for _ in range(limit):  # each round removes the innermost level
        if not brackets:
            return False
        brackets, removed = INNERMOST_PAIR.subn(b"", brackets)
        if not removed:  # unbalanced, so not JSON: the parser opens what is left
            return brackets.count(b"[") + brackets.count(b"{") > limit
    return bool(brackets)


def unstorable_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first key or string in `value` that holds NUL or a lone
    surrogate ("" for the value itself), else None."""
    if isinstance(value, str):
        return ".".join(path) if UNSTORABLE.search(value) else None
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        here = (*path, printable(str(key)))
        if isinstance(key, str) and UNSTORABLE.search(key):
            return ".".join(here)
        found = unstorable_field(item, here)
        if found is not None:
            return found
    return None


def printable(text: str) -> str:
    """`text` with the characters a response cannot carry written as escapes."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def check_json(raw: bytes, max_depth: int) -> None:
    structure = outside_strings(raw)
    if _deeper_than(NOT_A_BRACKET.sub(b"", structure), max_depth):
        raise Refused("validation", f"JSON body is nested deeper than {max_depth} levels",
                      {"max_depth": max_depth})
    if NOT_A_NUMBER.search(structure):  # Python's parser takes them; JSON has none
        raise Refused("malformed", "request body is not valid JSON: NaN and Infinity "
                      "are not JSON numbers", {})
    if not UNSTORABLE_ESCAPE.search(raw):
        return
    try:  # numbers stay text: converting a 5,000-digit one raises
        document = json.loads(raw, parse_int=str, parse_float=str, parse_constant=str)
    except ValueError:
        return  # not JSON: the route refuses it as such
    refuse_unstorable(unstorable_field(document), source="body")


def check_pairs(pairs: list[tuple[str, str]], source: str) -> None:
    """Query parameters or form fields: neither names nor values may be unstorable."""
    for name, value in pairs:
        if UNSTORABLE.search(name) or UNSTORABLE.search(value):
            refuse_unstorable(printable(name), source)


def check_path(scope: Scope) -> None:
    if UNSTORABLE.search(scope["path"]):
        refuse_unstorable(path_parameter(scope), source="path")


def path_parameter(scope: Scope) -> str:
    """The name of the path parameter holding the unstorable character (asked only for
    a request refused: it compiles the route templates)."""
    for route in iter_route_contexts(scope["app"].routes):
        match = compile_path(getattr(route, "path", ""))[0].match(scope["path"])
        for name, value in (match.groupdict() if match else {}).items():
            if UNSTORABLE.search(value):
                return name
    return "path"


def refuse_unstorable(field: str | None, source: str) -> None:
    if field is None:
        return
    field = field or source
    message = f"{field}: {UNSTORABLE_MESSAGE}"
    raise Refused("validation", message, {"errors": [
        {"field": field, "message": UNSTORABLE_MESSAGE, "type": "unstorable_text"}]})


def check_body(scope: Scope, body: bytes, max_depth: int) -> None:
    content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
    if not body:
        return
    if content_type == "application/x-www-form-urlencoded":
        check_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True), "body")
    elif not content_type or "json" in content_type:  # FastAPI reads JSON by default
        check_json(body, max_depth)


def _header(scope: Scope, name: bytes) -> str:
    return dict(scope.get("headers", [])).get(name, b"").decode("latin-1")


class InputLimitsMiddleware(HttpMiddleware):
    """Reads the body (stopping once it is over `max_bytes`), checks the request against
    the limits, and hands the app the body it read. Outside the Idempotency-Key
    middleware, which reads whole bodies itself."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int):
        super().__init__(app)
        self.max_bytes, self.max_depth = max_bytes, max_depth

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if streamed_upload(scope):
            await self._check_upload(scope, receive, send)
            return
        try:
            body = await self._read_body(scope, receive)
            check_path(scope)
            check_pairs(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                  keep_blank_values=True), "query")
            check_body(scope, body, self.max_depth)
        except Refused as refused:
            await refusal(scope, refused)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)

    async def _check_upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An upload's body streams on to its route, which limits the file's size
        itself (ARQIUM_MAX_UPLOAD_BYTES); its path and query are checked here."""
        try:
            check_path(scope)
            check_pairs(parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                  keep_blank_values=True), "query")
        except Refused as refused:
            await refusal(scope, refused)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = _header(scope, b"content-length")
        if DIGITS.fullmatch(declared) and int(declared) > self.max_bytes:
            raise self._too_large()
        chunks, received = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> Refused:
        return Refused("too_large", f"request body is larger than {self.max_bytes} bytes",
                       {"limit_bytes": self.max_bytes})


def streamed_upload(scope: Scope) -> bool:
    """A multipart POST to an upload route: its body is never held whole."""
    return (scope["method"] == "POST" and scope["path"] in STREAMED_UPLOAD_PATHS
            and _header(scope, b"content-type").lower().startswith("multipart/form-data"))


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then passes on to the client's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def refusal(scope: Scope, refused: Refused) -> Response:
    """A 400 in the shape of the face the request came through (GraphQL's own for
    /graphql, whose clients read `errors`)."""
    if scope["path"] == GRAPHQL_PATH or scope["path"].startswith(GRAPHQL_PATH + "/"):
        return JSONResponse({"data": None, "errors": [{
            "message": refused.message,
            "extensions": {"code": ARQIUM.codes[refused.kind], "details": refused.details}}]},
            status_code=400)
    return error_response(Request(scope), 400, refused.kind, refused.message,
                          refused.details)
