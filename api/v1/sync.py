"""`/ws/sync/{session_id}`: a session's live changes over a WebSocket, from this
process's SyncHub."""

import asyncio

from fastapi import APIRouter, WebSocket

from arqium.api.common.socket_credentials import Ending, SocketCredentials
from arqium.api.common.sockets import (
    answer_client,
    authenticate,
    send_updates,
)
from arqium.api.common.sync_hub import SyncHub, push

router = APIRouter(tags=["ARQIUM: real time"])


@router.websocket("/ws/sync/{session_id}")
async def sync(websocket: WebSocket, session_id: str):
    """Pushes `{event, data}`: `memory_added` (a memory stored with this session_id, as
    GET /api/v1/memory/{id} shows it, but a secret or pii memory's content null, plus
    `position`), `context_updated` (a context bound to it, as GET /api/v1/contexts/{id}
    shows it, plus `change` and `position`), `plugin_event` (a platform event about
    it), `error` (a message we do not understand, or updates delayed: the event stream
    is unreachable), `resumed` (updates flow again: re-read what you show, it may have
    changed meanwhile). Token in `Authorization: Bearer` or `?token=`, or an API key in
    `X-API-Key`; refused credentials close the socket with 1008 once open (the reason
    says why). The socket is closed with 4401 (the reason says why) once those
    credentials end: the token expires, its login session ends, its user is deleted or
    the API key is revoked."""
    hub: SyncHub = websocket.app.state.sync_hub
    credentials: SocketCredentials = websocket.app.state.socket_credentials
    principal = await authenticate(websocket)
    if principal is None:
        return
    await websocket.accept()
    owner_id = principal.user_id
    queue = hub.listen(owner_id, session_id)

    def credentials_ended(ending: Ending) -> None:
        hub.leave(owner_id, session_id, queue)  # nothing is queued after the ending
        push(queue, ending)

    watched = credentials.watch(principal, credentials_ended)
    reader = asyncio.create_task(answer_client(websocket, queue))
    try:
        await send_updates(websocket, queue)
    finally:
        reader.cancel()
        credentials.forget(watched)
        hub.leave(owner_id, session_id, queue)
