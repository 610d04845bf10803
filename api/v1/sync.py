"""`/ws/sync/{session_id}`: a session's live changes over a WebSocket, from this
process's SyncHub."""

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from arqium.api.common.caller import bearer_principal
from arqium.api.common.socket_credentials import Ending, SocketCredentials
from arqium.api.common.sync_hub import SyncHub, push
from arqium.api.principals import api_key_principal
from arqium.domain.shared import DomainError
from arqium.infra.security import Principal

router = APIRouter(tags=["ARQIUM: real time"])
CLOSED = {"event": "closed"}  # the client went away: stop pushing (never sent)
# Whatever ended the credentials, the client must authenticate again: one code for all,
# the reason says which.
CREDENTIALS_ENDED = 4401
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's payload is 125 bytes, 2 for the code


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
        while (update := await queue.get()) is not CLOSED:
            if isinstance(update, Ending):
                await websocket.close(code=CREDENTIALS_ENDED, reason=update.reason)
                break
            await websocket.send_json(update)
    except WebSocketDisconnect:
        pass
    finally:
        reader.cancel()
        credentials.forget(watched)
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


async def authenticate(websocket: WebSocket) -> Principal | None:
    """Who the caller is; refused credentials close the socket (policy violation)."""
    try:
        return await asyncio.to_thread(socket_principal, websocket)
    except DomainError as error:
        # Accepted first: closed during the handshake, the socket would be an HTTP 403,
        # which browsers report as a network error, without code or reason.
        await websocket.accept()
        await websocket.close(code=1008, reason=close_reason(error.message))
        return None


def close_reason(message: str) -> str:
    """The message, cut to the 123 bytes a close frame's reason holds."""
    return message.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


def socket_principal(websocket: WebSocket) -> Principal:
    system = websocket.app.state.system
    if api_key := websocket.headers.get("x-api-key"):
        return api_key_principal(system, api_key)
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else websocket.query_params.get(
        "token", "")
    return bearer_principal(websocket, system, token)
