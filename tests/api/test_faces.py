import os
from uuid import RFC_4122, UUID

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from arqium.api.requestinfo import new_id
from arqium.workers.runner import worker_names
from tests.conftest import eventually


def test_ping_answers_the_cerebro_shape(client):
    body = client.get("/ping").json()
    assert body["status"] == "ok" and body["timestamp"] and body["version"]


def test_v0_health_answers_healthy(client):
    body = client.get("/v0/health").json()
    assert body["status"] == "healthy" and body["timestamp"]


def test_astralbody_health_answers_healthy(client):
    body = client.get("/health").json()
    assert set(body) == {"status", "version", "timestamp"} and body["status"] == "healthy"


def test_native_health_checks_every_dependency_and_worker_lag(client):
    body = client.get("/api/v1/health").json()
    checks = body["data"]["checks"]
    assert checks["postgres"]["status"] == "up"
    assert checks["nats"]["status"] == "up"
    assert checks["memory_items:memory"]["lag"] == 0
    assert "nats_relay:memory" in checks


def health_status(client) -> str:
    return client.get("/api/v1/health").json()["data"]["status"]


def test_health_is_degraded_while_a_worker_is_not_running(client, workers):
    assert health_status(client) == "degraded"
    workers(*worker_names())
    assert eventually(lambda: health_status(client) == "healthy", every=0.05), (
        f"health still says {health_status(client)}")


@pytest.mark.parametrize("path, shape", [
    ("/api/v1/nowhere", {"status", "code", "data", "error", "meta"}),
    ("/api/memory/nowhere", {"error", "message", "details"}),
    ("/v0/nowhere", {"error", "message", "code"}),
    ("/api/auth/nowhere", {"error", "status"}),
    ("/agents/nowhere/else", {"error"}),
])
def test_unknown_routes_are_404_in_each_faces_error_shape(client, path, shape):
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == shape


def test_astralbody_errors_carry_a_timestamp(client):
    error = client.get("/agents/nowhere/else").json()["error"]
    assert set(error) == {"code", "message", "details", "timestamp"}


def test_admin_errors_carry_the_status(client):
    assert client.get("/api/auth/nowhere").json()["status"] == 404


def test_every_response_carries_a_request_id_that_matches_meta(client):
    response = client.get("/api/v1/health")
    assert response.headers["X-Request-ID"] == response.json()["meta"]["request_id"]
    assert response.json()["meta"]["trace_id"]


def test_made_request_and_trace_ids_are_distinct_version_4_uuids(client):
    responses = [client.get("/ping") for _ in range(20)]
    ids = [UUID(r.headers[name]) for r in responses for name in ("X-Request-ID",
                                                                  "X-Trace-ID")]
    assert len(set(ids)) == len(ids)
    assert {made.version for made in ids} == {4}
    assert {made.variant for made in ids} == {RFC_4122}


def test_a_forked_api_process_makes_other_ids_than_its_parent():
    """The ids come from the `random` module, which a forked child reseeds: two API
    processes never make the same sequence."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids, then out without running pytest's exit
        os.write(write, "".join(new_id().hex for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as pipe:
        theirs = pipe.read()
    ours = "".join(new_id().hex for _ in range(8))
    assert len(theirs) == len(ours) == 8 * 32 and theirs != ours


def test_a_well_formed_incoming_request_id_is_kept(client):
    response = client.get("/ping", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/api/v1/memory/store" in client.get("/openapi.json").json()["paths"]


def test_a_database_outage_is_a_503_in_the_faces_shape(client, database, services):
    name = conninfo_to_dict(database)["dbname"]
    with psycopg.connect(services["postgres"], autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s", (name,))
    response = client.post("/api/v1/auth/login", json={
        "email": "ada@example.com", "password": "correct horse"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
