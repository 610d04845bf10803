"""Usage as analytics counts it: every answered request of an identified caller, by
face, and the memory searches among them (system/usage.py stores the counts). Anonymous
requests, and those whose credentials were refused, are not counted per user."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.types import Message, Receive, Scope, Send

from arqium.api.common.shapes import face_of
from arqium.api.middleware import HttpMiddleware
from arqium.api.principals import ACCESS_KEY, API_KEY_KEY, SESSION_COOKIE_KEY
from arqium.infra.security import Principal
from arqium.system.usage import UsageCounter

SEARCHES_KEY = "usage_searches"
# The faces whose paths shapes.py gives to another face's error shape.
OWN_FACES = {"/graphql": "graphql"}


def count_search(request: Request) -> None:
    """Count a memory search for this request's caller (once it is answered)."""
    state = request.scope.setdefault("state", {})
    state[SEARCHES_KEY] = state.get(SEARCHES_KEY, 0) + 1


def usage_face(scope: Scope) -> str:
    path = scope["path"]
    return next((face for prefix, face in OWN_FACES.items()
                 if path == prefix or path.startswith(prefix + "/")), face_of(scope).name)


def identified_user(scope: Scope) -> str | None:
    """The user whose credentials this request proved (verified once per request by
    api/principals.py, whichever step asked); None for anyone else."""
    state = scope.get("state", {})
    for key in (API_KEY_KEY, ACCESS_KEY, SESSION_COOKIE_KEY):
        verified = state.get(key)
        if verified and isinstance(verified[1], Principal):
            return verified[1].user_id
    return None


class UsageMiddleware(HttpMiddleware):
    """Counts each answered request (and its searches, if it succeeded) for its caller."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            owner_id = identified_user(scope)
            if owner_id is not None:
                searched = scope.get("state", {}).get(SEARCHES_KEY, 0)
                counter: UsageCounter = scope["app"].state.usage
                counter.add(owner_id, usage_face(scope),
                            searches=searched if status < 400 else 0)


@contextlib.asynccontextmanager
async def flushing(counter: UsageCounter, every_seconds: float) -> AsyncIterator[None]:
    """Flush the counts every `every_seconds` off the event loop, and once more at the
    end (a process killed outright loses what it counted since its last flush)."""

    async def periodically() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            await asyncio.to_thread(counter.flush)

    task = asyncio.create_task(periodically())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(counter.flush)
