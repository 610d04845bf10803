"""AstralBody agents (seed 004) through HTTP: the list with real statuses and response
times, each built-in agent's answer on real data, failures recorded, and one user's
invocations and files out of another's reach; against one app and its projectors
shared by the module."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from arqium.infra.embedded import free_port
from arqium.system.bootstrap import make_admin
from tests.api.test_openapi_v0_bodies import assert_documented
from tests.conftest import SETUP, bearer, module_api, register

PROJECTORS = ["users", "login_sessions", "api_keys", "agent_invocations", "memory_items",
              "files", "ledger_objects"]
AGENT_FIELDS = {"id", "name", "description", "status", "capabilities",
                "average_response_time"}
CSV = b"city,population\nLyon,522000\nNantes,320000\n"
CSV_ANALYSIS = {"kind": "csv", "rows": 2, "delimiter": ",", "columns": [
    {"name": "city", "type": "string", "count": 2, "nulls": 0, "min": None, "max": None,
     "mean": None, "distinct": 2},
    {"name": "population", "type": "integer", "count": 2, "nulls": 0, "min": 320000,
     "max": 522000, "mean": 421000.0, "distinct": 2}]}
REPLY = "You prefer the dark theme."


class FakeModel:
    """An OpenAI-compatible endpoint: lists its models, answers every chat with REPLY."""

    def __init__(self):
        self.requests: list[dict] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.answer({"object": "list", "data": [{"id": "tiny"}]})

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                model.requests.append(json.loads(self.rfile.read(length)))
                self.answer({"choices": [{"index": 0, "message": {
                    "role": "assistant", "content": REPLY}}]})

            def answer(self, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def app(services, tmp_path_factory) -> Iterator[TestClient]:
    with module_api(services, tmp_path_factory.mktemp("agents"), PROJECTORS,
                    rate_limits="off") as client:
        yield client


@pytest.fixture(scope="module")
def system(app):
    return app.app.state.system


@pytest.fixture(scope="module")
def ada(app) -> dict:
    return bearer(register(app, email="ada@example.com")["access_token"])


@pytest.fixture(scope="module")
def bob(app) -> dict:
    return bearer(register(app, email="bob@example.com")["access_token"])


@pytest.fixture
def model(system) -> Iterator[FakeModel]:
    fake = FakeModel()
    system.settings.llm_base_url = fake.url
    yield fake
    system.settings.llm_base_url = None
    fake.close()


def invoke(app, headers, agent_id, text="", **parameters):
    return app.post(f"/agents/{agent_id}/invoke", headers=headers,
                    json={"input": text, "parameters": parameters})


def answered(app, headers, agent_id, text="", **parameters) -> dict:
    response = invoke(app, headers, agent_id, text, **parameters)
    assert response.status_code == 200, response.text
    return response.json()


def agents(app, headers) -> dict[str, dict]:
    response = app.get("/agents", headers=headers)
    assert response.status_code == 200, response.text
    return {agent["id"]: agent for agent in response.json()["agents"]}


def invocation(app, headers, invocation_id):
    return app.get(f"/agents/invocations/{invocation_id}", headers=headers)


def uploaded_csv(app, headers) -> str:
    response = app.post("/upload", headers=headers, files={
        "file": ("cities.csv", CSV, "application/octet-stream")})
    assert response.status_code == 200, response.text
    return response.json()["file_id"]


def analysed_csv(app, system, headers) -> str:
    file_id = uploaded_csv(app, headers)
    system.files.complete_analysis(file_id, CSV_ANALYSIS, cause=SETUP)
    return file_id


def test_the_agents_are_listed_in_the_seed_shape_each_with_its_status(app, ada):
    listed = agents(app, ada)
    assert set(listed) == {"memory-search", "file-analyst", "ledger-auditor",
                           "general-assistant"}
    assert all(set(agent) == AGENT_FIELDS for agent in listed.values())
    assert {agent_id: agent["status"] for agent_id, agent in listed.items()} == {
        "memory-search": "online", "file-analyst": "online", "ledger-auditor": "online",
        "general-assistant": "offline"}  # no model is configured


def test_an_agent_whose_read_model_is_failing_is_offline(app, system, ada):
    system.worker_failures.record("memory_items", "memory", 1, "boom", 60)
    try:
        assert agents(app, ada)["memory-search"]["status"] == "offline"
    finally:
        system.worker_failures.clear("memory_items", "memory")
    assert agents(app, ada)["memory-search"]["status"] == "online"


def test_the_average_response_time_is_the_mean_of_the_agent_s_invocations(app, ada):
    for _ in range(3):
        answered(app, ada, "ledger-auditor")
    average = agents(app, ada)["ledger-auditor"]["average_response_time"]
    rows = app.app.state.system.read_models.agent_invocations.query(
        "SELECT avg(duration_ms)::float8 / 1000 AS seconds, count(*) AS n FROM {table} "
        "WHERE agent_id = 'ledger-auditor'")
    assert rows[0]["n"] >= 3
    assert average == round(rows[0]["seconds"], 3)


def test_memory_search_finds_the_caller_s_memories_and_no_one_else_s(app, ada, bob):
    stored = app.post("/api/memory/upsert", headers=ada, json={
        "key": "pref:colour", "content": {"text": "Ada likes aubergine walls"},
        "layer": "permanent"})
    assert stored.status_code in (200, 201), stored.text
    found = answered(app, ada, "memory-search", "aubergine", limit=5)
    assert set(found) == {"agent_id", "output", "data", "duration_ms", "invocation_id"}
    assert [m["key"] for m in found["data"]["memories"]] == ["pref:colour"]
    assert found["agent_id"] == "memory-search" and "pref:colour" in found["output"]
    assert answered(app, bob, "memory-search", "aubergine")["data"]["memories"] == []
    narrowed = answered(app, ada, "memory-search", "aubergine", layer="context")
    assert narrowed["data"]["memories"] == []


def test_the_file_analyst_answers_a_summary_and_a_column_from_the_analysis(app, system,
                                                                            ada):
    file_id = analysed_csv(app, system, ada)
    summary = answered(app, ada, "file-analyst", "summary", file_id=file_id)
    assert summary["output"] == ("A table of 2 rows and 2 columns: city (string), "
                                 "population (integer)")
    assert summary["data"]["answer"] == CSV_ANALYSIS
    column = answered(app, ada, "file-analyst", "population", file_id=file_id)
    assert column["data"]["answer"]["max"] == 522000
    assert "mean 421000.0" in column["output"]


def test_a_file_not_analysed_yet_is_a_conflict_recorded_as_a_failed_invocation(
        app, ada):
    file_id = uploaded_csv(app, ada)
    response = invoke(app, ada, "file-analyst", "summary", file_id=file_id)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and "not been analysed" in error["message"]
    recorded = invocation(app, ada, error["details"]["invocation_id"]).json()
    assert (recorded["outcome"], recorded["error"]["code"], recorded["agent_id"]) == (
        "failed", "FileNotAnalysed", "file-analyst")
    assert recorded["parameters"] == {"file_id": file_id}


def test_another_user_s_file_and_invocation_are_not_found(app, system, ada, bob):
    file_id = analysed_csv(app, system, ada)
    foreign = invoke(app, bob, "file-analyst", "summary", file_id=file_id)
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "not_found"
    mine = answered(app, ada, "file-analyst", "summary", file_id=file_id)
    assert invocation(app, ada, mine["invocation_id"]).json()["outcome"] == "ok"
    other = invocation(app, bob, mine["invocation_id"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


def test_an_unknown_agent_is_not_found_and_named(app, ada):
    response = invoke(app, ada, "oracle", "hello")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and "'oracle'" in error["message"]
    assert set(error) == {"code", "message", "details", "timestamp"}


@pytest.mark.parametrize("body", [
    {"input": "x" * 10_001}, {"input": "a", "parameters": {"k": "x" * 5000}},
    {"input": 42}, {"input": "a", "parameters": {"limit": "many"}},
    {"input": "a", "parameters": {"layer": "attic"}}])
def test_bad_input_is_refused_in_the_face_s_shape(app, ada, body):
    response = app.post("/agents/memory-search/invoke", headers=ada, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_the_ledger_auditor_verifies_the_caller_s_objects_and_an_auditor_s_all(
        app, system, ada, bob):
    for owner, amount in ((ada, 1), (ada, 2), (bob, 3)):
        created = app.post("/api/ledger/objects", headers=owner, json={
            "typeName": "invoice", "data": {"amount": amount}})
        assert created.status_code == 200, created.text
    own = answered(app, ada, "ledger-auditor", "verify")["data"]
    assert (own["scope"], own["ok"], own["checked_objects"], own["checked_events"]) == (
        "own", True, 2, 2)
    register(app, email="audit@example.com")
    system.identity.grant_role("audit@example.com", "auditor", cause=SETUP)
    auditor = bearer(app.post("/api/v1/auth/login", json={
        "email": "audit@example.com", "password": "correct horse"}
    ).json()["data"]["access_token"])
    whole = answered(app, auditor, "ledger-auditor")
    assert (whole["data"]["scope"], whole["data"]["ok"]) == ("ledger", True)
    assert whole["data"]["checked_objects"] == 3
    assert whole["output"].startswith("Checked 3 objects (the whole ledger)")


def test_the_general_assistant_is_offline_and_503_without_a_model(app, ada):
    assert agents(app, ada)["general-assistant"]["status"] == "offline"
    response = invoke(app, ada, "general-assistant", "What do I like?")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "service_unavailable"
    recorded = invocation(app, ada, error["details"]["invocation_id"]).json()
    assert (recorded["outcome"], recorded["error"]["code"]) == ("failed",
                                                                "ModelUnavailable")


def test_the_general_assistant_answers_with_the_model_and_the_working_set(app, ada,
                                                                         model):
    stored = app.post("/api/memory/upsert", headers=ada, json={
        "key": "pref:theme", "content": {"theme": "dark"}, "layer": "permanent"})
    assert stored.status_code in (200, 201), stored.text
    assert agents(app, ada)["general-assistant"]["status"] == "online"
    answer = answered(app, ada, "general-assistant", "Which theme do I prefer?")
    assert answer["output"] == REPLY
    prompt = model.requests[-1]["messages"]
    assert prompt[-1] == {"role": "user", "content": "Which theme do I prefer?"}
    assert prompt[0]["role"] == "system" and "pref:theme" in prompt[0]["content"]


def test_each_agents_success_body_is_the_documented_one(app, system, ada):
    document = app.get("/openapi.json").json()
    assert_documented(document, "/agents", "get", app.get("/agents", headers=ada))
    answer = invoke(app, ada, "file-analyst", "city",
                    file_id=analysed_csv(app, system, ada))
    assert_documented(document, "/agents/{agent_id}/invoke", "post", answer)
    failure = invoke(app, ada, "file-analyst", "city", file_id=uploaded_csv(app, ada))
    for invocation_id in (answer.json()["invocation_id"],
                          failure.json()["error"]["details"]["invocation_id"]):
        assert_documented(document, "/agents/invocations/{invocation_id}", "get",
                          invocation(app, ada, invocation_id))


def test_a_deleted_user_s_invocations_leave_the_read_model(app, system):
    cy = register(app, email="cy@example.com")
    mine = answered(app, bearer(cy["access_token"]), "ledger-auditor")
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    admin = bearer(app.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}
    ).json()["data"]["access_token"])
    deleted = app.delete(f"/api/v1/users/{cy['user']['id']}", headers=admin)
    assert deleted.status_code == 200, deleted.text
    view = system.read_models.agent_invocations
    view.wait(system.agents.name, system.agents.recorder.max_notification_id(), 10)
    assert view.owned(cy["user"]["id"], mine["invocation_id"]) is None


def test_the_general_assistant_is_offline_when_its_model_does_not_answer(app, system,
                                                                         ada):
    system.settings.llm_base_url = f"http://127.0.0.1:{free_port()}/v1"  # nobody there
    try:
        assert agents(app, ada)["general-assistant"]["status"] == "offline"
        response = invoke(app, ada, "general-assistant", "Hello?")
        assert response.status_code == 503
        assert "cannot be reached" in response.json()["error"]["message"]
    finally:
        system.settings.llm_base_url = None


def test_the_ledger_auditor_reports_the_object_whose_chain_is_broken(app, system):
    dee = bearer(register(app, email="dee@example.com")["access_token"])
    object_id = app.post("/api/ledger/objects", headers=dee, json={
        "typeName": "invoice", "data": {"amount": 7}}).json()["object"]["id"]
    with system.ledger.recorder.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT notification_id, state FROM ledger_events "
                     "WHERE originator_id = %s", (object_id,))
        row = curs.fetchone()
        state = bytes(row["state"])
        assert b'"amount":7' in state
        curs.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                     (state.replace(b'"amount":7', b'"amount":8'), row["notification_id"]))
    audit = answered(app, dee, "ledger-auditor")
    assert audit["data"]["ok"] is False
    assert audit["data"]["first_failure"]["object_id"] == object_id
    assert audit["output"].startswith("Checked 1 object (your ledger objects), 0 events: "
                                      f"object {object_id} version 1 fails")
