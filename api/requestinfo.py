"""Request and trace ids: read or made at the edge, echoed on every response."""

import contextvars
import random
import re
import uuid
from collections.abc import Callable

from starlette.types import Message, Receive, Scope, Send

from arqium.api.middleware import HttpMiddleware

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_id() -> uuid.UUID:
    """A random (version 4) UUID from the `random` module, seeded by the OS (and again in
    a forked child). These ids must be unique, not secret, and uuid.uuid4() reads
    os.urandom(), which releases the GIL: the event loop then waits for a busy API
    process's GIL to come back, twice a request (11-18 % of write throughput)."""
    return uuid.UUID(int=random.getrandbits(128), version=4)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


class RequestIdMiddleware(HttpMiddleware):
    """Sets request_id/trace_id for the request and adds X-Request-ID (and X-Trace-ID)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if _SAFE_ID.match(incoming) else str(new_id())
        traceparent = _TRACEPARENT.match(_header(scope, b"traceparent"))
        trace_id = traceparent.group(1) if traceparent else new_id().hex
        request_id_var.set(request_id)
        trace_id_var.set(trace_id)

        ids = {"X-Request-ID": request_id, "X-Trace-ID": trace_id}
        await self.app(scope, receive, adding_headers(send, lambda: ids))


def adding_headers(send: Send, headers: Callable[[], dict[str, str] | None]) -> Send:
    """`send` that adds `headers()` (asked at the response's start) to the response."""
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = headers() or {}
            message["headers"] = [*message.get("headers", []),
                                  *((k.lower().encode(), v.encode()) for k, v in extra.items())]
        await send(message)

    return send_with_headers
