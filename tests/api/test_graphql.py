"""/graphql: the ARQIUM queries and mutations, over the same commands, read models and
credentials as /api/v1; failures as GraphQL errors with ARQIUM codes, never a 500."""

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import bearer, register

CONTEXT_FIELDS = "id name state sessionId version createdAt updatedAt"
MEMORY_FIELDS = ("id key content layer tags metadata confidence sessionId contextId "
                 "createdAt updatedAt expiresAt")


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("users", "contexts", "chat_sessions", "memory_items", "api_keys",
            "login_sessions")


@pytest.fixture
def eve(client) -> dict:
    data = register(client, email="eve@example.com", name="Eve")
    return {**data, "headers": bearer(data["access_token"])}


def graphql(client, query: str, headers: dict | None = None, **variables):
    """The answer's JSON (a GraphQL answer is 200, errors included)."""
    response = client.post("/graphql", json={"query": query, "variables": variables},
                           headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def at(position: str) -> dict:
    return {"X-Min-Position": position}


def error_code(answer: dict) -> str:
    return answer["errors"][0]["extensions"]["code"]


def create_context(client, user, **body) -> dict:
    response = client.post("/api/v1/contexts", headers=user["headers"],
                           json={"name": "planning", "state": {"step": 1}, **body})
    return {**response.json()["data"], "position": response.headers["X-Event-Position"]}


UPDATE_CONTEXT = f"""mutation($id: ID!, $state: JSON, $version: Int) {{
  updateContext(id: $id, state: $state, version: $version) {{ {CONTEXT_FIELDS} }} }}"""
STORE_MEMORY = f"""mutation($content: JSON!, $key: String, $layer: MemoryLayer!,
    $tags: [String!], $sessionId: String) {{
  storeMemory(content: $content, key: $key, layer: $layer, tags: $tags,
              sessionId: $sessionId) {{ {MEMORY_FIELDS} }} }}"""


def test_user_answers_your_profile(client, user):
    answer = graphql(client, "{ user { id email name roles preferences createdAt } }",
                     {**user["headers"], **at(user["position"])})
    profile = answer["data"]["user"]
    assert (profile["id"], profile["email"], profile["name"]) == (
        user["user"]["id"], "ada@example.com", "Ada")
    assert profile["roles"] == ["user"] and profile["createdAt"].endswith("Z")


def test_contexts_lists_yours_with_pagination(client, user):
    create_context(client, user, name="a")
    last = create_context(client, user, name="b")
    answer = graphql(client, f"""{{ contexts(perPage: 1) {{
        items {{ {CONTEXT_FIELDS} }} pagination {{ page perPage total }} }} }}""",
                     {**user["headers"], **at(last["position"])})
    page = answer["data"]["contexts"]
    assert [(c["name"], c["state"], c["version"]) for c in page["items"]] == [
        ("a", {"step": 1}, 1)]
    assert page["pagination"] == {"page": 1, "perPage": 1, "total": 2}


def test_update_context_replaces_its_state_and_answers_the_new_version(client, user):
    context = create_context(client, user)
    response = client.post("/graphql", headers=user["headers"], json={
        "query": UPDATE_CONTEXT,
        "variables": {"id": context["id"], "state": {"step": 2}, "version": 1}})
    updated = response.json()["data"]["updateContext"]
    assert (updated["state"], updated["version"]) == ({"step": 2}, 2)
    assert response.headers["X-Event-Position"].startswith("memory.")
    read = client.get(f"/api/v1/contexts/{context['id']}", headers={
        **user["headers"], **at(response.headers["X-Event-Position"])})
    assert read.json()["data"]["state"] == {"step": 2}


def test_update_context_at_a_stale_version_is_a_conflict(client, user):
    context = create_context(client, user)
    graphql(client, UPDATE_CONTEXT, user["headers"], id=context["id"], state={"step": 2})
    stale = graphql(client, UPDATE_CONTEXT, user["headers"], id=context["id"],
                    state={"step": 3}, version=1)
    assert stale["data"] is None
    assert error_code(stale) == "CONFLICT"


def test_store_memory_answers_the_memory_as_rest_does(client, user):
    response = client.post("/graphql", headers=user["headers"], json={
        "query": STORE_MEMORY, "variables": {
            "content": {"theme": "dark"}, "key": "theme", "layer": "permanent",
            "tags": ["ui"], "sessionId": "s-1"}})
    stored = response.json()["data"]["storeMemory"]
    assert (stored["key"], stored["content"], stored["layer"], stored["tags"],
            stored["sessionId"]) == ("theme", {"theme": "dark"}, "permanent", ["ui"], "s-1")
    assert stored["createdAt"].endswith("Z") and stored["expiresAt"] is None
    rest = client.get(f"/api/v1/memory/{stored['id']}", headers={
        **user["headers"], **at(response.headers["X-Event-Position"])}).json()["data"]
    assert rest["content"] == {"theme": "dark"} and rest["session_id"] == "s-1"


def test_memory_without_a_query_lists_your_recent_memories(client, user, clock):
    for key in ("a", "b"):
        response = client.post("/graphql", headers=user["headers"], json={
            "query": STORE_MEMORY,
            "variables": {"content": key, "key": key, "layer": "temporary"}})
        clock.advance(seconds=1)
    answer = graphql(client, "{ memory(limit: 5) { key content score } }",
                     {**user["headers"], **at(response.headers["X-Event-Position"])})
    assert answer["data"]["memory"] == [{"key": "b", "content": "b", "score": None},
                                        {"key": "a", "content": "a", "score": None}]


def test_memory_with_a_query_searches_and_scores(client, user, workers):
    workers("memory_embeddings")
    for key, text in (("editor", "prefers a dark theme"), ("pets", "has two cats")):
        response = client.post("/graphql", headers=user["headers"], json={
            "query": STORE_MEMORY,
            "variables": {"content": text, "key": key, "layer": "temporary"}})
    answer = graphql(client, '{ memory(query: "cats", mode: keyword) { key score } }',
                     {**user["headers"], **at(response.headers["X-Event-Position"])})
    assert [m["key"] for m in answer["data"]["memory"]] == ["pets"]
    assert 0 < answer["data"]["memory"][0]["score"] <= 1


def test_create_session_and_list_sessions(client, user):
    response = client.post("/graphql", headers=user["headers"], json={
        "query": 'mutation { createSession(title: "Trip") { id title status messageCount '
                 'metadata createdAt } }'})
    created = response.json()["data"]["createSession"]
    assert (created["title"], created["status"], created["messageCount"],
            created["metadata"]) == ("Trip", "active", 0, {})
    answer = graphql(client, "{ sessions { items { id title } pagination { total } } }",
                     {**user["headers"], **at(response.headers["X-Event-Position"])})
    assert answer["data"]["sessions"] == {"items": [{"id": created["id"], "title": "Trip"}],
                                          "pagination": {"total": 1}}


def test_without_credentials_every_field_is_refused_as_auth_failed(client):
    answer = graphql(client, "{ user { id } contexts { items { id } } }")
    assert answer["data"] is None
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"AUTH_FAILED"}


