"""This process's listeners to the caller's live changes (/ws/sync, GraphQL
subscriptions). Fed from the NATS stream the relay fills, not from in-process calls, so a
change written through any API process reaches listeners on every other."""

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from arqium.infra.stream import SUBJECT_ROOT, ensure_stream

log = logging.getLogger("arqium.realtime")

MEMORY_SUBJECTS = f"{SUBJECT_ROOT}.memory.>"
PLATFORM_SUBJECTS = f"{SUBJECT_ROOT}.platform.>"
MEMORY_ADDED = ("MemoryItem.Upserted", "MemoryItem.Recreated")
CONTEXT_CHANGED = ("Context.Created", "Context.Updated", "Context.Synced", "Context.Deleted")
QUEUE_SIZE = 1000  # a socket this far behind loses its oldest updates
STREAM_LOST = {"event": "error", "data": {
    "code": "SERVICE_UNAVAILABLE",
    "message": "lost the connection to the event stream; updates may be delayed"}}


def push(queue: asyncio.Queue, update: dict) -> None:
    """Queue an update, dropping the oldest if the listener is that far behind."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(update)


class SyncHub:
    """This process's listeners, by (owner, session) or (owner, None) for all of an
    owner's updates, and its subscription to the stream."""

    def __init__(self, nats_url: str, stream: str, contexts: Any, memory_items: Any):
        self.nats_url, self.stream = nats_url, stream
        self.contexts, self.memory_items = contexts, memory_items
        self.listeners: dict[tuple[str, str | None], set[asyncio.Queue]] = defaultdict(set)
        self._nc: Any = None

    async def start(self) -> None:
        """Subscribe to what the stream receives from now on."""
        self._nc = await nats.connect(self.nats_url, max_reconnect_attempts=-1,
                                      disconnected_cb=self._disconnected,
                                      reconnected_cb=self._reconnected)
        js = self._nc.jetstream()
        await ensure_stream(js, self.stream)
        for subjects in (MEMORY_SUBJECTS, PLATFORM_SUBJECTS):
            await js.subscribe(subjects, cb=self._received, ordered_consumer=True,
                               deliver_policy=DeliverPolicy.NEW)

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def listen(self, owner_id: str, session_id: str | None) -> asyncio.Queue:
        """A queue of the owner's updates of that session (of every session: None)."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.listeners[(owner_id, session_id)].add(queue)
        return queue

    def leave(self, owner_id: str, session_id: str | None, queue: asyncio.Queue) -> None:
        queues = self.listeners.get((owner_id, session_id), set())
        queues.discard(queue)
        if not queues:
            self.listeners.pop((owner_id, session_id), None)

    async def _received(self, message: Any) -> None:
        try:
            envelope = json.loads(message.data)
        except ValueError:
            log.warning("ignored a message on %s that is not JSON", message.subject)
            return
        routed = await asyncio.to_thread(self.route, envelope)
        if routed is None:
            return
        (owner_id, session_id), update = routed
        for key in {(owner_id, session_id), (owner_id, None)}:
            for queue in list(self.listeners.get(key, ())):
                push(queue, update)

    async def _disconnected(self) -> None:
        if self._nc.is_closed:
            return  # our own stop()
        log.warning("real-time sync lost NATS at %s; reconnecting", self.nats_url)
        for queues in list(self.listeners.values()):
            for queue in list(queues):
                push(queue, STREAM_LOST)

    async def _reconnected(self) -> None:
        log.info("real-time sync reconnected to NATS at %s", self.nats_url)

    def route(self, envelope: dict) -> tuple[tuple[str, str | None], dict] | None:
        """Whose (session's) update an event is, and what its listeners are told."""
        data = envelope["data"]
        if envelope["type"] in MEMORY_ADDED:
            # A Recreated event names neither owner nor key: its earlier life's row does.
            owned = data if "owner_id" in data else self.memory_items.owner_of(
                envelope["subject"])
            if owned:
                session_id = data.get("session_id") or None
                return (owned["owner_id"], session_id), {"event": "memory_added", "data": {
                    "id": envelope["subject"], "key": owned.get("key"),
                    "layer": data.get("layer"), "session_id": session_id,
                    "position": envelope["id"]}}
        if envelope["type"] in CONTEXT_CHANGED:
            bound = data if "owner_id" in data else self.contexts.binding(envelope["subject"])
            if bound:
                session_id = bound.get("session_id") or None
                return (bound["owner_id"], session_id), {
                    "event": "context_updated", "data": {
                        "id": envelope["subject"], "change": envelope["type"].split(".")[1],
                        "version": envelope["originator_version"],
                        "session_id": session_id, "position": envelope["id"]}}
        if (envelope.get("application") == "platform" and data.get("owner_id")
                and data.get("session_id")):
            return (data["owner_id"], data["session_id"]), {"event": "plugin_event", "data": {
                "id": envelope["subject"], "type": envelope["type"],
                "session_id": data["session_id"], "position": envelope["id"],
                "data": data}}
        return None
