"""Idempotency-Key on every command: a retried request gets the first response again
and nothing new is stored (DESIGN.md §5)."""

import hashlib

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from arqium.api.common.caller import current_caller
from arqium.api.errors import error_response, field_details
from arqium.api.middleware import HttpMiddleware
from arqium.api.ratelimit import client_address
from arqium.domain.shared import AuthenticationFailed

HEADER = b"idempotency-key"
COMMAND_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = ("idempotent-replayed", "true")


class IdempotencyMiddleware(HttpMiddleware):
    def applies_to(self, scope: Scope) -> bool:
        return scope["method"] in COMMAND_METHODS and _key(scope) is not None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key(scope)
        body = await _read_body(receive)
        request = Request(scope)
        if len(key) > MAX_KEY_LENGTH:
            message = f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters"
            await error_response(request, 400, "validation", message,
                                 field_details("Idempotency-Key", message)
                                 )(scope, receive, send)
            return
        store = request.app.state.idempotency
        try:
            caller = await run_in_threadpool(key_owner, request)
        except AuthenticationFailed as refusal:
            # Before any replay: a logged-out token must not get the old answer again.
            await error_response(request, 401, "unauthenticated", refusal.message,
                                 code=refusal.code)(scope, receive, send)
            return
        fingerprint = _fingerprint(scope, body)
        stored = await run_in_threadpool(store.claim, caller, key.decode(), fingerprint)
        if stored is None:
            await self._first(scope, body, send, store, caller, key.decode())
        elif stored.fingerprint != fingerprint:
            message = ("this Idempotency-Key was already used for a different request; "
                       "use a new key")
            await error_response(request, 400, "validation", message,
                                 field_details("Idempotency-Key", message)
                                 )(scope, receive, send)
        elif stored.status is None:
            await error_response(request, 409, "conflict",
                                 "a request with this Idempotency-Key is still being "
                                 "answered; retry shortly", headers={"Retry-After": "1"}
                                 )(scope, receive, send)
        else:
            await _replay(send, stored)

    async def _first(self, scope: Scope, body: bytes, send: Send, store, caller: str,
                     key: str) -> None:
        """Run the command, pass its response on, and keep it for retries."""
        started: dict = {}
        chunks: list[bytes] = []

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replaying(body), capturing_send)
        except BaseException:
            await run_in_threadpool(store.release, caller, key)
            raise
        status = started.get("status", 500)
        if status >= 500:
            await run_in_threadpool(store.release, caller, key)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, v in started.get("headers", [])]
        await run_in_threadpool(store.complete, caller, key, status, headers, b"".join(chunks))


def key_owner(request: Request) -> str:
    """Whose keys these are: the authenticated caller, as the routes authenticate it
    (AuthenticationFailed for credentials they would refuse), or the client's address
    when the request carries none (register, login)."""
    if "x-api-key" in request.headers or "authorization" in request.headers:
        return current_caller(request, request.app.state.system).principal.actor
    return f"address:{client_address(request)}"


def _key(scope: Scope) -> bytes | None:
    return dict(scope.get("headers", [])).get(HEADER)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(),
                 scope.get("query_string", b""), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _replay(send: Send, stored) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append(tuple(part.encode() for part in REPLAYED_HEADER))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
