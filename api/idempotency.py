"""Idempotency-Key on every command: a retried request gets the first response again
and nothing new is stored (DESIGN.md §5), even after a crash: a request holds its key
for a lease it renews while it runs; a retry once that ran out unanswered takes the key
over and answers from what the event store holds of the first attempt (see
infra/idempotency.py and domain/journal.py)."""

import asyncio
import hashlib
import logging
import math
from collections.abc import Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from arqium.api.common.caller import current_caller, has_credentials
from arqium.api.common.uploads import STREAMED_UPLOAD_PATHS
from arqium.api.errors import (
    DATABASE_UNAVAILABLE,
    database_unavailable,
    domain_kind,
    error_response,
    field_details,
)
from arqium.api.middleware import HttpMiddleware
from arqium.api.principals import AUTHENTICATED_ACTOR
from arqium.api.ratelimit import client_address
from arqium.domain.journal import journaling
from arqium.domain.shared import AuthenticationFailed
from arqium.infra.idempotency import Claim, IdempotencyStore, KeyJournal

HEADER = b"idempotency-key"
COMMAND_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = ("idempotent-replayed", "true")
RENEWALS_PER_LEASE = 3
RATE_LIMITED = 429  # refused before the command ran: not the key's answer

log = logging.getLogger("arqium.api")


class IdempotencyMiddleware(HttpMiddleware):
    def applies_to(self, scope: Scope) -> bool:
        """Commands with a key, but uploads: their bodies (up to 50 MB) stream to the
        blob store and are never held whole, which replaying a body would need; a
        retried upload stores its bytes once anyway (blobs are content-addressed)."""
        return (scope["method"] in COMMAND_METHODS and _key(scope) is not None
                and scope["path"] not in STREAMED_UPLOAD_PATHS)

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
        store: IdempotencyStore = request.app.state.idempotency
        fingerprint = request_fingerprint(scope["method"], scope["path"],
                                          scope.get("query_string", b""), body)
        try:
            caller = await run_in_threadpool(key_owner, request)
            stored = await run_in_threadpool(store.claim, caller, key.decode(), fingerprint)
        except AuthenticationFailed as refusal:
            # Before any replay: a logged-out token must not get the old answer again.
            await error_response(request, 401, domain_kind(refusal)[1], refusal.message,
                                 code=refusal.code)(scope, receive, send)
            return
        except DATABASE_UNAVAILABLE as error:
            await database_unavailable(request, error)(scope, receive, send)
            return
        if isinstance(stored, Claim):
            journal = store.journal(caller, key.decode(), stored)
            await self._answer(scope, _replaying(body, receive), send, store, journal)
        elif stored.fingerprint != fingerprint:
            message = ("this Idempotency-Key was already used for a different request; "
                       "use a new key")
            await error_response(request, 400, "validation", message,
                                 field_details("Idempotency-Key", message)
                                 )(scope, receive, send)
        elif stored.status is None:
            await error_response(request, 409, "conflict",
                                 "a request with this Idempotency-Key is still being "
                                 "answered; retry shortly",
                                 headers={"Retry-After": str(max(1, math.ceil(
                                     stored.lease_left)))})(scope, receive, send)
        else:
            await _replay(send, stored)

    async def _answer(self, scope: Scope, receive: Receive, send: Send,
                      store: IdempotencyStore, journal: KeyJournal) -> None:
        """Run the command (answering from the receipts what an earlier attempt
        stored), pass its response on, and keep it for retries."""
        started: dict = {}
        chunks: list[bytes] = []

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if journal.replayed and not journal.saves:
                    message = {**message, "headers": [
                        *message.get("headers", []),
                        tuple(part.encode() for part in REPLAYED_HEADER)]}
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        renewing = asyncio.create_task(_keep_leased(store, journal))
        try:
            with journaling(journal):
                await self.app(scope, receive, capturing_send)
        except BaseException:
            await _settle(store.release, journal)
            raise
        finally:
            renewing.cancel()
        status = started.get("status", 500)
        if status >= 500 or status == RATE_LIMITED:
            # Nothing ran (or nothing worth keeping): a retry under the key runs anew.
            await _settle(store.release, journal)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, v in started.get("headers", [])]
        await _settle(store.complete, journal, status, headers, b"".join(chunks))


async def _keep_leased(store: IdempotencyStore, journal: KeyJournal) -> None:
    """Renew the request's lease while it runs, so no retry takes a slow one over."""
    while True:
        await asyncio.sleep(store.lease_seconds / RENEWALS_PER_LEASE)
        try:
            await run_in_threadpool(store.extend, journal.scope, journal.key, journal.token)
        except DATABASE_UNAVAILABLE as error:
            log.warning("could not renew the lease of Idempotency-Key %r: %s",
                        journal.key, error)


async def _settle(action: Callable, journal: KeyJournal, *args: object) -> None:
    """Complete or release the key. Without the database the response is gone out
    all the same: the lease runs out, and a retry answers from what the event store
    holds (the receipts written with the events), so nothing is stored twice."""
    try:
        await run_in_threadpool(action, journal.scope, journal.key, journal.token, *args)
    except DATABASE_UNAVAILABLE as error:
        log.warning("could not settle Idempotency-Key %r: %s", journal.key, error)


def key_owner(request: Request) -> str:
    """Whose keys these are: the authenticated caller, as the routes authenticate it
    (AuthenticationFailed for credentials they would refuse), or the client's address
    when the request carries none (register, login)."""
    actor = request.scope.get("state", {}).get(AUTHENTICATED_ACTOR)
    if actor:
        return actor
    if has_credentials(request):
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


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The request's body, already read, then the client's own messages: a streamed
    response listens for the client's disconnect, which must be the real one."""
    sent = False

    async def replaying_receive() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replaying_receive


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What tells a retry of a request from another request under the same key."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _replay(send: Send, stored) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers
               if k != REPLAYED_HEADER[0]]
    headers.append(tuple(part.encode() for part in REPLAYED_HEADER))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
