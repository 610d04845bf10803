"""Rate limits as the seeds state them (the `limits` library), with X-RateLimit-*
headers on every limited response and 429 + Retry-After in the face's shape."""

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.types import Receive, Scope, Send

from arqium.api.middleware import HttpMiddleware
from arqium.api.principals import verified_access
from arqium.api.requestinfo import adding_headers
from arqium.domain.shared import AuthenticationFailed
from arqium.infra.settings import Settings

STATE_KEY = "rate_limit_headers"


@dataclass(frozen=True)
class Verdict:
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


class RateLimits:
    """Every limit of every face, counted in one storage (memory:// or a shared URI)."""

    def __init__(self, settings: Settings):
        self.enabled = settings.rate_limits == "on"
        self._limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.items: dict[str, RateLimitItem] = {
            name: parse(value) for name, value in settings.rate_limit_items().items()}

    def hit(self, item_name: str, *identifiers: str) -> Verdict:
        """Count one request; RateLimited if it is over the limit."""
        item = self.items[item_name]
        allowed = self._limiter.hit(item, item_name, *identifiers)
        stats = self._limiter.get_window_stats(item, item_name, *identifiers)
        verdict = Verdict(item.amount, stats.remaining, math.ceil(stats.reset_time))
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
    """(kind, id) a request is counted against: its API key, its user, or its address."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        return "api_key", hashlib.sha256(api_key.encode()).hexdigest()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return "user", verified_access(request, token.strip()).user_id
        except AuthenticationFailed:
            pass
    return "address", request.client.host if request.client else "unknown"


def limited(user_item: str, api_key_item: str | None = None) -> Callable[[Request], None]:
    """A dependency counting each request against the caller's limit."""

    def dependency(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        if not limits.enabled:
            return
        kind, identity = client_identity(request)
        item = api_key_item if kind == "api_key" and api_key_item else user_item
        record(request, limits.hit(item, kind, identity))

    return dependency


def guard_login(request: Request, email: str) -> None:
    """Login attempts count per account and per client address, so guessing stops."""
    limits: RateLimits = request.app.state.rate_limits
    if limits.enabled:
        address = request.client.host if request.client else "unknown"
        limits.hit("login_address", address)
        record(request, limits.hit("login_account", email.strip().lower()))


def record(request: Request, verdict: Verdict) -> None:
    request.scope.setdefault("state", {})[STATE_KEY] = verdict.headers()


class RateLimitHeadersMiddleware(HttpMiddleware):
    """Copies the verdict a limited route recorded onto its response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive,
                       adding_headers(send, lambda: scope.get("state", {}).get(STATE_KEY)))
