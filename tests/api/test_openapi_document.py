"""/openapi.json tells the truth: a body for every success, the errors the server
really sends in each face's shape, no 422, and the WebSockets described."""

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
        for status in ("400", "401", "429", "503"):
            content = operation["responses"][status]["content"]["application/json"]
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
