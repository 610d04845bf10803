"""The error statuses /openapi.json lists for an operation are ones it really answers,
in the body it documents for them: the cases the generated requests rarely reach."""

import jsonschema_rs

from tests.conftest import bearer, register


def assert_error_documented(document: dict, template: str, method: str, response,
                            status: int) -> None:
    assert response.status_code == status, response.text
    declared = document["paths"][template][method]["responses"][str(status)]
    schema = {**declared["content"]["application/json"]["schema"],
              "components": document["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(response.json())


def test_a_write_with_an_idempotency_key_and_a_dead_token_answers_a_documented_401(
        client):
    document = client.get("/openapi.json").json()
    registered = client.post("/api/v1/auth/register", headers={
        **bearer("not a token"), "Idempotency-Key": "k1"}, json={
        "email": "bea@example.com", "password": "correct horse", "name": "Bea"})
    assert_error_documented(document, "/api/v1/auth/register", "post", registered, 401)


def test_another_users_id_answers_a_documented_403(client, user, workers):
    workers("users")
    document = client.get("/openapi.json").json()
    other = register(client, email="bea@example.com", name="Bea")
    response = client.get(f"/api/v1/users/{other['user']['id']}", headers=user["headers"])
    assert_error_documented(document, "/api/v1/users/{user_id}", "get", response, 403)


def test_verifying_the_ledger_without_the_auditor_role_answers_a_documented_403(
        client, user):
    document = client.get("/openapi.json").json()
    for path in ("/api/v1/ledger/verify", "/api/v1/ledger/export"):
        assert_error_documented(document, path, "get",
                                client.get(path, headers=user["headers"]), 403)


def test_an_unknown_session_answers_a_documented_404(client, user):
    document = client.get("/openapi.json").json()
    response = client.post("/api/v1/sessions/00000000-0000-4000-8000-000000000000/resume",
                           headers=user["headers"])
    assert_error_documented(document, "/api/v1/sessions/{session_id}/resume", "post",
                            response, 404)


def test_a_graphql_document_over_the_limits_answers_a_documented_400(client, user):
    document = client.get("/openapi.json").json()
    aliases = " ".join(f"a{n}: __typename" for n in range(1000))
    response = client.post("/graphql", json={"query": "{ " + aliases + " }"},
                           headers=user["headers"])
    assert_error_documented(document, "/graphql", "post", response, 400)


def test_a_mutation_over_get_answers_a_documented_400(client, user):
    document = client.get("/openapi.json").json()
    response = client.get("/graphql", params={"query": "mutation { createSession { id } }"},
                          headers=user["headers"])
    assert_error_documented(document, "/graphql", "get", response, 400)
