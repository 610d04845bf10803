"""What the push-only WebSockets (/ws/sync, the Admin API's /api/ws) share: how a socket
authenticates, answers what a client sends, and closes."""

import asyncio
import json
from collections.abc import Callable

from fastapi import WebSocket, WebSocketDisconnect

from arqium.api.common.caller import bearer_principal
from arqium.api.common.socket_credentials import Ending
from arqium.api.common.sync_hub import push
from arqium.api.principals import api_key_principal
from arqium.domain.shared import DomainError
from arqium.infra.security import Principal

CLOSED = {"event": "closed"}  # the client went away: stop pushing (never sent)
# Whatever ended the credentials, the client must authenticate again: one code for all,
# the reason says which.
CREDENTIALS_ENDED = 4401
MAX_REASON_BYTES = 123  # RFC 6455: a close frame's payload is 125 bytes, 2 for the code


async def send_updates(websocket: WebSocket, queue: asyncio.Queue) -> None:
    """Sends the queue's updates until the client leaves, or its credentials end (the
    socket is closed saying why)."""
    try:
        while (update := await queue.get()) is not CLOSED:
            if isinstance(update, Ending):
                await websocket.close(code=CREDENTIALS_ENDED, reason=update.reason)
                return
            await websocket.send_json(update)
    except WebSocketDisconnect:
        pass


async def answer_client(websocket: WebSocket, queue: asyncio.Queue,
                        error: Callable[[str | bytes], dict] | None = None) -> None:
    """The socket only pushes: whatever the client sends is answered with an `error`
    (through the queue, so one task writes); its close ends the push."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            push(queue, CLOSED)
            return
        push(queue, (error or client_error)(
            message.get("text") or message.get("bytes") or ""))


def client_error(sent: str | bytes) -> dict:
    try:
        json.loads(sent)
    except ValueError:
        message = "that message is not valid JSON; this socket only pushes updates"
    else:
        message = "unknown message; this socket only pushes updates"
    return {"event": "error", "data": {"code": "VALIDATION_ERROR", "message": message}}


async def authenticate(websocket: WebSocket) -> Principal | None:
    """Who the caller is; refused credentials close the socket (policy violation). An
    idle sync hub subscribes first: every event that could end them is heard."""
    await websocket.app.state.sync_hub.awake()
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
