"""Hostile input at every face's boundary: text PostgreSQL cannot hold (NUL, lone
surrogates), JSON nested too deep, bodies too large, numbers too big. Each is refused
400 in the face's shape, naming the field, and nothing is stored."""

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from arqium.api.input_limits import nested_deeper_than, unstorable_field
from tests.conftest import register

NUL, SURROGATE = "\u0000", "\ud800"
DEEP = 10_000


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def deep_text(depth: int) -> str:
    """JSON text nested `depth` levels (json.dumps would recurse on it)."""
    return "[" * depth + "1" + "]" * depth


def as_json(body: Any) -> bytes:
    """JSON escaping everything (\\ud800 included: UTF-8 cannot encode it raw)."""
    return json.dumps(body).encode()


def heads(system) -> dict[str, int]:
    return {app.name: app.recorder.max_notification_id() or 0
            for app in system.applications()}


# --- the limits themselves --------------------------------------------------------

def test_json_nested_deeper_than_the_limit_is_found_without_parsing():
    assert nested_deeper_than(deep_text(DEEP).encode(), 32)


def test_json_nested_as_deep_as_the_limit_passes():
    assert not nested_deeper_than(json.dumps({"a": nested(31)}).encode(), 32)
    assert nested_deeper_than(json.dumps({"a": nested(32)}).encode(), 32)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 100 + '\\"{{{' + "]" * 3})
    assert not nested_deeper_than(text.encode(), 2)


def test_unbalanced_json_opening_more_levels_than_the_limit_counts_as_too_deep():
    assert nested_deeper_than(b"[" * 100, 32)
    assert not nested_deeper_than(b'{"a": [1', 32)


def test_the_field_holding_a_nul_is_named_by_its_dotted_path():
    assert unstorable_field({"a": [{"b": "x"}, {"c": f"y{NUL}"}]}) == "a.1.c"


def test_a_key_holding_a_lone_surrogate_is_named():
    assert unstorable_field({"meta": {f"k{SURROGATE}": 1}}) == "meta.k\\ud800"


def test_astral_characters_and_ordinary_text_pass():
    assert unstorable_field({"emoji": "\U0001F600", "text": "naïve ∑ 中文", "n": 10**30}
                            ) is None


# --- one write route per face: refused in its shape, naming the field ---------------

def arqium_field(body: dict) -> tuple[str, str]:
    return body["error"]["code"], body["error"]["details"]["errors"][0]["field"]


def cerebro_field(body: dict) -> tuple[str, str]:
    return body["error"], body["details"]["errors"][0]["field"]


def v0_field(body: dict) -> tuple[str, str]:
    assert set(body) == {"error", "message", "code"}
    return body["code"], body["message"].partition(":")[0]


def admin_field(body: dict) -> tuple[str, str]:
    assert body["status"] == 400
    return body["error"]["code"], body["error"]["details"]["errors"][0]["field"]


def astralbody_field(body: dict) -> tuple[str, str]:
    assert "timestamp" in body["error"]
    return body["error"]["code"], body["error"]["details"]["errors"][0]["field"]


def graphql_field(body: dict) -> tuple[str, str]:
    extensions = body["errors"][0]["extensions"]
    return extensions["code"], extensions["details"]["errors"][0]["field"]


