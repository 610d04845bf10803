"""What the real-time tests share: a NATS server of each test's own, and reading a
socket without ever hanging."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from arqium.api.common import sync_hub
from arqium.infra.embedded import EmbeddedNats, free_port

WAIT_SECONDS = 20


@pytest.fixture
def quickly_idle(monkeypatch):
    """An API process with no socket open stops receiving the stream within a fraction
    of a second (IDLE_SECONDS, 30 s otherwise). Asked for before the app starts."""
    monkeypatch.setattr(sync_hub, "IDLE_SECONDS", 0.2)
    monkeypatch.setattr(sync_hub, "IDLE_CHECK_SECONDS", 0.05)


@pytest.fixture
def own_nats(tmp_path, settings):
    """A NATS server of this test's own: the relay's message ids restart with each test's
    database, and JetStream would drop them as duplicates of an earlier test's."""
    server = EmbeddedNats(tmp_path, port=free_port())
    settings.nats_url = server.start()
    yield server
    server.stop()


def next_message(socket) -> dict:
    """The socket's next JSON message, or a failure after WAIT_SECONDS (never a hang)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(socket.receive_json).result(timeout=WAIT_SECONDS)
    except TimeoutError:
        socket.close()
        pytest.fail(f"nothing arrived on the socket within {WAIT_SECONDS} s")
    finally:
        pool.shutdown(wait=False)
