"""Every command records who acted: each event a command route (or GraphQL mutation)
stores carries the caller's actor and the request's X-Request-ID as correlation id.
One example request per command route, made by a registered user (a few by an API
key), against one app shared by the whole module."""

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.infra.settings import Settings
from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.system.bootstrap import System, make_admin
from arqium.workers.runner import WorkerGroup
from tests.api.test_cerebro_chat import FakeModel
from tests.conftest import JWT_SECRET, SETUP, TEST_SCALE, bearer, fresh_database, register

COMMAND_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# What the commands wait for: every read model a route reads (queries and commands read
# every earlier write).
PROJECTORS = ["users", "login_sessions", "api_keys", "chat_sessions", "session_messages",
              "memory_items", "memory_embeddings", "vaults", "contexts", "ledger_objects",
              "platform_config", "platform_modules", "files", "components",
              "document_chunks", "document_chunk_embeddings", "agent_invocations",
              *(p.name for p in ACTIVITY_PROJECTIONS)]
PASSWORD = "correct horse"
Route = tuple[str, str]


@dataclass(frozen=True)
class Caller:
    actor: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Request:
    path: str
    json: Any = None
    caller: Caller | None = None  # None: the world's Ada with her access token
    headers: dict[str, str] = field(default_factory=dict)
    files: dict | None = None  # a multipart body instead of `json`


@dataclass
class World:
    client: TestClient
    system: System
    ada: Caller
    ada_key: Caller
    admin: Caller
    email: str
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.numbers)}"

    def send(self, method: str, path: str, json: Any = None, caller: Caller | None = None,
             headers: dict | None = None) -> Any:
        """A setup request: it must succeed."""
        response = self.client.request(method, path, json=json, headers={
            **(caller or self.ada).headers, **(headers or {})})
        assert response.status_code < 300, (path, response.text)
        return response

    def login(self) -> dict:
        """A second login session of Ada's: its tokens."""
        return self.send("POST", "/api/v1/auth/login", {"email": self.email,
                                                         "password": PASSWORD},
                         caller=ANONYMOUS).json()["data"]

    def as_ada(self, access_token: str) -> Caller:
        return Caller(self.ada.actor, bearer(access_token))


ANONYMOUS = Caller("anonymous", {})
A_FILE = {"file": ("a.csv", b"a,b\n1,2\n", "text/csv")}


@pytest.fixture(scope="module")
def world(services, tmp_path_factory) -> Iterator[World]:
    model = FakeModel()
    with fresh_database(services) as url:
        settings = Settings(database_url=url, nats_url=services["nats"],
                            jwt_secret=JWT_SECRET, rate_limits="off",
                            data_dir=tmp_path_factory.mktemp("who_acted"),
                            llm_base_url=model.url, **TEST_SCALE,
                            # Usage counts are stored at shutdown only: the event heads
                            # move with the commands under test alone.
                            usage_flush_seconds=3600)
        projectors = WorkerGroup(PROJECTORS, settings)
        projectors.start()
        try:
            with TestClient(create_app(settings), raise_server_exceptions=False) as client:
                yield new_world(client)
        finally:
            projectors.stop()
            model.close()
        assert not projectors.failures, projectors.failures


def new_world(client: TestClient) -> World:
    system: System = client.app.state.system
    ada = register(client, email="ada@example.com", password=PASSWORD)
    headers = bearer(ada["access_token"])
    key = client.post("/api/v1/api-keys", headers=headers, json={"name": "ci"}
                      ).json()["data"]
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    root = client.post("/api/v1/auth/login", json={"email": "root@example.com",
                                                   "password": "admin password"})
    world = World(client, system, Caller(f"user:{ada['user']['id']}", headers),
                  Caller(f"api_key:{key['id']}", {"X-API-Key": key["key"]}),
                  Caller(f"user:{root.json()['data']['user']['id']}",
                         bearer(root.json()["data"]["access_token"])), ada["user"]["email"])
    world.send("POST", "/v0/users", {"userId": "ada", "email": world.email})
    return world


