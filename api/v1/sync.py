"""`/ws/sync/{session_id}`: a session's live changes over a WebSocket, from this
process's SyncHub."""

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from arqium.api.common.caller import bearer_principal
from arqium.api.common.sync_hub import SyncHub, push
from arqium.domain.shared import DomainError

router = APIRouter(tags=["ARQIUM: real time"])
CLOSED = {"event": "closed"}  # the client went away: stop pushing (never sent)


@router.websocket("/ws/sync/{session_id}")
async def sync(websocket: WebSocket, session_id: str):
    """Pushes `{event, data}`: `memory_added` (a memory stored with this session_id),
    `context_updated` (a context bound to it), `plugin_event` (a platform event about
    it), `error` (a message we do not understand, or updates delayed: the event stream
    is unreachable), `resumed` (updates flow again: re-read what you show, it may have
    changed meanwhile). Token in `Authorization: Bearer` or `?token=`."""
    hub: SyncHub = websocket.app.state.sync_hub
    owner_id = await authenticate(websocket)
    if owner_id is None:
        return
    await websocket.accept()
    queue = hub.listen(owner_id, session_id)
    reader = asyncio.create_task(answer_client(websocket, queue))
    try:
        while (update := await queue.get()) is not CLOSED:
            await websocket.send_json(update)
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        hub.leave(owner_id, session_id, queue)


async def answer_client(websocket: WebSocket, queue: asyncio.Queue) -> None:
    """The socket only pushes: whatever the client sends is answered with an `error`
    (through the queue, so one task writes); its close ends the push."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            push(queue, CLOSED)
            return
        push(queue, client_error(message.get("text") or message.get("bytes") or ""))


def client_error(sent: str | bytes) -> dict:
    try:
        json.loads(sent)
    except ValueError:
        message = "that message is not valid JSON; this socket only pushes updates"
    else:
        message = "unknown message; this socket only pushes updates"
    return {"event": "error", "data": {"code": "VALIDATION_ERROR", "message": message}}


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
