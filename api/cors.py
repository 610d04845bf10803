"""Which browser origins may call the API (seed 004's CORS): the configured origins,
where `*` stands for any host labels or any port."""

import re

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
HEADERS = ["Authorization", "Content-Type", "X-Session-ID"]
# What a browser script may read of an answer: positions, request ids, rate limits.
EXPOSED = ["X-Event-Position", "X-Request-ID", "X-Trace-ID", "X-RateLimit-Limit",
           "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]
HOST_LABELS = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
PORT = r"(?::[0-9]{1,5})?"  # any port, or none (the scheme's default)


def origin_pattern(origin: str) -> str:
    """One configured origin as a regular expression matching whole origins."""
    scheme, _, rest = origin.partition("://")
    host, colon, port = rest.partition(":")
    host_pattern = HOST_LABELS.join(re.escape(part) for part in host.split("*"))
    port_pattern = PORT if port == "*" else re.escape(colon + port)
    return f"{re.escape(scheme)}://{host_pattern}{port_pattern}"


def origins_regex(origins: list[str]) -> str | None:
    if not origins:
        return None
    return "|".join(f"(?:{origin_pattern(origin)})" for origin in origins)


class OriginsOnlyCors(CORSMiddleware):
    """Starlette's CORS, but a preflight from an origin not allowed is told nothing of
    what is allowed (Starlette sends its methods and headers to anyone)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most callers are not browsers: without an Origin, an answer only varies by it.
        # Starlette would look it up in a Headers view of every request (a missing key
        # costs it an exception) and again at the response's start.
        if scope["type"] == "http" and not any(name == b"origin"
                                               for name, _ in scope["headers"]):
            await self.app(scope, receive, varying_by_origin(send))
        else:
            await super().__call__(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        if self.is_allowed_origin(origin=request_headers["origin"]):
            return super().preflight_response(request_headers)
        return PlainTextResponse("Disallowed CORS origin", status_code=400,
                                 headers={"Vary": "Origin"})


def allow_browsers(app: FastAPI, origins: list[str]) -> None:
    """Answer preflights and mark answers for the allowed origins only: any other
    origin's preflight gets no Access-Control-Allow-* headers. No cookies cross origins
    (credentials are bearer tokens and API keys)."""
    app.add_middleware(OriginsOnlyCors, allow_origin_regex=origins_regex(origins),
                       allow_methods=METHODS, allow_headers=HEADERS,
                       expose_headers=EXPOSED)


def varying_by_origin(send: Send) -> Send:
    """`send` that adds Origin to the response's Vary, as Starlette's CORS does for a
    request without one (a cache must not serve the answer to a browser's request)."""
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            MutableHeaders(scope=message).add_vary_header("Origin")
        await send(message)

    return sending