def test_an_invalid_token_is_refused(client):
    answer = graphql(client, "{ user { id } }", bearer("not-a-token"))
    assert error_code(answer) == "AUTH_FAILED"


def test_an_api_key_authenticates_as_its_owner(client, user):
    issued = client.post("/api/v1/api-keys", headers=user["headers"], json={"name": "ci"})
    answer = graphql(client, "{ user { email } }", {
        "X-API-Key": issued.json()["data"]["key"], **at(user["position"])})
    assert answer["data"]["user"]["email"] == "ada@example.com"


def test_another_users_contexts_are_invisible_and_unchangeable(client, user, eve):
    context = create_context(client, user)
    listed = graphql(client, "{ contexts { items { id } pagination { total } } }",
                     {**eve["headers"], **at(context["position"])})
    assert listed["data"]["contexts"] == {"items": [], "pagination": {"total": 0}}
    changed = graphql(client, UPDATE_CONTEXT, eve["headers"], id=context["id"],
                      state={"stolen": True})
    assert error_code(changed) == "NOT_FOUND"
    assert changed["errors"][0]["path"] == ["updateContext"]


def test_another_users_memories_and_sessions_are_invisible(client, user, eve):
    graphql(client, STORE_MEMORY, user["headers"], content="secret", key="plan",
            layer="temporary")
    response = client.post("/graphql", headers=user["headers"],
                           json={"query": 'mutation { createSession(title: "Mine") { id } }'})
    answer = graphql(client, "{ memory { key } sessions { items { id } } }",
                     {**eve["headers"], **at(response.headers["X-Event-Position"])})
    assert answer["data"] == {"memory": [], "sessions": {"items": []}}


