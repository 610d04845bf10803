"""`/ws/sync/{session_id}`: a session's live changes over a WebSocket. Fed from the NATS
stream the relay fills, not from in-process calls, so a change written through any API
process reaches sockets on every other."""

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any

import nats
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from nats.js.api import DeliverPolicy

from api.deps import bearer_principal
from domain.shared import DomainError
from workers.relay import SUBJECT_ROOT, ensure_stream

log = logging.getLogger("arqium.realtime")

router = APIRouter(tags=["ARQIUM: real time"])
MEMORY_SUBJECTS = f"{SUBJECT_ROOT}.memory.>"
MEMORY_ADDED = ("MemoryItem.Upserted", "MemoryItem.Recreated")
CONTEXT_CHANGED = ("Context.Created", "Context.Updated", "Context.Synced", "Context.Deleted")
QUEUE_SIZE = 1000  # a socket this far behind loses its oldest updates


class SyncHub:
    """This process's sockets, by (owner, session), and its subscription to the stream."""

    def __init__(self, nats_url: str, stream: str, contexts: Any):
        self.nats_url, self.stream, self.contexts = nats_url, stream, contexts
        self.listeners: dict[tuple[str, str], set[asyncio.Queue]] = defaultdict(set)
        self._nc: Any = None

    async def start(self) -> None:
        """Subscribe to what the stream receives from now on."""
        self._nc = await nats.connect(self.nats_url, max_reconnect_attempts=-1)
        js = self._nc.jetstream()
        await ensure_stream(js, self.stream)
        await js.subscribe(MEMORY_SUBJECTS, cb=self._received, ordered_consumer=True,
                           deliver_policy=DeliverPolicy.NEW)

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()

    def listen(self, owner_id: str, session_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self.listeners[(owner_id, session_id)].add(queue)
        return queue

    def leave(self, owner_id: str, session_id: str, queue: asyncio.Queue) -> None:
        self.listeners[(owner_id, session_id)].discard(queue)

    async def _received(self, message: Any) -> None:
        routed = await asyncio.to_thread(self.route, json.loads(message.data))
        if routed is None:
            return
        (owner_id, session_id), update = routed
        for queue in list(self.listeners.get((owner_id, session_id), ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)

    def route(self, envelope: dict) -> tuple[tuple[str, str], dict] | None:
        """Whose session an event belongs to, and what its sockets are told."""
        data = envelope["data"]
        if envelope["type"] in MEMORY_ADDED and data.get("session_id"):
            return (data["owner_id"], data["session_id"]), {"event": "memory_added", "data": {
                "id": envelope["subject"], "key": data.get("key"), "layer": data.get("layer"),
                "position": envelope["id"]}}
        if envelope["type"] in CONTEXT_CHANGED:
            bound = data if "owner_id" in data else self.contexts.binding(envelope["subject"])
            if bound and bound.get("session_id"):
                return (bound["owner_id"], bound["session_id"]), {
                    "event": "context_updated", "data": {
                        "id": envelope["subject"], "change": envelope["type"].split(".")[1],
                        "version": envelope["originator_version"],
                        "position": envelope["id"]}}
        return None


@router.websocket("/ws/sync/{session_id}")
async def sync(websocket: WebSocket, session_id: str):
    """Pushes `{event, data}`: `memory_added` (a memory stored with this session_id),
    `context_updated` (a context bound to it), `error`. Token in `Authorization: Bearer`
    or `?token=`."""
    hub: SyncHub = websocket.app.state.sync_hub
    owner_id = await authenticate(websocket)
    if owner_id is None:
        return
    await websocket.accept()
    queue = hub.listen(owner_id, session_id)
    try:
        while True:
            await websocket.send_json(await queue.get())
    except WebSocketDisconnect:
        pass
    finally:
        hub.leave(owner_id, session_id, queue)


async def authenticate(websocket: WebSocket) -> str | None:
    """The caller's user id; a refused token closes the socket (policy violation)."""
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else websocket.query_params.get(
        "token", "")
    system = websocket.app.state.system
    try:
        principal = await asyncio.to_thread(bearer_principal, websocket, system, token)
    except DomainError as error:
        await websocket.close(code=1008, reason=error.message[:120])
        return None
    return principal.user_id
