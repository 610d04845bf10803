"""/ws/sync refuses credentials after the handshake: the socket opens, then closes with
1008 and a reason, never an HTTP 403 that a browser reports as a network error (issue
15, point 5)."""

import pytest
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from arqium.api.app import create_app
from arqium.api.common.sockets import close_reason
from arqium.infra.embedded import free_port
from arqium.system.bootstrap import open_system
from tests.conftest import uvicorn_serving


def test_a_refused_token_opens_the_socket_then_closes_it_with_1008_and_a_reason(client):
    with (client.websocket_connect("/ws/sync/s-1?token=not-a-token") as socket,
          pytest.raises(WebSocketDisconnect) as closed):
        socket.receive_json()
    assert closed.value.code == 1008
    assert closed.value.reason


def test_a_refused_api_key_closes_the_socket_with_1008(client):
    with (client.websocket_connect("/ws/sync/s-1", headers={"X-API-Key": "ak_unknown"})
          as socket, pytest.raises(WebSocketDisconnect) as closed):
        socket.receive_json()
    assert closed.value.code == 1008


@pytest.fixture
def served(settings, clock):
    """The API on a real port (uvicorn), as a browser reaches it."""
    settings.port = free_port()
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with uvicorn_serving(app, settings.port) as address:
        yield f"ws://{address}"


def test_a_real_server_answers_a_refused_token_with_a_1008_close_not_a_403(served):
    with (ws_connect(f"{served}/ws/sync/s-1?token=not-a-token") as socket,
          pytest.raises(ConnectionClosed) as closed):
        socket.recv(timeout=10)
    assert (closed.value.rcvd.code, bool(closed.value.rcvd.reason)) == (1008, True)


def test_a_long_refusal_reason_is_cut_to_whole_characters_a_close_frame_holds():
    assert close_reason("é" * 100) == "é" * 61  # 122 bytes: a 62nd would make 124
