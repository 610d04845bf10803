"""What the Admin API's WebSocket (/api/ws) pushes, seed 003 §5: SystemEvents to admins
(`status_update`, `notification`, `error`) and UserEvents to each user (`activity`,
`session`, `preference`).

The events arrive from the NATS stream through this process's SyncHub, so a change
written through any API process reaches the sockets of every one; each push carries what
the read model holds once it applied the event (the stream carries no personal data).
The status and the workers' failures are read here once a second while an admin listens."""

import asyncio
import logging
import re
from collections import defaultdict
from typing import Any
from uuid import UUID

from arqium.api.common.pushes import ReadModelPositions
from arqium.api.common.shapes import activity_view
from arqium.api.common.sync_hub import push
from arqium.api.common.system_status import StatusReport
from arqium.api.errors import DATABASE_UNAVAILABLE
from arqium.domain.identity.application import IDLE_TIMEOUT
from arqium.infra.security import Principal
from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.system.bootstrap import System

log = logging.getLogger("arqium.realtime")

TICK_SECONDS = 1.0  # status_update at most once a second
QUEUE_SIZE = 1000
# How an admin is told of each platform change (the `Started` events create nothing).
NOTIFIED = {"ConfigUpdated": "info", "ProfileCreated": "info", "ProfileUpdated": "info",
            "ProfileDeleted": "info", "ModuleInstalled": "success",
            "ModuleEnabled": "success", "ModuleSettingsChanged": "info",
            "ModuleUninstalled": "warning", "ModuleDisabled": "warning",
            "ModuleRated": "info"}
# Told every socket (what it is pushed depends on the stream): updates stopped, then flow
# again (re-read what you show: what changed meanwhile was not pushed).
STREAM_LOST = {"type": "error", "data": {"error": {
    "code": "SERVICE_UNAVAILABLE",
    "message": "lost the connection to the event stream; updates may be delayed"}}}
RESUMED = {"type": "notification", "data": {"notification": {
    "type": "info", "message": "updates flow again; re-read what you show"}}}
ACTIVITY_BY_APPLICATION = {projection.application.name: projection
                           for projection in ACTIVITY_PROJECTIONS}


def activity_types(projection: type) -> set[str]:
    """The event types an activity projection handles (the others log nothing)."""
    registry = projection.__dict__["apply"].dispatcher.registry
    return {event_class.__qualname__ for event_class in registry if event_class is not object}


LOGGED = {name: activity_types(projection) for name, projection in
          ACTIVITY_BY_APPLICATION.items()}


def stream_position(envelope: dict) -> tuple[str, int]:
    """The application that stored a streamed event, and its position there (its id is
    `<application>:<position>`)."""
    application, _, number = envelope["id"].rpartition(":")
    return application, int(number)


def notification(envelope: dict) -> dict | None:
    """The SystemEvent an admin is pushed for a platform event (None: none)."""
    event_name = envelope["type"].rpartition(".")[2]
    if event_name not in NOTIFIED:
        return None
    data = envelope["data"]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", event_name).lower()
    subject = data.get("module_id")
    message = f"{words}: {subject}" if subject else words
    return {"type": "notification", "data": {"notification": {
        "type": NOTIFIED[event_name], "message": message[0].upper() + message[1:],
        "action": {"type": envelope["type"], "payload": {
            "id": envelope["subject"], "position": envelope["id"], **data}}}}}


def worker_error(failure: Any) -> dict:
    where = f" at event {failure.position}" if failure.position is not None else ""
    return {"type": "error", "data": {"error": {
        "code": "SYSTEM_ERROR",
        "message": f"worker {failure.worker} of {failure.application} is failing{where}",
        "details": {"worker": failure.worker, "application": failure.application,
                    "position": failure.position, "error": failure.error,
                    "attempts": failure.attempts}}}}


