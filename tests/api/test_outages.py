"""A PostgreSQL outage, through HTTP against a real API process on a PostgreSQL of this
module's own, stopped and started again: every face answers 503 in its shape at once,
health says which dependency is down, a read-only database refuses writes only, and the
API heals by itself (issue 13, point 4)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from arqium.api.app import create_app
from arqium.api.errors import DATABASE_DOWN
from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from arqium.infra.settings import Settings
from arqium.system.bootstrap import migrate
from tests.conftest import (
    JWT_SECRET,
    TEST_SCALE,
    eventually,
    postgres_safe_directory,
    uvicorn_serving,
)

# Clients give up after these: what the contract promises (3 s, health 1 s), with room.
CLIENT_TIMEOUT = 5.0
HEALTH_TIMEOUT = 2.0
RECOVERY_SECONDS = 5.0  # after PostgreSQL accepts connections again, whatever the outage
HEAL_SECONDS = 15.0  # how long a test waits for the API to heal before it gives up


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    with postgres_safe_directory() as home:
        server = EmbeddedPostgres(home)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def api_url(postgres, tmp_path_factory) -> Iterator[str]:
    """`arqium serve` in a thread of this process, on the module's own PostgreSQL."""
    root = tmp_path_factory.mktemp("outages")
    nats = EmbeddedNats(root, port=free_port())
    settings = Settings(database_url=postgres.url("arqium"), nats_url=nats.start(),
                        jwt_secret=JWT_SECRET, data_dir=root / "data", port=free_port(),
                        rate_limits="off", **TEST_SCALE)
    migrate(settings)
    try:
        with uvicorn_serving(create_app(settings), settings.port) as address:
            yield f"http://{address}"
    finally:
        nats.stop()


