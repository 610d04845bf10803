"""/openapi.json tells the truth: a body for every success, the errors the server
really sends in each face's shape, no 422, and the WebSockets described."""

from collections.abc import Iterator

import pytest

from arqium.api.app import create_app
from arqium.infra.settings import Settings
from tests.conftest import JWT_SECRET


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(Settings(jwt_secret=JWT_SECRET)).openapi()


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_no_operation_lists_422_since_bad_input_answers_400(document):
    assert [(p, m) for p, m, op in operations(document) if "422" in op["responses"]] == []
    assert all("400" in op["responses"] for _, _, op in operations(document))
    assert "HTTPValidationError" not in document["components"]["schemas"]


def objects_in(node, path: str = "", skip: tuple[str, ...] = ()
               ) -> Iterator[tuple[str, dict]]:
    """Every object in `node` with where it is, but under the keys in `skip`."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from objects_in(item, f"{path}/{i}", skip)
    elif isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key not in skip:
                yield from objects_in(value, f"{path}/{key}", skip)


def bounds_outside_json_schema(node) -> list[str]:
    """Where a schema states a bound as pydantic's ge/le/gt/lt (which JSON Schema does
    not know, so clients and fuzzers ignore it) instead of minimum/maximum."""
    return [f"{path}/{key}" for path, schema in objects_in(node)
            for key in ("ge", "le", "gt", "lt")
            if isinstance(schema.get(key), int | float)]  # a property so named is a dict


def test_every_bound_is_stated_in_json_schema_terms(document):
    assert bounds_outside_json_schema(document) == []
    confidence = document["components"]["schemas"]["UpsertRequest"]["properties"][
        "confidence"]["anyOf"][0]
    assert (confidence["minimum"], confidence["maximum"]) == (0, 1)


def test_every_success_but_204_documents_its_body(document):
    missing = [(path, method, status) for path, method, op in operations(document)
               for status, response in op["responses"].items()
               if status.startswith("2") and status != "204"
               and not any("schema" in media for media in response["content"].values())]
    assert missing == []


@pytest.mark.parametrize("path, method, media_type", [
    ("/api/v1/ledger/export", "get", "application/x-ndjson"),
    ("/api/chat", "post", "text/event-stream")])
def test_streams_document_their_media_type_not_json(document, path, method, media_type):
    assert list(document["paths"][path][method]["responses"]["200"]["content"]) == [
        media_type]


@pytest.mark.parametrize("path, schema", [
    ("/api/v1/memory/recent", "ArqiumError"), ("/api/memory/search", "CerebroError"),
    ("/v0/users/{userId}", "MemoryV0Error"), ("/v0/vaults", "MemoryV0CurrentError"),
    ("/api/auth/sessions", "AdminError"), ("/sessions", "AstralBodyError"),
    ("/graphql", "GraphQLErrors")])
def test_errors_are_documented_in_the_face_shape(document, path, schema):
    for operation in document["paths"][path].values():
        errors = {status: response for status, response in operation["responses"].items()
                  if not status.startswith("2")}
        assert {"400", "429", "503"} <= set(errors)
        for response in errors.values():
            content = response["content"]["application/json"]
            assert content["schema"] == {"$ref": f"#/components/schemas/{schema}"}


def test_v0_search_errors_are_documented_in_either_dialects_shape(document):
    content = document["paths"]["/v0/search"]["post"]["responses"]["400"]["content"]
    assert content["application/json"]["schema"] == {"anyOf": [
        {"$ref": "#/components/schemas/MemoryV0Error"},
        {"$ref": "#/components/schemas/MemoryV0CurrentError"}]}


def test_a_v0_context_is_documented_as_plain_text_both_ways(document):
    operations = document["paths"][
        "/v0/vaults/{vaultId}/memories/{memoryId}/contexts"]
    assert list(operations["put"]["requestBody"]["content"]) == ["text/plain"]
    assert set(operations["put"]["responses"]) >= {"201", "400", "401", "413", "415"}
    assert list(operations["get"]["responses"]["200"]["content"]) == ["text/plain"]


def test_a_public_health_check_documents_no_credential_errors(document):
    responses = document["paths"]["/health"]["get"]["responses"]
    assert "401" not in responses and "403" not in responses


def test_the_websockets_are_described(document):
    description = document["info"]["description"]
    assert "/ws/sync/{session_id}" in description and "graphql-transport-ws" in description
    assert "4401" in description


def documenting(document: dict, status: str) -> set[str]:
    return {f"{method.upper()} {path}" for path, method, op in operations(document)
            if status in op["responses"]}


def test_only_operations_that_refuse_some_callers_document_403(document):
    assert documenting(document, "403") - v0_user_operations(document) == {
        "DELETE /api/v1/users/{user_id}", "GET /api/v1/users/{user_id}",
        "GET /api/v1/ledger/verify", "GET /api/v1/ledger/export", "GET /api/memory/metrics",
        "POST /api/memory/upsert", "POST /api/memory/promote", "POST /api/memory/search",
        "POST /api/memory/context", "POST /api/memory/delete", "POST /v0/users",
        "POST /v0/search", "GET /api/activity", "PUT /api/config",
        "POST /api/config/profiles", "PUT /api/config/profiles/{profile_id}",
        "DELETE /api/config/profiles/{profile_id}",
        "POST /api/config/profiles/{profile_id}/apply", "POST /api/modules/install",
        "PUT /api/modules/{module_id}", "DELETE /api/modules/{module_id}",
        "POST /api/v1/plugins/install", "DELETE /api/v1/plugins/{plugin_id}",
        "POST /api/v1/plugins/{plugin_id}/enable", "POST /api/v1/plugins/{plugin_id}/disable",
        "POST /api/v1/plugins/{plugin_id}/config",
        "GET /api/status"}


def v0_user_operations(document: dict) -> set[str]:
    """The v0 operations whose path names a userId: each must be the caller's."""
    return {f"{method.upper()} {path}" for path, method, _ in operations(document)
            if path.startswith("/v0/users/{userId}")}


