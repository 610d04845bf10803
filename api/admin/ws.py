"""Admin API face (seed 003 §5): `/api/ws`, the SystemEvents and UserEvents of the
Admin console over a WebSocket (the seed names no path)."""

import asyncio

from fastapi import APIRouter, WebSocket

from arqium.api.common.console import Console
from arqium.api.common.socket_credentials import Ending, SocketCredentials
from arqium.api.common.sockets import (
    answer_client,
    authenticate,
    client_error,
    send_updates,
)
from arqium.api.common.sync_hub import push

router = APIRouter(tags=["Admin API"])


def admin_client_error(sent: str | bytes) -> dict:
    """What a client sending to the push-only socket is told, as a SystemEvent."""
    return {"type": "error", "data": {"error": client_error(sent)["data"]}}


@router.websocket("/api/ws")
async def console_socket(websocket: WebSocket):
    """Pushes `{type, data}`. To an admin, SystemEvents: `status_update` (`data.status`:
    the SystemStatus of GET /api/status, first at once, then whenever it changes, at
    most once a second), `notification` (`data.notification`: a configuration, profile
    or module change, its `action` the event's type and payload), `error`
    (`data.error`: a worker started failing, code SYSTEM_ERROR). To every user, their
    own UserEvents: `activity` (`data.activity`: an ActivityLog row as it is recorded),
    `session` (`data.session`: `{id, action}` when one of their login sessions starts,
    ends or times out), `preference` (`data.preference`: `{key, value}` per preference
    their profile change set; value null: removed). Credentials as /ws/sync: token in
    `Authorization: Bearer` or `?token=`, or `X-API-Key`; refused ones close the socket
    with 1008 (the reason says why); it closes with 4401 once they end (token expired,
    session ended, user deleted, key revoked). Every socket is told when the event
    stream is lost (`error` SERVICE_UNAVAILABLE) and when updates flow again (an `info`
    `notification`: re-read what you show)."""
    console: Console = websocket.app.state.console
    credentials: SocketCredentials = websocket.app.state.socket_credentials
    principal = await authenticate(websocket)
    if principal is None:
        return
    # Joined before the socket opens: whatever happens once the client sees it open
    # reaches it (an admin's first status included).
    queue = await console.join(principal)
    try:
        await websocket.accept()
    except BaseException:
        console.leave(principal, queue)
        raise

    def credentials_ended(ending: Ending) -> None:
        console.leave(principal, queue)  # nothing is queued after the ending
        push(queue, ending)

    watched = credentials.watch(principal, credentials_ended)
    reader = asyncio.create_task(answer_client(websocket, queue, admin_client_error))
    try:
        await send_updates(websocket, queue)
    finally:
        reader.cancel()
        credentials.forget(watched)
        console.leave(principal, queue)