class Console:
    """This process's /api/ws sockets: admins' and each user's queues."""

    def __init__(self, system: System, report: StatusReport, wait_seconds: float):
        self.system, self.report, self.wait_seconds = system, report, wait_seconds
        self.positions = ReadModelPositions()
        self.admins: set[asyncio.Queue] = set()
        self.users: dict[str, set[asyncio.Queue]] = defaultdict(set)
        # Each application's last event on its way: the next one is pushed after it.
        self.chains: dict[str, asyncio.Task] = {}
        self.last_status: dict | None = None
        self.failures: set[tuple[str, str]] | None = None  # those already told of
        self._ticking: asyncio.Task | None = None
        self.flowing = False  # whether the stream's events reach this process (SyncHub)

    def stream_changed(self, flowing: bool) -> None:
        """Told by the SyncHub when the stream's events stop or flow again."""
        self.flowing = flowing
        for queues in list(self.users.values()):
            for queue in list(queues):
                push(queue, RESUMED if flowing else STREAM_LOST)

    async def join(self, principal: Principal) -> asyncio.Queue:
        """A queue of what the principal's socket is pushed; an admin's starts with the
        current status (a change meanwhile may come first)."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.users[principal.user_id].add(queue)
        if not self.flowing:
            push(queue, STREAM_LOST)
        if principal.is_admin:
            self.admins.add(queue)  # before reading: nothing from now on is missed
            if self.failures is None:  # failures from now on are pushed
                self.failures = set(await asyncio.to_thread(
                    self.system.worker_failures.failures))
            status, _ = await asyncio.to_thread(self.report.current)
            push(queue, {"type": "status_update", "data": {"status": status}})
            if self._ticking is None:
                self.last_status = status
                self._ticking = asyncio.create_task(self._tick())
        return queue

    def leave(self, principal: Principal, queue: asyncio.Queue) -> None:
        self.admins.discard(queue)
        queues = self.users.get(principal.user_id, set())
        queues.discard(queue)
        if not queues:
            self.users.pop(principal.user_id, None)

    async def stop(self) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
        for chain in list(self.chains.values()):
            chain.cancel()

    def received(self, envelope: dict) -> None:
        """An event from the stream: pushed, in its application's order, to whom it
        concerns."""
        if not self.users:
            return
        application = envelope.get("application") or envelope["id"].partition(":")[0]
        earlier = self.chains.get(application)
        chain = asyncio.create_task(self._deliver(earlier, envelope))
        self.chains[application] = chain
        chain.add_done_callback(lambda done: self._delivered(application, done))

    def _delivered(self, application: str, chain: asyncio.Task) -> None:
        if self.chains.get(application) is chain:
            del self.chains[application]
        if not chain.cancelled() and chain.exception() is not None:
            log.error("an update for an admin socket was lost", exc_info=chain.exception())

    async def _deliver(self, earlier: asyncio.Task | None, envelope: dict) -> None:
        if earlier is not None:
            await asyncio.wait({earlier})  # however it ended
        deadline = asyncio.get_running_loop().time() + self.wait_seconds
        try:
            # The admins' notification reads no read model: it goes before the updates
            # that wait for one (a late activity read model would hold it back).
            self._push_all(self._told(envelope))
            self._push_all(await self._updates(envelope, deadline))
        except DATABASE_UNAVAILABLE as error:
            log.warning("an update for an admin socket was lost (%s)", error)

    def _push_all(self, updates: list[tuple[str | None, dict]]) -> None:
        for user_id, update in updates:
            for queue in self.admins if user_id is None else self.users.get(user_id, ()):
                push(queue, update)

    def _told(self, envelope: dict) -> list[tuple[str | None, dict]]:
        """The admins' notification of a platform event, if there is one."""
        if stream_position(envelope)[0] == "platform" and self.admins:
            if (told := notification(envelope)) is not None:
                return [(None, told)]
        return []

    async def _updates(self, envelope: dict, deadline: float
                       ) -> list[tuple[str | None, dict]]:
        """(to whom: a user id, None for the admins; what) for one event, but the
        admins' notification (`_told`)."""
        updates: list[tuple[str | None, dict]] = []
        application, number = stream_position(envelope)
        if envelope["type"] in LOGGED.get(application, ()) and self._may_concern(envelope):
            row = await self._activity(application, envelope["id"], number, deadline)
            if row is not None and row["user_id"] in self.users:
                updates.append((row["user_id"], {
                    "type": "activity", "data": {"activity": activity_view(row)}}))
        if envelope["type"] in ("LoginSession.Started", "LoginSession.Ended"):
            updates += await self._session(envelope, number, deadline)
        if envelope["type"] == "User.ProfileUpdated" and envelope["subject"] in self.users:
            updates += await asyncio.to_thread(self._preferences, envelope)
        return updates

    def _may_concern(self, envelope: dict) -> bool:
        """Whether the event may be a listening user's activity: an event naming its
        owner is read only for a listening owner (most memory events)."""
        owner = envelope["data"].get("owner_id") or envelope["data"].get("user_id")
        return owner is None or owner in self.users

    async def _activity(self, application: str, row_id: str, position: int,
                        deadline: float) -> dict | None:
        view = self.system.read_models.of(ACTIVITY_BY_APPLICATION[application])
        if not await self.positions.reached(view, application, position, deadline):
            log.debug("activity of %s late: not pushed", row_id)
            return None
        return await asyncio.to_thread(view.entry, row_id)

    async def _session(self, envelope: dict, position: int, deadline: float
                       ) -> list[tuple[str, dict]]:
        data = envelope["data"]
        user_id = data.get("user_id")
        if user_id is None:  # an ending names its session only: the read model its user
            view = self.system.read_models.login_sessions
            if await self.positions.reached(view, "identity", position, deadline):
                row = await asyncio.to_thread(view.session, envelope["subject"])
                user_id = row and row["user_id"]
        if user_id not in self.users:
            return []
        action = ("start" if envelope["type"] == "LoginSession.Started"
                  else "timeout" if data.get("reason") == IDLE_TIMEOUT else "end")
        return [(user_id, {"type": "session", "data": {"session": {
            "id": envelope["subject"], "action": action}}})]

    def _preferences(self, envelope: dict) -> list[tuple[str, dict]]:
        """One `preference` per key the change set, changed or removed (value null),
        from the user's events (the stream withholds preferences)."""
        user_id, version = envelope["subject"], envelope["originator_version"]
        repository = self.system.identity.repository
        after = repository.get(UUID(user_id), version=version).preferences
        before = repository.get(UUID(user_id), version=version - 1).preferences
        return [(user_id, {"type": "preference", "data": {"preference": {
                    "key": key, "value": after.get(key)}}})
                for key in sorted(before.keys() | after.keys())
                if before.get(key) != after.get(key)]

    async def _tick(self) -> None:
        """While admins listen: the status when it changed, each new worker failure."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if not self.admins:
                continue
            try:
                await self._tell_admins()
            except DATABASE_UNAVAILABLE as error:
                log.warning("cannot read the status for admin sockets (%s)", error)

    async def _tell_admins(self) -> None:
        failures = await asyncio.to_thread(self.system.worker_failures.failures)
        for key, failure in failures.items():
            if key not in (self.failures or set()):
                self._to_admins(worker_error(failure))
        self.failures = set(failures)
        status, _ = await asyncio.to_thread(self.report.current)
        if status != self.last_status:
            self.last_status = status
            self._to_admins({"type": "status_update", "data": {"status": status}})

    def _to_admins(self, update: dict) -> None:
        for queue in list(self.admins):
            push(queue, update)
