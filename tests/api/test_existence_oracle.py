"""No existence oracle: a route taking an id answers an id that is not the caller's the
same way, whatever the id names (another user's object, an aggregate of another kind, a
v0 title claim computable from an e-mail and a title) or if it names nothing."""

import re
from uuid import UUID, uuid4

import pytest
from fastapi.routing import iter_route_contexts

from arqium.domain.memory.domainmodel import MemoryOwner
from arqium.domain.memory.vaults import TitleClaim, vault_scope
from tests.conftest import bearer, register

ONE_ID = re.compile(r"^[^{}]*\{[a-z_]*id\}[^{}]*$")  # one id parameter, snake_case faces


@pytest.fixture
def ada_and_eve(workers, client, user) -> tuple[dict, dict]:
    """Ada with one of everything (a v0 vault titled "secret-plans" too), and Eve."""
    workers("users", "vaults", "memory_items", "contexts", "chat_sessions",
            "session_messages", "ledger_objects", "api_keys", "login_sessions")
    headers = user["headers"]
    client.post("/v0/users", headers=headers, json={"userId": "ada",
                                                    "email": user["user"]["email"]})
    assert client.post("/v0/users/ada/vaults", headers=headers,
                       json={"title": "secret-plans"}).status_code == 201
    eve = register(client, email="eve@example.com", name="Eve")
    return user, {**eve, "headers": bearer(eve["access_token"])}


def foreign_ids(client, ada: dict) -> dict[str, UUID | str]:
    """Ids of Ada's things of every kind, and ids of no aggregate at all."""
    headers, ada_id = ada["headers"], ada["user"]["id"]

    def created(method: str, path: str, body: dict) -> str:
        answer = client.request(method, path, headers=headers, json=body).json()
        return answer["data"]["id"] if "data" in answer else answer["object"]["id"]

    return {
        "a v0 title claim": TitleClaim.create_id(vault_scope(ada_id), "secret-plans"),
        "a memory owner": MemoryOwner.create_id(ada_id),
        "a user": ada_id,
        "a login session": client.get("/api/auth/sessions", headers=headers
                                      ).json()["current_session_id"],
        "an API key": created("POST", "/api/v1/api-keys", {"name": "k"}),
        "a memory": created("POST", "/api/v1/memory/store", {"content": "tea"}),
        "a context": created("POST", "/api/v1/contexts", {"name": "c", "state": {}}),
        "a chat session": created("POST", "/api/v1/sessions", {"title": "t"}),
        "a ledger object": created("POST", "/api/ledger/objects", {
            "typeName": "contract", "data": {"a": 1}}),
        "nothing": uuid4(),
    }


def by_id_routes(app) -> list[tuple[str, str]]:
    """GET and DELETE routes of the ARQIUM, Admin and AstralBody faces taking one id."""
    return sorted({(method, route.path) for route in iter_route_contexts(app.routes)
                   for method in (route.methods or ()) if method in {"GET", "DELETE"}
                   and ONE_ID.match(route.path) and not route.path.startswith("/v0")})


def answer(client, method: str, path: str, headers: dict) -> tuple[int, str]:
    response = client.request(method, path, headers=headers)
    body = response.json()
    code = (body.get("error") or {}).get("code") if isinstance(body.get("error"), dict) \
        else body.get("error")
    return response.status_code, code


def test_the_memory_history_of_a_v0_title_claims_id_is_404_like_any_unknown_id(
        client, ada_and_eve):
    ada, eve = ada_and_eve
    claim = TitleClaim.create_id(vault_scope(ada["user"]["id"]), "secret-plans")
    for caller in (ada, eve):
        claimed = client.get(f"/api/v1/memory/{claim}/history", headers=caller["headers"])
        unknown = client.get(f"/api/v1/memory/{uuid4()}/history", headers=caller["headers"])
        assert claimed.status_code == unknown.status_code == 404
        assert claimed.json()["error"] == unknown.json()["error"]


def test_ending_an_unknown_login_session_answers_as_ending_another_users(client,
                                                                         ada_and_eve):
    ada, eve = ada_and_eve
    adas = client.get("/api/auth/sessions", headers=ada["headers"]).json()[
        "current_session_id"]
    others = client.delete(f"/api/auth/sessions/{adas}", headers=eve["headers"])
    unknown = client.delete(f"/api/auth/sessions/{uuid4()}", headers=eve["headers"])
    assert others.status_code == unknown.status_code == 404
    assert others.json() == unknown.json()
    assert client.get("/api/auth/sessions", headers=ada["headers"]).status_code == 200


def test_every_route_by_id_answers_an_id_not_the_callers_as_one_naming_nothing(
        client, ada_and_eve):
    ada, eve = ada_and_eve
    ids = foreign_ids(client, ada)
    routes = by_id_routes(client.app)
    assert len(routes) >= 10
    for method, template in routes:
        answers = {kind: answer(client, method, re.sub(r"\{[a-z_]*id\}", str(value),
                                                       template), eve["headers"])
                   for kind, value in ids.items()}
        assert set(answers.values()) == {answers["nothing"]}, (method, template, answers)
        assert answers["nothing"][0] < 500, (method, template)