# --- what the examples act on, made beforehand through the API ---------------------

def chat(w: World, installed: bool) -> str:
    """The chat module, installed or not as the example needs it."""
    if w.system.modules.refresh()["chat"].installed != installed:
        if installed:
            w.send("POST", "/api/modules/install", {"module_id": "chat"}, w.admin)
        else:
            w.send("DELETE", "/api/modules/chat", caller=w.admin)
    return "chat"


def new_user(w: World) -> tuple[dict, Caller]:
    user = register(w.client, email=f"{w.unique('user')}@example.com", password=PASSWORD)
    return user, Caller(f"user:{user['user']['id']}", bearer(user["access_token"]))


def new_context(w: World) -> str:
    return w.send("POST", "/api/v1/contexts", {"name": "c", "state": {"a": 1}}
                  ).json()["data"]["id"]


def new_session(w: World) -> str:
    return w.send("POST", "/api/v1/sessions", {"title": "t"}).json()["data"]["id"]


def new_file(w: World) -> str:
    return w.client.post("/upload", headers=w.ada.headers, files=A_FILE).json()["file_id"]


def new_cerebro_memory(w: World) -> str:
    key = w.unique("key")
    w.send("POST", "/api/memory/upsert", {"key": key, "content": {"a": 1},
                                          "confidence": 0.9})
    return key


def new_component(w: World) -> str:
    return w.send("POST", "/components", {"title": "c", "type": "chart", "data": {"x": 1}}
                  ).json()["id"]


def new_ledger_object(w: World) -> str:
    return w.send("POST", "/api/ledger/objects", {"typeName": "contract", "data": {
        "amount": 1}}).json()["object"]["id"]


def new_vault(w: World) -> str:
    return w.send("POST", "/v0/users/ada/vaults", {"title": w.unique("vault")}
                  ).json()["vaultId"]


def new_v0_memory(w: World) -> str:
    """The path of a new memory in a new vault of Ada's."""
    vault = f"/v0/users/ada/vaults/{new_vault(w)}"
    memory = w.send("POST", f"{vault}/memories", {"title": w.unique("memory")}).json()
    return f"{vault}/memories/{memory['memoryId']}"


def new_entry(w: World) -> str:
    memory = new_v0_memory(w)
    entry = w.send("POST", f"{memory}/entries", {"rawEntry": "hello"}).json()
    return f"{memory}/entries/{entry['entryId']}"


def v0_context(w: World) -> Request:
    memory = new_v0_memory(w)
    context = w.send("PUT", f"{memory}/contexts", {"context": {"a": 1}}).json()
    return Request(f"{memory}/contexts/{context['contextId']}")


def attach(w: World) -> Request:
    memory_id = new_v0_memory(w).rpartition("/")[2]
    return Request(f"/v0/users/ada/vaults/{new_vault(w)}/memories/{memory_id}/attach")


def sdk(w: World) -> Caller:
    """Ada's API key as the v0 current dialect sends it."""
    return Caller(w.ada_key.actor, bearer(w.ada_key.headers["X-API-Key"]))


def current_vault(w: World) -> str:
    return w.send("POST", "/v0/vaults", {"title": w.unique("vault")}, sdk(w)
                  ).json()["vaultId"]


def current_memory(w: World) -> str:
    """The path of a new memory in a new vault of Ada's, in the current dialect."""
    vault = f"/v0/vaults/{current_vault(w)}"
    memory = w.send("POST", f"{vault}/memories", {"memoryType": "NOTES",
                                                  "title": w.unique("memory")}, sdk(w))
    return f"{vault}/memories/{memory.json()['memoryId']}"


def current_entry(w: World) -> str:
    memory = current_memory(w)
    entry = w.send("POST", f"{memory}/entries", {"rawEntry": "hello"}, sdk(w)).json()
    return f"{memory}/entries/{entry['entryId']}"


