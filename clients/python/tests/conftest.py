"""A real ARQIUM for the client's tests: the server's own fixtures (embedded PostgreSQL,
a fresh migrated database), its workers in threads and its API served by uvicorn on a
free port, once per test session. Access tokens live 3 seconds, so renewal is exercised."""

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from arqium.api.app import create_app
from arqium.infra.embedded import EmbeddedNats, free_port
from arqium.infra.settings import Settings
from arqium.workers.runner import WorkerGroup, worker_names
from arqium_client import Arqium, AsyncArqium
from tests.api.test_cerebro_chat import CHUNKS, FakeModel  # noqa: F401  (a model stand-in)
from tests.conftest import (  # noqa: F401  (fixtures, used by name)
    JWT_SECRET,
    TEST_SCALE,
    fresh_database,
    services,
    session_postgres_home,
)

ACCESS_TOKEN_SECONDS = 3
LOGINS_PER_ACCOUNT = "2/second"  # test_client_retries exceeds it
PASSWORD = "correct horse battery"
ADMIN = ("admin@example.com", "admin password 1")
_emails = itertools.count()


class LiveApi:
    """The API in a uvicorn server on a thread: started, stopped and started again on the
    same port, as a deployment restarts."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = f"http://127.0.0.1:{settings.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1",
                                port=self.settings.port, log_level="warning",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "API did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def chat_model() -> Iterator[FakeModel]:
    """An OpenAI-compatible endpoint streaming CHUNKS (nothing can run a model here)."""
    model = FakeModel()
    yield model
    model.close()


@pytest.fixture(scope="session")
def own_nats(tmp_path_factory) -> Iterator[str]:
    """A NATS server of the client tests' own: the relay's message ids start afresh with
    their database, and the session's shared JetStream would drop them as duplicates."""
    server = EmbeddedNats(tmp_path_factory.mktemp("client-nats"), port=free_port())
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def server_settings(services, tmp_path_factory, chat_model, own_nats  # noqa: F811
                    ) -> Iterator[Settings]:
    with fresh_database(services) as url:
        yield Settings(database_url=url, nats_url=own_nats, jwt_secret=JWT_SECRET,
                       data_dir=tmp_path_factory.mktemp("client-server"), port=free_port(),
                       access_token_minutes=ACCESS_TOKEN_SECONDS / 60,
                       admin_email=ADMIN[0], admin_password=ADMIN[1],
                       llm_base_url=chat_model.url,
                       limit_login_address="1000/minute",
                       limit_login_account=LOGINS_PER_ACCOUNT,
                       **TEST_SCALE)


@pytest.fixture(scope="session")
def live_api(server_settings) -> Iterator[LiveApi]:
    """The API and every worker."""
    workers = WorkerGroup(worker_names(server_settings), server_settings)
    workers.start()
    api = LiveApi(server_settings)
    api.start()
    try:
        yield api
    finally:
        api.stop()
        workers.stop()


@dataclass
class Account:
    email: str
    password: str
    name: str


@pytest.fixture
def account(live_api) -> Account:
    """A registered user of one test's own."""
    email = f"user{next(_emails)}-{time.time_ns()}@example.com"
    with Arqium(live_api.url) as anonymous:
        anonymous.auth.register(email, PASSWORD, "Ada")
    return Account(email, PASSWORD, "Ada")


@pytest.fixture
def client(live_api, account) -> Iterator[Arqium]:
    """A client logged in as the test's own user."""
    with Arqium(live_api.url, email=account.email, password=account.password) as arqium:
        yield arqium


@pytest.fixture
def key_client(live_api, client) -> Iterator[Arqium]:
    """A client of the same user through an API key."""
    issued = client.api_keys.create("tests")
    with Arqium(live_api.url, api_key=issued.key) as arqium:
        yield arqium


@pytest.fixture
def admin(live_api) -> Iterator[Arqium]:
    with Arqium(live_api.url, email=ADMIN[0], password=ADMIN[1]) as arqium:
        yield arqium


@pytest.fixture
def async_client_factory(live_api, account):
    def build() -> AsyncArqium:
        return AsyncArqium(live_api.url, email=account.email, password=account.password)
    return build
