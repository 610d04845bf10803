"""This process's listeners to the caller's live changes (/ws/sync, GraphQL
subscriptions). Fed from the NATS stream the relay fills, not from in-process calls, so a
change written through any API process reaches listeners on every other."""

import asyncio
import json
import logging
from collections import defaultdict
from contextlib import suppress
from pathlib import Path
from typing import Any

import nats.errors
from nats.aio.client import Client as NATS
from nats.js.api import DeliverPolicy

from arqium.api.common.pushes import PushContents
from arqium.api.common.socket_credentials import ENDING_SUBJECTS, SocketCredentials
from arqium.infra.stream import (
    SUBJECT_ROOT,
    credentials_file,
    ensure_stream,
    shown_nats_url,
)

log = logging.getLogger("arqium.realtime")

# Every event: the Admin API's sockets (Console) are told of many kinds; /ws/sync routes
# the memory and platform ones, and the identity events that end credentials.
EVERY_SUBJECT = f"{SUBJECT_ROOT}.>"
ROUTED_SUBJECTS = (f"{SUBJECT_ROOT}.memory.", f"{SUBJECT_ROOT}.platform.")
MEMORY_ADDED = ("MemoryItem.Upserted", "MemoryItem.Recreated")
CONTEXT_CHANGED = ("Context.Created", "Context.Updated", "Context.Synced", "Context.Deleted")
PLUGIN_EVENTS = "ModuleStates.Module"  # installs, uninstalls, switches, settings, ratings
EVERY_SESSION = "\x00every"  # a key no session id can be (NUL is refused in paths)
QUEUE_SIZE = 1000  # a socket this far behind loses its oldest updates
STREAM_LOST = {"event": "error", "data": {
    "code": "SERVICE_UNAVAILABLE",
    "message": "lost the connection to the event stream; updates may be delayed"}}
# What changed while updates did not flow was not pushed: the listener re-reads.
RESUMED = {"event": "resumed", "data": {
    "message": "updates flow again; re-read what you show"}}
START_WAIT_SECONDS = 2.0  # for NATS at start-up, before the hub connects in the background
RETRY_SECONDS = 1.0
# With no socket open this long, the process stops receiving the stream (every event,
# parsed, cost ~5 % of the API's processor per write) until a socket opens again.
IDLE_SECONDS = 30.0
IDLE_CHECK_SECONDS = 5.0
NATS_ERRORS = (OSError, asyncio.TimeoutError, nats.errors.Error)