def test_every_v0_user_path_documents_403(document):
    assert v0_user_operations(document) <= documenting(document, "403")


def test_reads_without_an_id_document_no_404(document):
    assert {"GET /api/v1/sessions", "GET /api/v1/memory/recent", "GET /api/v1/contexts",
            "GET /api/v1/ledger/verify", "GET /api/auth/sessions",
            "GET /api/ledger/objects"}.isdisjoint(documenting(document, "404"))


def test_reads_document_no_409_and_every_write_does(document):
    writes = {f"{method.upper()} {path}" for path, method, _ in operations(document)
              if method in {"post", "put", "patch", "delete"}}
    assert documenting(document, "409") == writes


def test_every_write_documents_401_since_an_idempotency_key_checks_credentials(
        document):
    assert {"POST /api/v1/auth/register", "POST /api/v1/auth/validate",
            "POST /graphql"} <= documenting(document, "401")


@pytest.mark.parametrize("operation", [
    "GET /api/v1/health", "GET /health", "GET /v0/health", "GET /ping"])
def test_health_checks_document_neither_credentials_nor_rate_limits(document, operation):
    assert operation not in documenting(document, "401") | documenting(document, "429")


def test_graphql_documents_its_result_and_graphiql(document):
    get = document["paths"]["/graphql"]["get"]["responses"]
    assert set(get["200"]["content"]) == {"application/json", "text/html"}
    assert "404" not in get  # GraphiQL and queries over GET are both on
    for operation in document["paths"]["/graphql"].values():
        assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/GraphQLResult"}


def test_every_v0_user_id_states_its_rule(document):
    """The rule `check_handle` enforces is in the document, for the path and the bodies,
    so that a client or a fuzzer keeping to the document never sends one it breaks."""
    schemas = document["components"]["schemas"]
    in_paths = [parameter["schema"] for path, _, op in operations(document)
                if "{userId}" in path for parameter in op.get("parameters", ())
                if parameter["name"] == "userId"]
    in_bodies = [schema["properties"]["userId"] for schema in schemas.values()
                 if "userId" in schema.get("properties", {})]
    assert len(in_paths) >= 15 and len(in_bodies) >= 5
    assert all(s.get("pattern") == "^[a-z0-9_]{1,20}$" for s in in_paths + in_bodies)


def integer_bounds(node) -> list:
    return [schema[key] for _, schema in objects_in(node) if schema.get("type") == "integer"
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
            if key in schema]


def test_an_integers_bounds_are_integers_and_the_int64_ceiling_is_exact(document):
    """A float cannot hold 2**63 - 1: the document would admit 2**63, which the server
    refuses."""
    bounds = integer_bounds(document)
    assert len(bounds) > 50
    assert [b for b in bounds if not isinstance(b, int)] == []
    assert 2**63 - 1 in bounds and max(bounds) == 2**63 - 1


def texts_without_a_rule(node, names: bool = True) -> int:
    """How many plain texts (no format, pattern or enum) and objects (no rule for their
    names, where `names`) the document leaves unruled."""
    return sum(schema.get("type") == "string" and not any(
        key in schema for key in ("format", "pattern", "enum", "const")) or (
        names and schema.get("type") == "object" and "propertyNames" not in schema)
        for _, schema in objects_in(node, skip=("example", "examples", "default")))


def test_every_text_states_that_nul_is_refused(document):
    """The input limits refuse NUL in any text (PostgreSQL cannot store it): the
    document says so, so that a client keeping to it is never refused for it. Not on
    path parameters (a fuzzer draws them from what a path holds; a pattern would make it
    discard most) nor on the names of a multipart form's fields (not checked)."""
    no_nul = "^[^\\u0000]*$"
    schemas = document["components"]["schemas"]
    upsert = schemas["UpsertRequest"]["properties"]
    assert upsert["key"]["pattern"] == no_nul
    content = upsert["content"].get("anyOf", [upsert["content"]])[0]
    assert content["propertyNames"] == {"pattern": no_nul}
    parameters = [p for _, _, op in operations(document) for p in op.get("parameters", ())]
    assert texts_without_a_rule([p for p in parameters if p["in"] != "path"]) == 0
    assert [p["name"] for p in parameters
            if p["in"] == "path" and p["schema"].get("pattern") == no_nul] == []
    forms = [media["schema"] for _, _, op in operations(document)
             for kind, media in op.get("requestBody", {}).get("content", {}).items()
             if kind.startswith("multipart/")]
    assert len(forms) >= 2 and all("$ref" not in form for form in forms)
    assert texts_without_a_rule(schemas) == 0
    assert texts_without_a_rule(forms, names=False) == 0
    assert all("propertyNames" not in form for form in forms)


def test_the_component_rules_the_domain_checks_are_stated(document):
    """Types, strategies and 2 to 20 distinct ids: a client keeping to the document is
    not refused (the domain's refusals still say which rule)."""
    schemas = document["components"]["schemas"]
    assert schemas["ComponentDraft"]["properties"]["type"]["enum"] == [
        "grid", "chart", "table", "card", "text", "list"]
    assert schemas["Combination"]["properties"]["strategy"]["enum"] == ["merge", "stack"]
    for name in ("Combination", "Condensation"):
        ids = schemas[name]["properties"]["component_ids"]
        assert (ids["minItems"], ids["maxItems"], ids["uniqueItems"]) == (2, 20, True)