def current_context(w: World) -> Request:
    memory = current_memory(w)
    context = w.send("PUT", f"{memory}/contexts", "text", sdk(w), TEXT).json()
    return Request(f"{memory}/contexts/{context['contextId']}", caller=sdk(w))


def current_attach(w: World) -> Request:
    memory_id = current_memory(w).rpartition("/")[2]
    return Request(f"/v0/vaults/{current_vault(w)}/memories/{memory_id}/attach",
                   caller=sdk(w))


TEXT = {"Content-Type": "text/plain"}


def clear(w: World) -> Request:
    stored = w.send("POST", "/api/v1/memory/store", {"content": "x", "layer": "context"})
    return Request("/api/v1/memory/clear", {"layer": "context"}, headers={
        "X-Min-Position": stored.headers["X-Event-Position"]})


def archived_session(w: World) -> str:
    session_id = new_session(w)
    w.send("POST", f"/api/v1/sessions/{session_id}/archive")
    return session_id


def issued_key(w: World) -> str:
    return w.send("POST", "/api/v1/api-keys", {"name": "spare"}).json()["data"]["id"]


def ended_elsewhere(w: World) -> Request:
    """Ada ends another of her login sessions."""
    other = w.login()["access_token"]
    session_id = w.system.tokens.verify_access(other).session_id
    return Request(f"/api/auth/sessions/{session_id}")


def password_change(w: World) -> Request:
    _, grace = new_user(w)
    return Request("/api/v1/users/password", {"current_password": PASSWORD,
                                              "new_password": "another horse"}, grace)


def v0_user(w: World) -> Request:
    user, grace = new_user(w)
    return Request("/v0/users", {"userId": w.unique("grace").replace("-", "_"),
                                 "email": user["user"]["email"]}, grace)


def new_profile(w: World) -> str:
    return w.send("POST", "/api/config/profiles", {"name": w.unique("profile"), "config": {
        "general": {"locale": "de-DE"}}}, w.admin).json()["id"]


def user_deletion(w: World) -> Request:
    user, _ = new_user(w)
    return Request(f"/api/v1/users/{user['user']['id']}", caller=w.admin)


# --- one example per command route ----------------------------------------------

Example = Callable[[World], Request]

