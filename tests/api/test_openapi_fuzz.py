"""Generated requests to every operation of /openapi.json (schemathesis, a fixed seed and
few examples each) get no 5xx, only statuses the document lists, and bodies its schemas
describe."""

import json

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from arqium.api.app import create_app
from arqium.infra.settings import Settings
from arqium.projections.catalog import active_projections
from arqium.system.bootstrap import open_system
from arqium.workers.runner import WorkerGroup
from tests.conftest import JWT_SECRET, TEST_SCALE, bearer, fresh_database, register

# The document is the one the app serves: building it needs no database.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(jwt_secret=JWT_SECRET)).openapi())
CHECKS = [schemathesis.checks.not_a_server_error,
          schemathesis.checks.status_code_conformance,
          schemathesis.checks.response_schema_conformance]
EMAIL, PASSWORD = "fuzz@example.com", "correct horse"


@pytest.fixture(scope="module")
def fuzz_client(services, tmp_path_factory):
    """One app and database for every operation: starting an app per operation would
    cost more than the fuzzing. Every projector runs, since queries wait for the read
    models to hold every earlier write. Logins are not limited per account here, because
    each operation logs in afresh (see `headers`); the limits have tests of their own."""
    with fresh_database(services) as url:
        app_settings = Settings(database_url=url, nats_url=services["nats"],
                                jwt_secret=JWT_SECRET, read_wait_seconds=5.0,
                                data_dir=tmp_path_factory.mktemp("fuzz") / "data",
                                limit_login_account="10000/minute",
                                limit_login_address="10000/minute", **TEST_SCALE)
        app = create_app(app_settings, open_system=open_system)
        projectors = WorkerGroup([p.name for p in active_projections(app_settings)],
                                 app_settings)
        projectors.start()
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                register(client, EMAIL, PASSWORD, "Fuzz")
                yield client
        finally:
            projectors.stop()


@pytest.fixture
def headers(fuzz_client) -> dict:
    """A live token of the fuzz user: an earlier operation may have logged out (the
    logout operation is fuzzed too) and ended the previous one."""
    login = fuzz_client.post("/api/v1/auth/login",
                             json={"email": EMAIL, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return bearer(login.json()["data"]["access_token"])


def as_text(part: tuple) -> tuple:
    """A generated multipart part whose value is no text (a number, null) sent as its
    JSON text, as any HTTP client would have to: httpx cannot render it otherwise."""
    filename, value, *rest = part
    if not isinstance(value, (str, bytes)):
        value = json.dumps(value)
    return (filename, value, *rest)


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers(case, fuzz_client, headers):
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("cookies", None)  # the operations take none; httpx wants them on the client
    if isinstance(kwargs.get("data"), (bytes, str)):
        kwargs["content"] = kwargs.pop("data")  # raw bodies: httpx's name for them
    if kwargs.get("files"):
        kwargs["files"] = [(name, as_text(part)) for name, part in kwargs["files"]]
    response = fuzz_client.request(**kwargs)
    response.request.read()  # a multipart body (uploads) is a stream the checks quote
    case.validate_response(response, checks=CHECKS)
