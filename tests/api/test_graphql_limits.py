"""/graphql refuses a document that asks for too much (depth, aliases, fields, tokens)
with a 400 before anything runs, over HTTP and WebSocket; what it runs never holds up
the event loop."""

import time
from concurrent.futures import ThreadPoolExecutor

import graphql as graphql_core
import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.api.conftest import next_message

TWENTY_THOUSAND_ALIASES = "{" + " ".join(f"a{n}: user {{ id }}" for n in range(20000)) + "}"
# 2^25 fields once spread, in a few hundred tokens.
FRAGMENT_BOMB = "query { user { ...F0 } } " + " ".join(
    f"fragment F{n} on User {{ ...F{n + 1} ...F{n + 1} }}" for n in range(25)
) + " fragment F25 on User { id }"


@pytest.fixture
def limited_graphql(settings, clock):
    """A client of an app with GraphQL limits of its own."""
    def build(**limits: int) -> TestClient:
        for name, value in limits.items():
            setattr(settings, f"graphql_max_{name}", value)
        app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
        return TestClient(app)
    return build


def post(client, query: str, headers: dict | None = None):
    return client.post("/graphql", json={"query": query}, headers=headers or {})


def refusal(response) -> str:
    """The message of a document refused before it ran."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    return body["errors"][0]["message"]


def test_twenty_thousand_aliases_are_refused_before_running(client, user):
    assert "tokens" in refusal(post(client, TWENTY_THOUSAND_ALIASES, user["headers"]))


def test_more_aliases_than_allowed_are_refused(client, user):
    query = "{" + " ".join(f"a{n}: user {{ id }}" for n in range(51)) + "}"
    assert "51 aliases" in refusal(post(client, query, user["headers"]))


def test_fifty_aliases_are_allowed(client):
    query = "{" + " ".join(f"a{n}: __typename" for n in range(50)) + "}"
    response = post(client, query)
    assert response.status_code == 200 and response.json()["data"]["a49"] == "Query"


def test_fragments_count_once_per_spread(client, user):
    assert "33554433 fields" in refusal(post(client, FRAGMENT_BOMB, user["headers"]))


def test_a_query_deeper_than_allowed_is_refused(limited_graphql, user):
    with limited_graphql(depth=2) as client:
        message = refusal(post(client, "{ contexts { items { id } } }"))
    assert "3 fields deep" in message


def test_more_fields_than_allowed_are_refused(limited_graphql):
    with limited_graphql(fields=3) as client:
        message = refusal(post(client, "{ user { id email name } }"))
    assert "4 fields" in message


def test_a_document_over_the_token_limit_is_refused(limited_graphql):
    with limited_graphql(tokens=5) as client:
        assert "5 tokens" in refusal(post(client, "{ user { id email name } }"))


def test_graphiqls_introspection_query_is_allowed(client):
    response = post(client, graphql_core.get_introspection_query())
    assert response.status_code == 200 and response.json()["data"]["__schema"]


def test_other_document_errors_are_still_answered_200(client):
    response = post(client, "{ nosuchfield }")
    assert response.status_code == 200 and response.json()["errors"]


# (protocol, its "subscribe" message type, the refusal's first error)
PROTOCOLS = [("graphql-transport-ws", "subscribe", lambda payload: payload[0]),
             ("graphql-ws", "start", lambda payload: payload)]


@pytest.mark.parametrize(("protocol", "start", "first_error"), PROTOCOLS)
def test_a_subscription_over_the_limits_is_refused(client, user, protocol, start,
                                                   first_error):
    query = "subscription { " + " ".join(
        f"a{n}: onMemoryAdded {{ id }}" for n in range(51)) + " }"
    with client.websocket_connect("/graphql", subprotocols=[protocol]) as ws:
        ws.send_json({"type": "connection_init",
                      "payload": {"Authorization": f"Bearer {user['access_token']}"}})
        assert next_message(ws)["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": start, "payload": {"query": query}})
        answer = next_message(ws)
    assert answer["type"] == "error"
    assert "51 aliases" in first_error(answer["payload"])["message"]


def test_health_answers_while_a_slow_query_runs(client, user, settings):
    """Each of these fields waits (read_wait_seconds) for a position its read model
    never reaches: were resolvers run on the event loop, /health would wait too."""
    settings.read_wait_seconds = 2
    memory = client.app.state.system.memory.name
    slow = {**user["headers"], "X-Min-Position": f"{memory}.999999"}
    query = "{" + " ".join(f"a{n}: memory {{ id }}" for n in range(2)) + "}"
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(post, client, query, slow)
        time.sleep(0.5)  # under way: its fields wait 2 s, one after another or together
        health = client.get("/api/v1/health")
        still_running = not running.done()
        answer = running.result(timeout=60)
    assert health.status_code == 200 and still_running
    assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