# face: (method, path, body with `bad` in it, the field, its code, reading the refusal)
FACES: dict[str, tuple[str, str, Callable[[str], Any], str, str, Callable]] = {
    "arqium": ("POST", "/api/v1/auth/register", lambda bad: {
        "email": "grace@example.com", "password": "correct horse", "name": f"G{bad}"},
        "name", "VALIDATION_ERROR", arqium_field),
    "cerebro": ("POST", "/api/memory/upsert", lambda bad: {
        "key": "k", "content": {"notes": ["fine", f"x{bad}"]}},
        "content.notes.1", "validation_error", cerebro_field),
    "memory-v0": ("POST", "/v0/users", lambda bad: {
        "userId": "grace", "email": "grace@example.com", "displayName": f"G{bad}"},
        "displayName", "VALIDATION_ERROR", v0_field),
    "admin": ("POST", "/api/auth/login", lambda bad: {
        "email": "ada@example.com", "password": f"x{bad}"},
        "password", "VALIDATION_ERROR", admin_field),
    "astralbody": ("PUT", "/user/profile", lambda bad: {"name": f"A{bad}"},
                   "name", "validation_error", astralbody_field),
    "graphql": ("POST", "/graphql", lambda bad: {
        "query": "mutation($c: JSON!) { storeMemory(content: $c) { id } }",
        "variables": {"c": f"x{bad}"}}, "variables.c", "VALIDATION_ERROR", graphql_field),
}


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("face", FACES)
def test_unstorable_text_in_a_body_is_refused_in_the_faces_shape(client, user, system,
                                                                  face, bad):
    method, path, body, field, code, refusal = FACES[face]
    before = heads(system)
    response = client.request(method, path, content=as_json(body(bad)), headers={
        **user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert refusal(response.json()) == (code, field)
    assert heads(system) == before


def test_an_unstorable_key_is_refused_naming_it(client, user):
    response = client.post("/api/v1/contexts", content=as_json({
        "name": "plan", "state": {"fine": 1, f"bad{SURROGATE}": 2}}), headers={
        **user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert arqium_field(response.json()) == ("VALIDATION_ERROR", "state.bad\\ud800")


def test_a_nul_in_a_graphql_string_literal_is_refused_naming_the_argument(client, user,
                                                                          system):
    before = heads(system)
    response = client.post("/graphql", headers=user["headers"], json={
        "query": 'mutation { storeMemory(content: "a\\u0000b") { id } }'})
    error = response.json()["errors"][0]
    assert error["extensions"]["details"]["errors"][0]["field"] == "content"
    assert "data" not in response.json() or response.json()["data"] is None
    assert heads(system) == before


def test_graphql_variables_not_sent_in_a_body_are_checked_before_the_operation_runs(
        settings):
    """As a graphql-ws socket sends them: the body's input limits never see them."""
    from arqium.api.graphql import build_schema

    result = asyncio.run(build_schema(settings).execute(
        "mutation($c: JSON!) { storeMemory(content: $c) { id } }",
        variable_values={"c": f"a{NUL}"}))
    assert result.data is None
    assert result.errors[0].extensions["details"]["errors"][0]["field"] == "variables.c"


def test_a_nul_in_a_query_parameter_is_refused_naming_it(client, user):
    response = client.get("/api/v1/memory/search?q=tea%00", headers=user["headers"])
    assert response.status_code == 400
    assert arqium_field(response.json()) == ("VALIDATION_ERROR", "q")


@pytest.mark.parametrize("reference", ["vaults/%00", "vaults/%00/memories",
                                       "vaults/work/memories/%00"])
def test_a_nul_as_a_v0_vault_or_memory_reference_is_400(workers, client, user,
                                                        reference):
    workers("users", "vaults")
    client.post("/v0/users", headers=user["headers"], json={
        "userId": "ada", "email": user["user"]["email"]})
    response = client.get(f"/v0/users/ada/{reference}", headers=user["headers"])
    assert response.status_code == 400
    field = "memoryId" if reference.endswith("%00") and "memories" in reference else "vaultId"
    assert v0_field(response.json()) == ("VALIDATION_ERROR", field)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_as_not_json(client, user, system, number):
    before = heads(system)
    response = client.post("/api/v1/memory/store", headers={
        **user["headers"], "Content-Type": "application/json"},
        content='{"content": {"n": %s, "text": "NaN is fine in a string"}}' % number)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert heads(system) == before


# --- depth ----------------------------------------------------------------------------

@pytest.mark.parametrize("path, body", [
    ("/api/ledger/objects", '{"typeName": "contract", "data": {"a": %s}}'),
    ("/api/ledger/transactions", '{"objectId": "00000000-0000-0000-0000-000000000001", '
                                 '"action": "sign", "data": {"a": %s}}'),
    ("/api/memory/upsert", '{"key": "k", "content": {"a": %s}}'),
    ("/api/v1/contexts", '{"name": "plan", "state": {"a": %s}}'),
])
def test_json_nested_ten_thousand_levels_is_refused_and_nothing_stored(client, user,
                                                                       system, path, body):
    before = heads(system)
    response = client.post(path, content=body % deep_text(DEEP), headers={
        **user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested deeper than 32" in response.text
    assert heads(system) == before


def test_graphql_nested_ten_thousand_levels_is_refused_in_graphqls_shape(client, user):
    body = '{"query": "{ me { id } }", "variables": {"a": %s}}' % deep_text(DEEP)
    response = client.post("/graphql", content=body, headers={
        **user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


def test_v0_entry_metadata_nested_too_deep_is_refused_and_nothing_stored(workers, client,
                                                                         user, system):
    workers("users", "vaults")
    client.post("/v0/users", headers=user["headers"], json={
        "userId": "ada", "email": user["user"]["email"]})
    vault = client.post("/v0/users/ada/vaults", headers=user["headers"],
                        json={"title": "work"}).json()["vaultId"]
    memory = client.post(f"/v0/users/ada/vaults/{vault}/memories", headers=user["headers"],
                         json={"title": "notes"}).json()["memoryId"]
    before = heads(system)
    response = client.post(f"/v0/users/ada/vaults/{vault}/memories/{memory}/entries",
                           headers=user["headers"], json={
                               "rawEntry": "x", "metadata": {"a": nested(900)}})
    assert response.status_code == 400
    assert heads(system) == before


def test_json_as_deep_as_the_limit_is_stored(client, user):
    response = client.post("/api/v1/contexts", headers=user["headers"], json={
        "name": "plan", "state": {"a": nested(30)}})  # the body, state, a: 32 levels
    assert response.status_code == 201, response.text


def test_the_depth_limit_is_a_setting(settings, clock):
    from fastapi.testclient import TestClient

    from arqium.api.app import create_app
    from arqium.system.bootstrap import open_system

    settings.max_json_depth = 4
    app = create_app(settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app) as client:
        ada = register(client)
        response = client.post("/api/v1/contexts", json={
            "name": "plan", "state": {"a": nested(3)}}, headers={
            "Authorization": f"Bearer {ada['access_token']}"})
    assert response.status_code == 400
    assert "nested deeper than 4" in response.text


# --- GraphQL bodies strawberry cannot take -------------------------------------------

@pytest.mark.parametrize("body", [b"null", b'"query"', b'{"query": "\xff"}', b"1" * 5000,
                                  b'{"query": "{ me { id } }", "variables": {"a": '
                                  + b"1" * 5000 + b"}}"],
                         ids=["null", "a string", "invalid-utf8", "5000-digit number",
                              "5000-digit variable"])
def test_a_graphql_body_it_cannot_read_is_400_in_graphqls_shape(client, user, body):
    response = client.post("/graphql", content=body, headers={
        **user["headers"], "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


# --- numbers beyond 64 bits -------------------------------------------------------------

@pytest.mark.parametrize("query", ["offset=9223372036854775808", "offset=-1",
                                   "offset=" + "9" * 5000])
@pytest.mark.parametrize("path", ["/sessions", "/api/ledger/objects",
                                  "/api/history"])
def test_an_offset_beyond_64_bits_or_negative_is_400(client, user, path, query):
    response = client.get(f"{path}?{query}", headers=user["headers"])
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("version", ["9223372036854775808", "0", "-1"])
def test_a_ledger_version_beyond_64_bits_or_below_one_is_400(client, user, workers,
                                                             version):
    workers("ledger_objects")
    created = client.post("/api/ledger/objects", headers=user["headers"], json={
        "typeName": "contract", "data": {"a": 1}}).json()["object"]["id"]
    response = client.get(f"/api/v1/ledger/objects/{created}?version={version}",
                          headers=user["headers"])
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("position", ["memory.9223372036854775808", "memory.²",
                                      "memory." + "9" * 5000])
def test_a_min_position_beyond_64_bits_or_not_ascii_digits_is_400(client, user, position):
    response = client.get("/api/v1/contexts", headers={**user["headers"],
                                                       "X-Min-Position": position.encode("latin-1")})
    assert response.status_code == 400, response.text


# --- bodies over the size limit, chunked, with an Idempotency-Key ----------------------

@pytest.fixture
def small_bodies(settings):
    settings.max_body_bytes = 4096


def chunks(total: int) -> Iterator[bytes]:
    """A body sent chunked (no Content-Length), in 1 KiB pieces."""
    yield b'{"a": "'
    for _ in range(total // 1024):
        yield b"x" * 1024
    yield b'"}'


def command_routes(app) -> list[tuple[str, str]]:
    from fastapi.routing import iter_route_contexts
    return sorted({(method, route.path) for route in iter_route_contexts(app.routes)
                   for method in (route.methods or ())
                   if method in {"POST", "PUT", "PATCH", "DELETE"}})


def with_ids(path: str) -> str:
    """The route's path with each parameter filled (a valid id or handle)."""
    return path.replace("{userId}", "ada").format_map(_AnyId())


class _AnyId(dict):
    def __missing__(self, key: str) -> str:
        return "00000000-0000-0000-0000-000000000001"


def bearer_api_key(client, user) -> dict:
    """The user's API key as the v0 current dialect sends it, once its model has it."""
    issued = client.post("/api/v1/api-keys", headers=user["headers"], json={"name": "k"})
    client.get("/api/v1/api-keys", headers={
        **user["headers"], "X-Min-Position": issued.headers["X-Event-Position"]})
    return {"Authorization": f"Bearer {issued.json()['data']['key']}"}


def test_every_write_route_refuses_a_chunked_body_over_the_limit_with_an_idempotency_key(
        small_bodies, client, user, system, workers):
    workers("api_keys")
    # The v0 current dialect checks its bearer API key before anything reads the body.
    api_key = bearer_api_key(client, user)
    routes = command_routes(client.app)
    assert len(routes) >= 20
    before = heads(system)
    for number, (method, path) in enumerate(routes):
        credentials = api_key if path.startswith("/v0/vaults") else user["headers"]
        response = client.request(method, with_ids(path), content=chunks(8192), headers={
            **credentials, "Content-Type": "application/json",
            "Idempotency-Key": f"big-{number}"})
        assert response.status_code == 400, (method, path, response.text)
        assert "larger than 4096 bytes" in response.text, (method, path)
    assert heads(system) == before


def test_a_body_within_the_limit_still_passes_with_an_idempotency_key(small_bodies, client,
                                                                      user):
    response = client.post("/api/v1/memory/store", json={"content": "tea"}, headers={
        **user["headers"], "Idempotency-Key": "small-1"})
    assert response.status_code == 201


# --- JSON that looks like the event store's own typed objects -------------------------

LOOKALIKE = {"_type_": "nope", "_data_": 1}


def test_content_shaped_like_the_event_stores_typed_objects_stops_no_read_model(
        client, user, workers):
    """The library reads `{"_type_": ..., "_data_": ...}` as one of its typed objects: such
    a memory made its event unreadable, and every memory read model stopped at it."""
    group = workers("memory_items", "memory_activity", "contexts", "vaults")
    content = {"a": LOOKALIKE, "b": [{"_type_": "uuid_hex", "_data_": "zz"}]}
    stored = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": "shaped", "content": content, "metadata": {"m": LOOKALIKE}})
    assert stored.status_code == 201, stored.text
    updated = client.post("/api/v1/memory/store", headers=user["headers"], json={
        "key": "shaped", "content": LOOKALIKE})  # loads the memory's events first
    assert updated.status_code in (200, 201), updated.text
    recent = client.get("/api/v1/memory/recent", headers=user["headers"])
    assert recent.status_code == 200, recent.text
    [memory] = recent.json()["data"]["items"]
    assert memory["content"] == LOOKALIKE
    history = client.get(f"/api/v1/memory/{memory['id']}/history", headers=user["headers"])
    assert [version["content"] for version in history.json()["data"]["items"]] == [
        content, LOOKALIKE]
    assert not group.failures