@pytest.fixture(scope="module")
def http(api_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def auth(http) -> dict:
    registered = http.post("/api/v1/auth/register", json={
        "email": "ada@example.com", "password": "correct horse", "name": "Ada"})
    assert registered.status_code == 201, registered.text
    return {"Authorization": f"Bearer {registered.json()['data']['access_token']}"}


@pytest.fixture
def outage(postgres, http, auth) -> Iterator[None]:
    """PostgreSQL stopped for the test (started again after it, and the API healed)."""
    postgres.halt()
    try:
        yield
    finally:
        postgres.resume()
        wait_for_a_write(http, auth)


def wait_for_a_write(http: httpx.Client, auth: dict, seconds: float = HEAL_SECONDS,
                     path: str = "/api/v1/memory/store", body: dict | None = None
                     ) -> httpx.Response:
    """The first write that succeeds, tried every 0.1 s (else the last answer): pooled
    sessions begun while the database was read-only may refuse one more write each."""
    deadline = time.monotonic() + seconds
    while True:
        response = http.post(path, headers=auth,
                             json=body or {"key": "after", "content": "the outage"})
        if response.status_code in (200, 201) or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


FACES = {
    "arqium": ("GET", "/api/v1/memory/recent", None,
               lambda body: body["error"]["code"] == "SERVICE_UNAVAILABLE"),
    "cerebro": ("POST", "/api/memory/upsert", {"key": "k", "content": "c"},
                lambda body: body["error"] == "service_unavailable"),
    "memory-v0": ("GET", "/v0/users/ada/vaults", None,
                  lambda body: body["code"] == "SERVICE_UNAVAILABLE"),
    "admin": ("GET", "/api/auth/sessions", None,
              lambda body: body["error"]["code"] == "SYSTEM_ERROR" and body["status"] == 503),
    "astralbody": ("GET", "/sessions", None,
                   lambda body: body["error"]["code"] == "service_unavailable"),
}


@pytest.mark.parametrize("face", FACES)
def test_a_request_during_an_outage_answers_503_in_the_faces_shape(http, auth, outage,
                                                                    face):
    method, path, body, in_shape = FACES[face]
    response = http.request(method, path, json=body, headers=auth)
    assert response.status_code == 503
    assert in_shape(response.json())
    assert response.headers["Retry-After"] == "1"


def test_a_graphql_request_during_an_outage_is_a_service_unavailable_error(http, auth,
                                                                           outage):
    response = http.post("/graphql", headers=auth,
                         json={"query": "{ sessions { items { id } } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["Retry-After"] == "1"


def test_a_command_with_an_idempotency_key_during_an_outage_answers_503(http, auth, outage):
    response = http.post("/api/v1/memory/store", json={"key": "k", "content": "c"},
                         headers={**auth, "Idempotency-Key": "during-the-outage"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_a_login_during_an_outage_answers_503(http, outage):
    response = http.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 503


def test_health_during_an_outage_is_unhealthy_naming_postgres(http, outage):
    response = http.get("/api/v1/health", timeout=HEALTH_TIMEOUT)
    assert response.status_code == 503
    body = response.json()
    assert body["data"]["status"] == "unhealthy"
    assert body["data"]["checks"]["postgres"]["status"] == "down"
    assert "postgres" in body["error"]["message"]


@pytest.mark.parametrize("path", ["/v0/health", "/health"])
def test_the_other_faces_health_during_an_outage_is_unhealthy(http, outage, path):
    response = http.get(path, timeout=HEALTH_TIMEOUT)
    assert (response.status_code, response.json()["status"]) == (503, "unhealthy")


def test_writes_succeed_again_soon_after_a_long_outage(http, auth, postgres):
    with stopped(postgres):
        # 20 s of requests: psycopg's pool, left to itself, would try to reconnect only
        # 30 s after the outage began (it doubles its pause after each failed attempt).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert http.get("/api/v1/memory/recent", headers=auth).status_code == 503
            time.sleep(0.25)
    assert wait_for_a_write(http, auth, RECOVERY_SECONDS).status_code == 201
    assert http.get("/api/v1/health").json()["data"]["checks"]["postgres"]["status"] == "up"


@contextmanager
def stopped(postgres: EmbeddedPostgres) -> Iterator[None]:
    postgres.halt()
    try:
        yield
    finally:
        postgres.resume()


@contextmanager
def read_only(postgres: EmbeddedPostgres, how: str) -> Iterator[None]:
    """The database read-only: for every session after a reload (ALTER SYSTEM), or for
    the sessions that begin afterwards (ALTER DATABASE; the API's are ended, as a
    failover ends them). Writable again afterwards, the API's sessions untouched."""
    with psycopg.connect(make_conninfo(postgres.url("postgres")), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")  # this session writes
        if how == "system":
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            conn.execute("SELECT pg_reload_conf()")
            reloaded(postgres, "on")
        else:
            conn.execute("ALTER DATABASE arqium SET default_transaction_read_only = on")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = 'arqium' AND pid <> pg_backend_pid()")
        try:
            yield
        finally:
            conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            conn.execute("ALTER DATABASE arqium RESET default_transaction_read_only")
            conn.execute("SELECT pg_reload_conf()")
            reloaded(postgres, "off")


def reloaded(postgres: EmbeddedPostgres, read_only: str) -> None:
    """Wait until the server has read the new configuration: pg_reload_conf() only asks
    it to; once a new session sees the setting, the postmaster has reloaded and has
    signalled every session, which reloads before its next command."""
    assert eventually(lambda: shown_read_only(postgres) == read_only, HEAL_SECONDS,
                      every=0.05), "the server did not reload its configuration"


def shown_read_only(postgres: EmbeddedPostgres) -> str:
    """default_transaction_read_only as a new session sees it."""
    with psycopg.connect(make_conninfo(postgres.url("arqium"))) as probe:
        return probe.execute("SHOW default_transaction_read_only").fetchone()[0]


def once_reconnected(http: httpx.Client, method: str, path: str, **kwargs
                     ) -> httpx.Response:
    """The API's answer once it has reconnected (ended sessions heal within a second)."""
    deadline = time.monotonic() + HEAL_SECONDS
    while DATABASE_DOWN in (response := http.request(method, path, **kwargs)).text and (
            time.monotonic() < deadline):
        time.sleep(0.1)
    return response


@pytest.mark.parametrize("how", ["system", "database"])
def test_a_read_only_database_refuses_writes_with_503_and_serves_reads(http, auth,
                                                                       postgres, how):
    with read_only(postgres, how):
        write = once_reconnected(http, "POST", "/api/v1/memory/store", headers=auth,
                                 json={"key": "k", "content": "c"})
        # No projector runs here: the read takes what the read model holds.
        read = once_reconnected(http, "GET", "/api/v1/memory/recent",
                                headers={**auth, "X-Consistency": "eventual"})
    wait_for_a_write(http, auth)
    assert write.status_code == 503
    assert write.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert write.headers["Retry-After"] == "1"
    assert read.status_code == 200


@pytest.mark.parametrize("how", ["system", "database"])
def test_a_read_that_must_see_earlier_writes_answers_503_at_once_while_read_only(
        http, auth, postgres, how):
    """No projector runs here: the memory read model is behind the writes stored, and
    cannot catch up while the database takes no writes. A read that must see them
    answers 503 without waiting out its bound (ARQIUM_READ_WAIT_SECONDS) in vain."""
    assert wait_for_a_write(http, auth).status_code == 201
    with read_only(postgres, how):
        read = once_reconnected(http, "GET", "/api/v1/memory/recent", headers=auth)
    wait_for_a_write(http, auth)
    assert read.status_code == 503
    assert "has not caught up with the writes" in read.json()["error"]["message"]
    assert read.elapsed.total_seconds() < Settings().read_wait_seconds / 2


@pytest.mark.parametrize("how", ["system", "database"])
def test_writes_succeed_again_once_the_database_is_writable_again(http, auth, postgres,
                                                                   how):
    with read_only(postgres, how):
        assert once_reconnected(http, "POST", "/api/v1/memory/store", headers=auth,
                                json={"key": "k", "content": "c"}).status_code == 503
    assert wait_for_a_write(http, auth, RECOVERY_SECONDS).status_code == 201


@pytest.fixture(scope="module")
def session_and_object(http, auth) -> tuple[str, str]:
    session = wait_for_a_write(http, auth, RECOVERY_SECONDS, "/api/v1/sessions",
                               {"title": "t"})
    ledger = wait_for_a_write(http, auth, RECOVERY_SECONDS, "/api/ledger/objects",
                              {"typeName": "t", "data": {}})
    return session.json()["data"]["id"], ledger.json()["object"]["id"]


COMMANDS = {
    "memory": lambda ids: ("/api/v1/memory/store", {"key": "k", "content": "c"}),
    "message": lambda ids: (f"/api/v1/sessions/{ids[0]}/messages",
                            {"role": "user", "content": "hello"}),
    "ledger": lambda ids: ("/api/ledger/transactions",
                           {"objectId": ids[1], "action": "update", "data": {"a": 1}}),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_database_refuses_a_command_with_an_idempotency_key_with_503(
        http, auth, postgres, session_and_object, command):
    path, body = COMMANDS[command](session_and_object)
    with read_only(postgres, "system"):
        write = http.post(path, json=body,
                          headers={**auth, "Idempotency-Key": f"while-read-only-{command}"})
    wait_for_a_write(http, auth)
    assert write.status_code == 503