def test_reading_another_user_by_id_is_forbidden(client, user, eve):
    answer = graphql(client, "query($id: ID) { user(id: $id) { email } }", eve["headers"],
                     id=user["user"]["id"])
    assert error_code(answer) == "FORBIDDEN"


def test_an_argument_of_the_wrong_type_is_a_validation_error(client, user):
    answer = graphql(client, 'mutation { updateContext(id: "x", version: "two") { id } }',
                     user["headers"])
    assert answer.get("data") is None
    assert error_code(answer) == "VALIDATION_ERROR"


def test_a_malformed_id_is_a_validation_error_naming_the_argument(client, user):
    answer = graphql(client, UPDATE_CONTEXT, user["headers"], id="not-a-uuid", state={})
    assert error_code(answer) == "VALIDATION_ERROR"
    assert answer["errors"][0]["extensions"]["details"]["errors"][0]["field"] == "id"


def test_rest_limits_hold_a_key_over_255_characters_is_refused(client, user):
    answer = graphql(client, STORE_MEMORY, user["headers"], content="x", key="k" * 256,
                     layer="temporary")
    assert error_code(answer) == "VALIDATION_ERROR"
    assert answer["errors"][0]["extensions"]["details"]["errors"][0]["field"] == "key"
    assert graphql(client, "{ memory { key } }", user["headers"])["data"]["memory"] == []


def test_a_per_page_beyond_the_limit_is_a_validation_error(client, user):
    answer = graphql(client, "{ sessions(perPage: 1000) { items { id } } }",
                     user["headers"])
    assert error_code(answer) == "VALIDATION_ERROR"


def test_an_idempotency_key_answers_a_retried_mutation_once(client, user):
    headers = {**user["headers"], "Idempotency-Key": "retry-1"}
    body = {"query": 'mutation { createSession(title: "Once") { id } }'}
    first = client.post("/graphql", headers=headers, json=body)
    again = client.post("/graphql", headers=headers, json=body)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_get_serves_graphiql(client):
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_the_documented_request_is_what_graphql_takes(client, user):
    """/openapi.json gives the body of POST /graphql and the query string of GET."""
    document = client.get("/openapi.json").json()
    body = document["paths"]["/graphql"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    request = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert set(request["properties"]) == {"query", "variables", "operationName"}
    query = "query Me($b: Boolean!) { __typename @skip(if: $b) }"
    posted = client.post("/graphql", headers=user["headers"], json={
        "query": query, "variables": {"b": False}, "operationName": "Me"})
    assert posted.status_code == 200 and posted.json()["data"] == {"__typename": "Query"}
    get = document["paths"]["/graphql"]["get"]["parameters"]
    assert [p["name"] for p in get] == ["query", "variables", "operationName"]
    got = client.get("/graphql", headers=user["headers"], params={
        "query": query, "variables": '{"b": false}', "operationName": "Me"})
    assert got.status_code == 200 and got.json()["data"] == {"__typename": "Query"}


def test_a_body_that_is_not_json_is_a_400_graphql_error(client):
    response = client.post("/graphql", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("name", [{}, 5, ["Me"]])
def test_an_operation_name_that_is_no_string_is_a_400_graphql_error(client, user, name):
    """Even with a query that does not parse (else answered 200 with its syntax error)."""
    for query in ("0", "query Me { __typename }"):
        response = client.post("/graphql", headers=user["headers"],
                               json={"query": query, "operationName": name})
        assert response.status_code == 400
        error = response.json()["errors"][0]
        assert "operationName" in error["message"]
        assert error["extensions"]["code"] == "VALIDATION_ERROR"


def test_a_mutation_over_get_is_refused_and_changes_nothing(client, user):
    response = client.get("/graphql", headers=user["headers"],
                          params={"query": "mutation { createSession { id } }"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    listed = graphql(client, "{ sessions { pagination { total } } }", user["headers"])
    assert listed["data"]["sessions"]["pagination"]["total"] == 0


def test_each_request_counts_against_the_arqium_rate_limit(settings, clock):
    settings.limit_arqium_user = "2/minute"
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as limited:
        headers = bearer(register(limited)["access_token"])
        answers = [limited.post("/graphql", headers=headers, json={"query": "{ user { id } }"})
                   for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert answers[0].headers["X-RateLimit-Limit"] == "2"


def test_the_schema_is_in_the_openapi_document(client):
    assert "/graphql" in client.get("/openapi.json").json()["paths"]
