"""What a push carries (/ws/sync, GraphQL subscriptions): the memory or context as its
read model holds it once it has applied the pushed event, in the shape of the REST answer
(GET /api/v1/memory/{id}, GET /api/v1/contexts/{id}), so a client shows it without
another request. The stream's envelopes carry no personal data: the read model does."""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from arqium.api.common.contexts import context_view
from arqium.api.common.memory import pushed_memory_view
from arqium.api.errors import DATABASE_UNAVAILABLE
from arqium.domain.shared import Clock
from arqium.projections.base import ReadModel

log = logging.getLogger("arqium.realtime")

# As ReadModel.wait: most waits take a few milliseconds.
FIRST_PAUSE, LONGEST_PAUSE = 0.002, 0.05


class ReadModelPositions:
    """Waits in the event loop (no thread held per wait) until read models reach
    positions: one query in flight per read model however many pushes wait on it, and
    none for a position already seen reached."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], int] = {}
        self.polls: dict[tuple[str, str], asyncio.Future] = {}

    async def reached(self, view: ReadModel, application: str, position: int,
                      deadline: float) -> bool:
        """Whether the read model reached the position before the (event loop) deadline."""
        loop, pause = asyncio.get_running_loop(), FIRST_PAUSE
        while await self.current(view, application, position) < position:
            if loop.time() + pause > deadline:
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
        return True

    async def current(self, view: ReadModel, application: str, wanted: int) -> int:
        key = (view.name, application)
        if self.seen.get(key, 0) >= wanted:
            return self.seen[key]
        if key not in self.polls:
            poll = asyncio.ensure_future(asyncio.to_thread(view.position, application))
            self.polls[key] = poll
            poll.add_done_callback(lambda _: self.polls.pop(key, None))
        # Shielded: a waiter cancelled (its socket closed) leaves the poll to the others.
        position = await asyncio.shield(self.polls[key])
        self.seen[key] = max(self.seen.get(key, 0), position)
        return position


class PushContents:
    """Completes the updates the hub routes with what changed."""

    def __init__(self, memory_items: Any, contexts: Any, clock: Clock,
                 wait_seconds: float):
        self.memory_items, self.contexts, self.clock = memory_items, contexts, clock
        self.wait_seconds = wait_seconds  # the bound of a read-your-writes wait
        self.positions = ReadModelPositions()

    async def completed(self, owner_id: str, update: dict, deadline: float
                        ) -> dict | None:
        """The update with the memory or context as the read model holds it: as routed
        (ids only) if the read model is late past the deadline or out of reach; None if
        the memory or context is gone since (nothing to show; its deletion is pushed if
        pushes tell of deletions)."""
        reading = self._reading(update)
        if reading is None:
            return update
        view, read = reading
        data = update["data"]
        application, _, number = data["position"].rpartition(":")
        try:
            if not await self.positions.reached(view, application, int(number), deadline):
                log.debug("read model %r late: pushed %s without it", view.name,
                          data["position"])
                return update
            shown = await asyncio.to_thread(read, owner_id, data)
        except DATABASE_UNAVAILABLE as error:
            log.debug("pushed %s without its read model (%s)", data["position"], error)
            return update
        return None if shown is None else {"event": update["event"], "data": shown}

    def _reading(self, update: dict
                 ) -> tuple[ReadModel, Callable[[str, dict], dict | None]] | None:
        """The read model the update is shown from and how (None: nothing to read)."""
        if update["event"] == "memory_added":
            return self.memory_items, self._memory
        if update["event"] == "context_updated" and update["data"]["change"] != "Deleted":
            return self.contexts, self._context
        return None

    def _memory(self, owner_id: str, data: dict) -> dict | None:
        row = self.memory_items.get_as_stored(owner_id, data["id"], self.clock())
        if row is None:
            return None
        return {**pushed_memory_view(row), "position": data["position"]}

    def _context(self, owner_id: str, data: dict) -> dict | None:
        row = self.contexts.get(owner_id, data["id"])
        if row is None:
            return None
        return {**context_view(row), "change": data["change"], "position": data["position"]}