def push(queue: asyncio.Queue, update: dict) -> None:
    """Queue an update, dropping the oldest if the listener is that far behind."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(update)


class SyncHub:
    """This process's listeners, by (owner, session) or (owner, None) for all of an
    owner's updates, and its subscription to the stream.

    Each listener learns when updates stop flowing (STREAM_LOST: when it opens while they
    do not, or when NATS is lost) and when they flow again (RESUMED), so that it re-reads
    what changed meanwhile.

    An update carries what changed, read once its read model has it (PushContents): each
    owner's updates wait in order for their read models, in a task of the owner's own,
    so a late read model delays no other owner's updates and no update of the stream.

    With no socket open for IDLE_SECONDS, it unsubscribes (it is idle); a socket opening
    wakes it (`awake`) before its credentials are checked, so that it hears every event
    that could end them, and every update, from then on."""

    def __init__(self, nats_url: str, stream: str, contents: PushContents,
                 credentials: SocketCredentials, nats_creds: Path | None = None,
                 console: Any = None):
        self.nats_url, self.stream, self.nats_creds = nats_url, stream, nats_creds
        self.shown_url = shown_nats_url(nats_url or "")  # for logs: no password
        self.contents = contents
        self.contexts, self.memory_items = contents.contexts, contents.memory_items
        self.credentials = credentials  # told of the identity events that end sockets
        self.console = console  # the Admin API's sockets (api/common/console.py), if any
        self.listeners: dict[tuple[str, str | None], set[asyncio.Queue]] = defaultdict(set)
        # Each owner's last update on its way: the next one is pushed after it.
        self.delivering: dict[str, asyncio.Task] = {}
        self._nc = NATS()
        self._subscriptions: list[Any] = []
        self._flowing = False
        self._reconnected_since_subscribing = asyncio.Event()
        # Set as updates start to flow, cleared as an idle hub wakes: start() and the
        # sockets that wake it wait for it.
        self._flowed = asyncio.Event()
        self._keeping: asyncio.Task | None = None
        self._awake = asyncio.Event()  # whether it receives the stream (or tries to)
        self._awake.set()
        self._waking = False  # subscribing again for a socket: the next ones wait too
        self._used_at = 0.0  # when a socket last opened or was open (loop time)

    async def start(self) -> None:
        """Connect and subscribe; without NATS, keep trying in the background (the API
        serves the rest meanwhile) and let updates flow once it answers."""
        self._used_at = asyncio.get_running_loop().time()
        self._keeping = asyncio.create_task(self._keep_updates_flowing())
        flowed = asyncio.create_task(self._flowed.wait())
        done, _ = await asyncio.wait({self._keeping, flowed}, timeout=START_WAIT_SECONDS,
                                     return_when=asyncio.FIRST_COMPLETED)
        flowed.cancel()
        if self._keeping in done:
            log.warning("real-time sync is off: NATS at %s cannot be used (%s)",
                        self.shown_url, self._keeping.exception())
        elif not self._flowing:
            log.warning("real-time sync waits for NATS at %s; it connects in the "
                        "background", self.shown_url)

    async def stop(self) -> None:
        if self._keeping is None:
            return  # never started: no NATS configured
        self._keeping.cancel()
        for delivery in list(self.delivering.values()):
            delivery.cancel()
        if not self._nc.is_closed:
            await self._nc.close()

    async def _keep_updates_flowing(self) -> None:
        # nats-py retries an unreachable server for as long as reconnects are unbounded,
        # the first connection included.
        await self._nc.connect(self.nats_url, max_reconnect_attempts=-1,
                               error_cb=self._nats_error,
                               disconnected_cb=self._disconnected,
                               reconnected_cb=self._reconnected,
                               **credentials_file(self.nats_creds))
        while True:
            await self._awake.wait()
            await self._subscribe_until_done()
            if not await self._until_reconnected_or_idle():
                await self._rest()

    @property
    def receiving(self) -> bool:
        """Whether it is subscribed to the stream."""
        return bool(self._subscriptions)

    async def awake(self) -> None:
        """Called as a socket opens, before its credentials are checked: an idle hub
        subscribes again, and this waits until updates flow (at most START_WAIT_SECONDS:
        then the socket is told they are delayed, as while NATS is down)."""
        self._used_at = asyncio.get_running_loop().time()
        if self._keeping is None:
            return  # no NATS configured
        if not self._awake.is_set():
            self._waking = True
            self._flowed.clear()
            self._awake.set()
        if self._waking:  # else awake: flowing, or NATS lost (no waiting for it)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._flowed.wait(), START_WAIT_SECONDS)

    async def _until_reconnected_or_idle(self) -> bool:
        """True once NATS reconnected (to subscribe afresh), False once no socket has
        been open for IDLE_SECONDS."""
        while True:
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._reconnected_since_subscribing.wait(),
                                       IDLE_CHECK_SECONDS)
                return True
            if self._idle():
                return False

    def _idle(self) -> bool:
        now = asyncio.get_running_loop().time()
        if self.listeners or self.credentials.watched or (
                self.console is not None and self.console.users):
            self._used_at = now
        return now - self._used_at >= IDLE_SECONDS

    async def _rest(self) -> None:
        """Unsubscribe until a socket opens: no socket to tell (the Admin API's console
        is told that updates stopped, which reaches none)."""
        self._awake.clear()
        await self._unsubscribe()
        if self._flowing:
            self._flowing = False
            self._tell_every_listener(STREAM_LOST)
        log.info("real-time sync idle: no socket open for %.0f s", IDLE_SECONDS)

    async def _subscribe_until_done(self) -> None:
        """Subscribe to what the stream receives from now on, then tell the listeners
        (each one was told updates do not flow) that they flow again."""
        self._reconnected_since_subscribing.clear()
        while not await self._subscribed():
            await asyncio.sleep(RETRY_SECONDS)
        lost_meanwhile = (not self._nc.is_connected
                          or self._reconnected_since_subscribing.is_set())
        if not lost_meanwhile and not self._flowing:  # else the next round tells them
            self._flowing = True
            self._flowed.set()
            self._waking = False
            self._tell_every_listener(RESUMED)

    async def _subscribed(self) -> bool:
        try:
            await self._subscribe()
        except NATS_ERRORS as error:
            log.warning("real-time sync cannot subscribe to %s yet (%s); retrying",
                        self.stream, error)
            return False
        return True

    async def _subscribe(self) -> None:
        # Afresh: a restarted server has lost the consumers of the old subscriptions.
        await self._unsubscribe()
        js = self._nc.jetstream()
        await ensure_stream(js, self.stream)
        self._subscriptions.append(await js.subscribe(
            EVERY_SUBJECT, cb=self._received, ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW))

    async def _unsubscribe(self) -> None:
        for subscription in self._subscriptions:
            with suppress(*NATS_ERRORS):
                await subscription.unsubscribe()
        self._subscriptions = []

    def listen(self, owner_id: str, session_id: str | None) -> asyncio.Queue:
        """A queue of the owner's updates of that session (of every session: None)."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.listeners[(owner_id, session_id)].add(queue)
        if not self._flowing:
            push(queue, STREAM_LOST)
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
        if message.subject in ENDING_SUBJECTS:
            self.credentials.identity_event(envelope)
        if self.console is not None:
            self.console.received(envelope)
        if not self.listeners or not message.subject.startswith(ROUTED_SUBJECTS):
            return  # no socket to tell: not worth routing (a worker thread, maybe a query)
        routed = await asyncio.to_thread(self.route, envelope)
        if routed is None:
            return
        (owner_id, session_id), update = routed
        if self._listened(owner_id, session_id):
            self._deliver_in_order(owner_id, session_id, update)

    def _listened(self, owner_id: str, session_id: str | None) -> bool:
        return any(self.listeners.get(key) for key in self._keys(owner_id, session_id))

    def _keys(self, owner_id: str, session_id: str | None
              ) -> set[tuple[str, str | None]]:
        """Whose listeners hear an update: those of its session and the owner's own;
        every one of the owner's for an update of no session (EVERY_SESSION)."""
        if session_id == EVERY_SESSION:
            return {key for key in self.listeners if key[0] == owner_id}
        return {(owner_id, session_id), (owner_id, None)}

    def _deliver_in_order(self, owner_id: str, session_id: str | None,
                          update: dict) -> None:
        """Push the update with what changed once the owner's earlier ones are pushed,
        within the read-your-writes bound from now, however late the earlier ones were."""
        deadline = asyncio.get_running_loop().time() + self.contents.wait_seconds
        delivery = asyncio.create_task(self._deliver(
            self.delivering.get(owner_id), owner_id, session_id, update, deadline))
        self.delivering[owner_id] = delivery
        delivery.add_done_callback(lambda done: self._delivered(owner_id, done))

    async def _deliver(self, earlier: asyncio.Task | None, owner_id: str,
                       session_id: str | None, update: dict, deadline: float) -> None:
        if earlier is not None:
            await asyncio.wait({earlier})  # however it ended
        completed = await self.contents.completed(owner_id, update, deadline)
        if completed is not None:
            self._push_to(owner_id, session_id, completed)

    def _delivered(self, owner_id: str, delivery: asyncio.Task) -> None:
        if self.delivering.get(owner_id) is delivery:
            del self.delivering[owner_id]
        if not delivery.cancelled() and delivery.exception() is not None:
            log.error("an update for a socket was lost", exc_info=delivery.exception())

    def _push_to(self, owner_id: str, session_id: str | None, update: dict) -> None:
        for key in self._keys(owner_id, session_id):
            for queue in list(self.listeners.get(key, ())):
                push(queue, update)

    async def _disconnected(self) -> None:
        if self._nc.is_closed:
            return  # our own stop()
        log.warning("real-time sync lost NATS at %s; reconnecting", self.shown_url)
        if self._flowing:
            self._flowing = False
            self._tell_every_listener(STREAM_LOST)

    async def _reconnected(self) -> None:
        log.info("real-time sync reconnected to NATS at %s", self.shown_url)
        self._reconnected_since_subscribing.set()  # _keep_updates_flowing subscribes

    async def _nats_error(self, error: Exception) -> None:
        # Every failed attempt while NATS is unreachable: _disconnected said it once.
        log.debug("real-time sync: NATS error %r", error)

    def _tell_every_listener(self, update: dict) -> None:
        if self.console is not None:
            self.console.stream_changed(update is RESUMED)
        for queues in list(self.listeners.values()):
            for queue in list(queues):
                push(queue, update)

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
        if envelope["type"].startswith(PLUGIN_EVENTS):
            return plugin_event(envelope)
        if (envelope.get("application") == "platform" and data.get("owner_id")
                and data.get("session_id")):
            return (data["owner_id"], data["session_id"]), {"event": "plugin_event", "data": {
                "id": envelope["subject"], "type": envelope["type"],
                "session_id": data["session_id"], "position": envelope["id"],
                "data": data}}
        return None


def plugin_event(envelope: dict) -> tuple[tuple[str, str | None], dict] | None:
    """A module change, for every socket of the user who made it (an API key's or a
    worker's change is nobody's to be told of)."""
    kind, _, user_id = envelope.get("actor", "").partition(":")
    if kind != "user" or not user_id:
        return None
    data = envelope["data"]
    return (user_id, EVERY_SESSION), {"event": "plugin_event", "data": {
        "id": data["module_id"], "type": envelope["type"].rpartition(".")[2],
        "position": envelope["id"], "data": data}}
