"""Rate limits as the seeds state them (the `limits` library), with X-RateLimit-*
headers on every limited response and 429 + Retry-After in the face's shape."""

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import Message, Receive, Scope, Send

from arqium.api.middleware import HttpMiddleware
from arqium.api.principals import (
    is_api_key,
    session_cookie,
    verified_access,
    verified_api_key,
    verified_session_cookie,
)
from arqium.domain.shared import AuthenticationFailed
from arqium.infra.settings import Settings

STATE_KEY = "rate_limit_headers"
VERDICT_KEY = "rate_limit_verdict"


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset: int
    window: str = ""  # the limit in words, e.g. "1000 per 1 minute"

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


class RateLimits:
    """Every limit of every face, counted in one storage (memory:// or a shared URI)."""

    def __init__(self, settings: Settings):
        self.enabled = settings.rate_limits == "on"
        self.in_memory = settings.rate_limit_storage.startswith("memory://")
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.items: dict[str, RateLimitItem] = {
            name: parse(value) for name, value in settings.rate_limit_items().items()}

    def hit(self, item_name: str, *identifiers: str) -> Verdict:
        """Count one request; RateLimited if it is over the limit."""
        item = self.items[item_name]
        allowed = self._limiter.hit(item, item_name, *identifiers)
        stats = self._limiter.get_window_stats(item, item_name, *identifiers)
        verdict = Verdict(item.amount, stats.remaining, math.ceil(stats.reset_time),
                          str(item))
        if not allowed:
            raise RateLimited(f"rate limit of {item} exceeded", verdict)
        return verdict


class RateLimited(Exception):
    """Too many requests: the verdict says when the window frees a slot."""

    def __init__(self, message: str, verdict: Verdict):
        self.retry_after = max(1, verdict.reset - int(time.time()))
        super().__init__(f"{message}; retry in {self.retry_after} s")
        self.verdict = verdict


def client_identity(request: Request) -> tuple[str, str]:
    """(kind, id) a request is counted against: its API key's owner (all of a user's
    keys share one budget, so creating keys does not multiply it), its token's (or
    session cookie's) user, or else its address."""
    try:
        api_key = request.headers.get("x-api-key")
        if api_key:
            return "api_key", verified_api_key(request, api_key).user_id
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token and is_api_key(token):
            return "api_key", verified_api_key(request, token).user_id
        if scheme.lower() == "bearer" and token:
            return "user", verified_access(request, token).user_id
        cookie = None if "authorization" in request.headers else session_cookie(request)
        if cookie:
            return "user", verified_session_cookie(request, cookie).user_id
    except AuthenticationFailed:
        pass  # refused by the route; counted against its address meanwhile
    return "address", client_address(request)


def client_address(request: Request) -> str:
    """The peer's address; a configured proxy's X-Forwarded-For was applied already
    (ProxyHeadersMiddleware, ARQIUM_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


def limited(user_item: str, api_key_item: str | None = None
            ) -> Callable[[Request], Awaitable[None]]:
    """A dependency counting each request against the caller's limit: `api_key_item`
    for API keys if given, else the user's own limit whatever the credential."""

    def count(request: Request) -> None:
        kind, identity = client_identity(request)
        if kind == "api_key" and not api_key_item:
            kind = "user"
        item = api_key_item if kind == "api_key" else user_item
        record(request, request.app.state.rate_limits.hit(item, kind, identity))

    async def dependency(request: Request) -> None:
        # Counted on the event loop when the counts are in memory; a shared storage
        # is a network call, made from a worker thread.
        limits: RateLimits = request.app.state.rate_limits
        if not limits.enabled:
            return
        if limits.in_memory:
            count(request)
        else:
            await run_in_threadpool(count, request)

    return dependency


def guard_login(request: Request, email: str) -> None:
    """Login attempts count per account and per client address, so guessing stops."""
    limits: RateLimits = request.app.state.rate_limits
    if limits.enabled:
        limits.hit("login_address", client_address(request))
        record(request, limits.hit("login_account", email.strip().lower()))


def record(request: Request, verdict: Verdict) -> None:
    state = request.scope.setdefault("state", {})
    state[STATE_KEY] = verdict.headers()
    state[VERDICT_KEY] = verdict


def recorded_verdict(request: Request) -> Verdict | None:
    """The verdict of the limit this request was counted against (None: not counted,
    rate limits being off)."""
    return request.scope.get("state", {}).get(VERDICT_KEY)


class RateLimitHeadersMiddleware(HttpMiddleware):
    """Copies the verdict a limited route recorded onto its response, unless the
    response states its own (a 429 names the limit it hit): each header once."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_verdict(message: Message) -> None:
            verdict = scope.get("state", {}).get(STATE_KEY)
            if message["type"] == "http.response.start" and verdict:
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                ours = ((name.lower().encode(), value.encode())
                        for name, value in verdict.items())
                message["headers"] = [*headers, *((name, value) for name, value in ours
                                                  if name not in present)]
            await send(message)

        await self.app(scope, receive, send_with_verdict)