EXAMPLES: dict[Route, Example] = {
    ("POST", "/api/v1/auth/login"): lambda w: Request(
        "/api/v1/auth/login", {"email": w.email, "password": PASSWORD},
        Caller(w.ada.actor, {})),
    ("POST", "/api/v1/auth/refresh"): lambda w: Request(
        "/api/v1/auth/refresh", {"refresh_token": w.login()["refresh_token"]},
        Caller(w.ada.actor, {})),
    ("POST", "/api/v1/auth/logout"): lambda w: Request(
        "/api/v1/auth/logout", caller=w.as_ada(w.login()["access_token"])),
    ("PUT", "/api/v1/users/profile"): lambda w: Request(
        "/api/v1/users/profile", {"name": "Ada L."}),
    ("PUT", "/api/v1/users/password"): password_change,
    ("DELETE", "/api/v1/users/{user_id}"): user_deletion,
    ("POST", "/api/v1/api-keys"): lambda w: Request("/api/v1/api-keys", {"name": "k"}),
    ("DELETE", "/api/v1/api-keys/{key_id}"): lambda w: Request(
        f"/api/v1/api-keys/{issued_key(w)}"),
    ("POST", "/api/v1/memory/store"): lambda w: Request(
        "/api/v1/memory/store", {"content": "likes tea"}, w.ada_key),
    ("POST", "/api/v1/memory/clear"): clear,
    ("DELETE", "/api/v1/memory/{item_id}"): lambda w: Request(
        "/api/v1/memory/" + w.send("POST", "/api/v1/memory/store", {"content": "x"}
                                   ).json()["data"]["id"]),
    ("POST", "/api/v1/contexts"): lambda w: Request(
        "/api/v1/contexts", {"name": "plan", "state": {}}),
    ("PUT", "/api/v1/contexts/{context_id}"): lambda w: Request(
        f"/api/v1/contexts/{new_context(w)}", {"state": {"a": 2}}, w.ada_key),
    ("DELETE", "/api/v1/contexts/{context_id}"): lambda w: Request(
        f"/api/v1/contexts/{new_context(w)}"),
    ("POST", "/api/v1/contexts/{context_id}/sync"): lambda w: Request(
        f"/api/v1/contexts/{new_context(w)}/sync", {"state": {"a": 1, "b": 2},
                                                     "base_version": 1}),
    ("POST", "/api/v1/sessions"): lambda w: Request("/api/v1/sessions", {"title": "chat"}),
    ("POST", "/api/v1/sessions/{session_id}/messages"): lambda w: Request(
        f"/api/v1/sessions/{new_session(w)}/messages", {"role": "user", "content": "hi"}),
    ("POST", "/api/v1/sessions/{session_id}/checkpoint"): lambda w: Request(
        f"/api/v1/sessions/{new_session(w)}/checkpoint", {"label": "here"}),
    ("POST", "/api/v1/sessions/{session_id}/resume"): lambda w: Request(
        f"/api/v1/sessions/{archived_session(w)}/resume", {}),
    ("POST", "/api/v1/sessions/{session_id}/archive"): lambda w: Request(
        f"/api/v1/sessions/{new_session(w)}/archive"),
    ("DELETE", "/api/v1/sessions/{session_id}"): lambda w: Request(
        f"/api/v1/sessions/{new_session(w)}"),
    ("POST", "/api/memory/upsert"): lambda w: Request(
        "/api/memory/upsert", {"key": w.unique("key"), "content": {"a": 1}}),
    ("POST", "/api/memory/promote"): lambda w: Request(
        "/api/memory/promote", {"key": new_cerebro_memory(w), "force": True}),
    ("POST", "/api/memory/delete"): lambda w: Request(
        "/api/memory/delete", {"key": new_cerebro_memory(w)}),
    ("POST", "/api/v1/analytics/event"): lambda w: Request(
        "/api/v1/analytics/event", {"name": "clicked", "properties": {"x": 1}}, w.ada_key),
    ("POST", "/api/memory/context"): lambda w: Request(
        "/api/memory/context", {"chatId": "chat-1"}),
    ("POST", "/api/chat"): lambda w: Request("/api/chat", {
        "id": w.unique("chat"), "messages": [{"role": "user", "content": "Hello"}]}),
    ("POST", "/api/ledger/objects"): lambda w: Request(
        "/api/ledger/objects", {"typeName": "contract", "data": {"amount": 1}}, w.ada_key),
    ("POST", "/api/v1/ledger/objects"): lambda w: Request(
        "/api/v1/ledger/objects", {"type_name": "contract", "data": {"amount": 1}}),
    ("POST", "/api/v1/ledger/objects/{object_id}/transactions"): lambda w: Request(
        f"/api/v1/ledger/objects/{new_ledger_object(w)}/transactions",
        {"action": "sign", "data": {"status": "signed"}}, w.ada_key),
    ("POST", "/api/ledger/transactions"): lambda w: Request(
        "/api/ledger/transactions", {"objectId": new_ledger_object(w), "action": "sign",
                                     "data": {"status": "signed"}}),
    ("POST", "/api/auth/login"): lambda w: Request(
        "/api/auth/login", {"email": w.email, "password": PASSWORD},
        Caller(w.ada.actor, {})),
    ("POST", "/api/auth/refresh"): lambda w: Request(
        "/api/auth/refresh", {"refresh_token": w.login()["refresh_token"]},
        Caller(w.ada.actor, {})),
    ("POST", "/api/auth/logout"): lambda w: Request(
        "/api/auth/logout", {"token": w.login()["access_token"]}, Caller(w.ada.actor, {})),
    ("DELETE", "/api/auth/sessions/{session_id}"): ended_elsewhere,
    ("PUT", "/api/config"): lambda w: Request(
        "/api/config", {"config": {"general": {"site_name": "Acme"}}}, w.admin),
    ("POST", "/api/config/profiles"): lambda w: Request(
        "/api/config/profiles", {"name": w.unique("profile"), "config": {}}, w.admin),
    ("PUT", "/api/config/profiles/{profile_id}"): lambda w: Request(
        f"/api/config/profiles/{new_profile(w)}", {"description": "d"}, w.admin),
    ("DELETE", "/api/config/profiles/{profile_id}"): lambda w: Request(
        f"/api/config/profiles/{new_profile(w)}", caller=w.admin),
    ("POST", "/api/config/profiles/{profile_id}/apply"): lambda w: Request(
        f"/api/config/profiles/{new_profile(w)}/apply", caller=w.admin),
    ("PUT", "/user/profile"): lambda w: Request("/user/profile", {"name": "Ada"}),
    ("POST", "/components"): lambda w: Request("/components", {"title": "t", "type": "card"}),
    ("POST", "/agents/{agent_id}/invoke"): lambda w: Request(
        "/agents/ledger-auditor/invoke", {"input": "verify"}),
    ("DELETE", "/components/{component_id}"): lambda w: Request(
        f"/components/{new_component(w)}"),
    ("POST", "/components/combine"): lambda w: Request("/components/combine", {
        "component_ids": [new_component(w), new_component(w)], "strategy": "merge"}),
    ("POST", "/components/condense"): lambda w: Request("/components/condense", {
        "component_ids": [new_component(w), new_component(w)], "target_count": 1},
        w.ada_key),
    ("DELETE", "/sessions/{session_id}"): lambda w: Request(f"/sessions/{new_session(w)}"),
    ("POST", "/upload"): lambda w: Request("/upload", files=A_FILE),
    ("DELETE", "/files/{file_id}"): lambda w: Request(f"/files/{new_file(w)}"),
    ("POST", "/api/files/upload"): lambda w: Request("/api/files/upload", files=A_FILE),
    ("POST", "/v0/users"): v0_user,
    ("POST", "/v0/users/{userId}/vaults"): lambda w: Request(
        "/v0/users/ada/vaults", {"title": w.unique("vault")}, w.ada_key),
    ("DELETE", "/v0/users/{userId}/vaults/{vaultId}"): lambda w: Request(
        new_v0_memory(w).rpartition("/memories/")[0]),
    ("POST", "/v0/users/{userId}/vaults/{vaultId}/memories"): lambda w: Request(
        f"/v0/users/ada/vaults/{new_vault(w)}/memories", {"title": "notes"}),
    ("DELETE", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}"):
        lambda w: Request(new_entry(w).rpartition("/entries/")[0]),
    ("POST", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/attach"): attach,
    ("PUT", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/contexts"):
        lambda w: Request(f"{new_v0_memory(w)}/contexts", {"context": {"a": 1}}),
    ("DELETE", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/contexts/"
               "{contextId}"): v0_context,
    ("POST", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/entries"):
        lambda w: Request(f"{new_v0_memory(w)}/entries", {"rawEntry": "hello"}),
    ("DELETE", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/entries/"
               "{entryId}"): lambda w: Request(new_entry(w)),
    ("PATCH", "/v0/users/{userId}/vaults/{vaultId}/memories/{memoryId}/entries/{entryId}/"
              "tags"): lambda w: Request(f"{new_entry(w)}/tags", {"tags": ["x"]}),
    ("POST", "/v0/vaults"): lambda w: Request(
        "/v0/vaults", {"title": w.unique("vault")}, sdk(w)),
    ("DELETE", "/v0/vaults/{vaultId}"): lambda w: Request(
        current_memory(w).rpartition("/memories/")[0], caller=sdk(w)),
    ("POST", "/v0/vaults/{vaultId}/memories"): lambda w: Request(
        f"/v0/vaults/{current_vault(w)}/memories", {"memoryType": "NOTES",
                                                    "title": "notes"}, sdk(w)),
    ("DELETE", "/v0/vaults/{vaultId}/memories/{memoryId}"): lambda w: Request(
        current_entry(w).rpartition("/entries/")[0], caller=sdk(w)),
    ("POST", "/v0/vaults/{vaultId}/memories/{memoryId}/attach"): current_attach,
    ("PUT", "/v0/vaults/{vaultId}/memories/{memoryId}/contexts"): lambda w: Request(
        f"{current_memory(w)}/contexts", "text", sdk(w), TEXT),
    ("DELETE", "/v0/vaults/{vaultId}/memories/{memoryId}/contexts/{contextId}"):
        current_context,
    ("POST", "/v0/vaults/{vaultId}/memories/{memoryId}/entries"): lambda w: Request(
        f"{current_memory(w)}/entries", {"rawEntry": "hello"}, sdk(w)),
    ("DELETE", "/v0/vaults/{vaultId}/memories/{memoryId}/entries/{entryId}"):
        lambda w: Request(current_entry(w), caller=sdk(w)),
    ("PATCH", "/v0/vaults/{vaultId}/memories/{memoryId}/entries/{entryId}/tags"):
        lambda w: Request(f"{current_entry(w)}/tags", {"tags": {"k": "v"}}, sdk(w)),
    # Last: they switch chat on and off, which no example above runs after.
    ("POST", "/api/modules/install"): lambda w: Request(
        "/api/modules/install", {"module_id": chat(w, installed=False)}, w.admin),
    ("PUT", "/api/modules/{module_id}"): lambda w: Request(
        "/api/modules/graphql", {"settings": {"max_depth": 10}}, w.admin),
    ("DELETE", "/api/modules/{module_id}"): lambda w: Request(
        f"/api/modules/{chat(w, installed=True)}", caller=w.admin),
    ("POST", "/api/modules/{module_id}/rating"): lambda w: Request(
        "/api/modules/graphql/rating", {"stars": 4}),
    ("POST", "/api/v1/plugins/install"): lambda w: Request(
        "/api/v1/plugins/install", {"module_id": chat(w, installed=False)}, w.admin),
    ("DELETE", "/api/v1/plugins/{plugin_id}"): lambda w: Request(
        f"/api/v1/plugins/{chat(w, installed=True)}", caller=w.admin),
    ("POST", "/api/v1/plugins/{plugin_id}/enable"): lambda w: Request(
        f"/api/v1/plugins/{chat(w, installed=True)}/enable", caller=w.admin),
    ("POST", "/api/v1/plugins/{plugin_id}/disable"): lambda w: Request(
        f"/api/v1/plugins/{chat(w, installed=True)}/disable", caller=w.admin),
    ("POST", "/api/v1/plugins/{plugin_id}/config"): lambda w: Request(
        "/api/v1/plugins/graphql/config", {"config": {"max_depth": 10}}, w.admin),
}

# Queries sent by POST: they answer from read models and store nothing.
STORE_NOTHING: dict[Route, tuple[str, Example]] = {
    ("POST", "/api/v1/auth/validate"): ("checks a token", lambda w: Request(
        "/api/v1/auth/validate", {"token": "not-a-token"})),
    ("POST", "/api/memory/search"): ("a search", lambda w: Request(
        "/api/memory/search", {"query": "tea"})),
    ("POST", "/api/memory/rag"): ("a knowledge-base search", lambda w: Request(
        "/api/memory/rag", {"query": "tea", "hints": {"context": "drinks"}})),
    ("POST", "/v0/search"): ("a search", lambda w: Request(
        "/v0/search", {"userId": "ada", "query": "hello"})),
}

COVERED_ELSEWHERE: dict[Route, str] = {
    ("POST", "/api/v1/auth/register"): "its caller is nobody yet (see test_registration_"
                                       "is_anonymous_and_its_session_the_users)",
    ("POST", "/graphql"): "queries store nothing; each mutation has an example below",
}

MUTATIONS: dict[str, Callable[[World], tuple[str, dict]]] = {
    "updateContext": lambda w: ("mutation($id: ID!) { updateContext(id: $id, state: "
                                "{a: 3}) { version } }", {"id": new_context(w)}),
    "storeMemory": lambda w: ('mutation { storeMemory(content: "likes tea") { id } }', {}),
    "createSession": lambda w: ('mutation { createSession(title: "chat") { id } }', {}),
}


def heads(system: System) -> dict[str, int]:
    return {app.name: app.recorder.max_notification_id() or 0
            for app in system.applications()}


def stored_since(system: System, before: dict[str, int]) -> list:
    """Every event stored since `before`, in every application."""
    return [app.mapper.to_domain_event(notification) for app in system.applications()
            for notification in app.recorder.select_notifications(
                before[app.name] + 1, 10_000, topics=())]


def sent(w: World, method: str, request: Request) -> tuple[Any, list]:
    """The response to the request and the events stored while it was answered."""
    before = heads(w.system)
    response = w.client.request(method, request.path, json=request.json,
                                files=request.files, headers={
        **(request.caller or w.ada).headers, **request.headers})
    return response, stored_since(w.system, before)


def command_routes(app: Any) -> set[Route]:
    return {(method, route.path) for route in iter_route_contexts(app.routes)
            for method in (route.methods or ()) if method in COMMAND_METHODS}


def test_every_command_route_has_an_example_or_a_reason(world):
    listed = [*EXAMPLES, *STORE_NOTHING, *COVERED_ELSEWHERE]
    assert len(listed) == len(set(listed))
    assert command_routes(world.client.app) == set(listed)


def test_every_graphql_mutation_has_an_example(world):
    answer = world.client.post("/graphql", json={
        "query": "{ __schema { mutationType { fields { name } } } }"}).json()
    assert {f["name"] for f in answer["data"]["__schema"]["mutationType"]["fields"]} == set(
        MUTATIONS)


@pytest.mark.parametrize("route", EXAMPLES, ids=" ".join)
def test_a_command_records_its_caller_and_request_on_every_event(world, route):
    method, _ = route
    request = EXAMPLES[route](world)
    response, events = sent(world, method, request)
    assert response.status_code < 300, response.text
    assert events, "the example stored nothing"
    expected = ((request.caller or world.ada).actor, response.headers["X-Request-ID"])
    assert {(e.actor, e.correlation_id) for e in events} == {expected}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_graphql_mutation_records_its_caller_and_request_on_every_event(world, mutation):
    query, variables = MUTATIONS[mutation](world)
    response, events = sent(world, "POST", Request("/graphql", {
        "query": query, "variables": variables}))
    assert "errors" not in response.json(), response.text
    assert events, "the example stored nothing"
    assert {(e.actor, e.correlation_id) for e in events} == {
        (world.ada.actor, response.headers["X-Request-ID"])}


@pytest.mark.parametrize("route", STORE_NOTHING, ids=" ".join)
def test_a_query_sent_by_post_stores_nothing(world, route):
    response, events = sent(world, route[0], STORE_NOTHING[route][1](world))
    assert response.status_code < 300, response.text
    assert events == []


def test_registration_is_anonymous_and_its_session_the_users(world):
    response, events = sent(world, "POST", Request("/api/v1/auth/register", {
        "email": "grace@example.com", "password": PASSWORD, "name": "Grace"}, ANONYMOUS))
    user_id, request_id = response.json()["data"]["user"]["id"], response.headers[
        "X-Request-ID"]
    assert [(type(e).__qualname__, e.actor, e.correlation_id) for e in events] == [
        ("User.Registered", "anonymous", request_id),
        ("LoginSession.Started", f"user:{user_id}", request_id)]
