"""Sockets end with their credentials: each open socket (/ws/sync, GraphQL subscriptions)
is told when the token or API key it was opened with stops being valid, within a second.

Three sources, any of which ends it: a timer at the token's expiry (by the injected
clock); the identity events the sync hub receives from NATS (a login session ended, a user
deleted, an API key revoked); and, should NATS be down or have lost some, a periodic
re-check of every open socket's credentials against the read models, a few queries per
round for all sockets at once."""

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arqium.api.errors import DATABASE_UNAVAILABLE
from arqium.domain.shared import Clock
from arqium.infra.security import Principal

log = logging.getLogger("arqium.realtime")


@dataclass(frozen=True)
class Ending:
    """Why a socket's credentials ended, and the close code that says whether logging in
    again may help (4401: expired or logged out) or not (4403: revoked)."""

    code: int
    reason: str


EXPIRED = Ending(4401, "the access token has expired")
SESSION_ENDED = Ending(4401, "the login session has ended")
USER_DELETED = Ending(4403, "the user was deleted")
KEY_REVOKED = Ending(4403, "the API key was revoked")

# The identity events that end credentials: subject names on the stream, by event type.
ENDING_SUBJECTS = ("arqium.identity.login_session.ended", "arqium.identity.user.deleted",
                   "arqium.identity.api_key.revoked")


@dataclass(eq=False)
class Watched:
    """One socket's credentials, and what it does when they end (called once)."""

    principal: Principal
    on_end: Callable[[Ending], Any]
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class SocketCredentials:
    """The credentials of this process's open sockets."""

    def __init__(self, read_models: Any, clock: Clock, check_seconds: float):
        self.read_models, self.clock, self.check_seconds = read_models, clock, check_seconds
        self.watched: set[Watched] = set()
        self._checking: asyncio.Task | None = None

    def start(self) -> None:
        self._checking = asyncio.create_task(self._check_periodically())

    async def stop(self) -> None:
        if self._checking is not None:
            self._checking.cancel()
        for watched in list(self.watched):
            self.forget(watched)

    def watch(self, principal: Principal, on_end: Callable[[Ending], Any]) -> Watched:
        """Call `on_end` (a function or a coroutine function) once these credentials end."""
        watched = Watched(principal, on_end)
        self.watched.add(watched)
        self._schedule_expiry(watched)
        return watched

    def forget(self, watched: Watched) -> None:
        """The socket closed: its credentials no longer matter."""
        self.watched.discard(watched)
        if watched.timer is not None:
            watched.timer.cancel()

    def end(self, watched: Watched, ending: Ending) -> None:
        if watched not in self.watched:
            return  # ended already, or its socket closed
        self.forget(watched)
        result = watched.on_end(ending)
        if asyncio.iscoroutine(result):
            asyncio.get_running_loop().create_task(result)

    def identity_event(self, envelope: dict) -> None:
        """End the sockets an identity event (from the stream) takes the rights from."""
        ending, matches = ending_of(envelope)
        if ending is None:
            return
        for watched in list(self.watched):
            if matches(watched.principal):
                self.end(watched, ending)

    def _schedule_expiry(self, watched: Watched) -> None:
        """A timer at the token's expiry; the clock is injected (tests move it), so when
        the timer fires early by that clock it is set again for what remains."""
        expires_at = watched.principal.expires_at
        if expires_at is None or watched not in self.watched:
            return
        remaining = (expires_at - self.clock()).total_seconds()
        if remaining <= 0:
            self.end(watched, EXPIRED)
            return
        watched.timer = asyncio.get_running_loop().call_later(
            remaining, self._schedule_expiry, watched)

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.check_seconds)
            if not self.watched:
                continue
            try:
                await self.check()
            except DATABASE_UNAVAILABLE as error:  # an outage: the next round tries again
                log.warning("cannot re-check open sockets' credentials (%s); retrying in "
                            "%s s", error, self.check_seconds)

    async def check(self) -> None:
        """End the sockets whose credentials the read models say have ended (or whose
        token has expired by the clock): the fallback for identity events NATS lost."""
        endings = await asyncio.to_thread(self._endings, list(self.watched))
        for watched, ending in endings.items():
            self.end(watched, ending)

    def _endings(self, watched: list[Watched]) -> dict[Watched, Ending]:
        now = self.clock()
        principals = [one.principal for one in watched]
        session_ids = {p.session_id for p in principals if p.session_id}
        key_ids = {p.api_key_id for p in principals if p.api_key_id}
        sessions = (self.read_models.login_sessions.endings_among(session_ids)
                    if session_ids else {})
        live_keys = self.read_models.api_keys.active_among(key_ids) if key_ids else set()
        endings = {}
        for one in watched:
            principal = one.principal
            if principal.expires_at is not None and principal.expires_at <= now:
                endings[one] = EXPIRED
            elif principal.session_id in sessions:
                endings[one] = (USER_DELETED if sessions[principal.session_id] == "revoked"
                                else SESSION_ENDED)
            elif principal.api_key_id and principal.api_key_id not in live_keys:
                endings[one] = KEY_REVOKED
        return endings


def ending_of(envelope: dict) -> tuple[Ending | None, Callable[[Principal], bool]]:
    """What an identity event ends, and which principals it ends."""
    subject = envelope.get("subject", "")
    match envelope.get("type"):
        case "LoginSession.Ended":
            return SESSION_ENDED, lambda p: p.session_id == subject
        case "User.Deleted":
            return USER_DELETED, lambda p: p.user_id == subject
        case "ApiKey.Revoked":
            return KEY_REVOKED, lambda p: p.api_key_id == subject
    return None, lambda p: False
