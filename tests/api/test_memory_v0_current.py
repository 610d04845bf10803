"""The Memory Service's current dialect (its newest Go SDK, CLI and MCP server), tried
with a client written from issue 15's text: paths without the user, the caller named by
`Authorization: Bearer <api key>`, errors {error, code (int), message}, tags objects,
plain-text contexts, and `POST /v0/search` with `memoryId` and no `userId`."""

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system
from tests.conftest import bearer, register

DEV_KEY = "LOCAL_DEV_MODE_NOT_FOR_PRODUCTION"


class Sdk:
    """What the SDK sends: its key on every request, JSON bodies, text contexts."""

    def __init__(self, client: TestClient, key: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def __getattr__(self, method: str):
        def call(path: str, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return self.client.request(method.upper(), path, headers=headers, **kwargs)
        return call


def api_key(client: TestClient, email: str = "ada@example.com") -> str:
    """A registered user's API key, once the API-key read model holds it."""
    user = register(client, email=email)
    issued = client.post("/api/v1/api-keys", headers=bearer(user["access_token"]),
                         json={"name": "sdk"})
    position = issued.headers["X-Event-Position"]
    client.get("/api/v1/api-keys",
               headers={**bearer(user["access_token"]), "X-Min-Position": position})
    return issued.json()["data"]["key"]


def app_client(settings, clock, **update):
    app = create_app(settings.model_copy(update=update),
                     open_system=lambda s: open_system(s, clock=clock))
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(settings, clock, workers):
    workers("users", "vaults", "memory_items", "api_keys", "login_sessions")
    with app_client(settings, clock) as test_client:
        yield test_client


@pytest.fixture
def sdk(client):
    return Sdk(client, api_key(client))


@pytest.fixture
def memory(sdk):
    vault = sdk.post("/v0/vaults", json={"title": "work"}).json()
    created = sdk.post(f"/v0/vaults/{vault['vaultId']}/memories",
                       json={"memoryType": "NOTES", "title": "notes"})
    assert created.status_code == 201, created.text
    return created.json()


def memory_path(memory: dict) -> str:
    return f"/v0/vaults/{memory['vaultId']}/memories/{memory['memoryId']}"


def add_entry(sdk, memory, **body):
    response = sdk.post(memory_path(memory) + "/entries",
                        json={"rawEntry": "hello", **body})
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "code", "message"}
    assert body["code"] == status and isinstance(body["message"], str)


# --- auth ---------------------------------------------------------------------------

@pytest.mark.parametrize("authorization", [None, "bearer {key}", "Bearer", "Bearer  {key}",
                                           "Bearer {key} extra", "Token {key}",
                                           "Bearer arq_not_a_key"])
def test_a_request_without_a_well_formed_valid_bearer_key_is_401(client, authorization):
    key = api_key(client)
    headers = {} if authorization is None else {
        "Authorization": authorization.format(key=key)}
    response = client.get("/v0/vaults", headers=headers)
    assert_error(response, 401)
    assert response.json()["error"] == "Unauthorized"


def test_the_401_comes_before_the_body_is_read(client):
    response = client.post("/v0/vaults", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert_error(response, 401)


@pytest.mark.parametrize("method,path", [("PATCH", "/v0/vaults"), ("TRACE", "/v0/vaults/x"),
                                         ("PUT", "/v0/vaults/x/memories"),
                                         ("HEAD", "/v0/vaults")])
def test_a_method_served_nowhere_at_the_path_is_405_with_or_without_a_key(
        client, method, path):
    """As on every other face: the methods a path serves are no secret."""
    for headers in ({}, {"Authorization": f"Bearer {api_key(client)}"}):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 405
        assert method not in response.headers["Allow"].split(", ")
        if method != "HEAD":  # a HEAD answer has no body
            assert_error(response, 405)


def test_an_access_token_is_not_an_api_key_here(client):
    user = register(client)
    assert_error(client.get("/v0/vaults", headers=bearer(user["access_token"])), 401)


def test_the_development_key_is_refused_unless_v0_is_open(client):
    assert_error(Sdk(client, DEV_KEY).get("/v0/vaults"), 401)


def test_the_development_key_acts_as_mycelian_dev_when_v0_is_open(settings, clock,
                                                                   workers):
    workers("users", "vaults", "memory_items")
    with app_client(settings, clock, v0_auth="open") as open_client:
        dev = Sdk(open_client, DEV_KEY)
        created = dev.post("/v0/vaults", json={"title": "local"})
        assert created.status_code == 201, created.text
        assert created.json()["actorId"] == "mycelian-dev"
        assert [v["title"] for v in dev.get("/v0/vaults").json()["vaults"]] == ["local"]
        assert_error(open_client.get("/v0/vaults"), 401)  # a key is needed even open


def test_health_needs_no_key(client):
    assert client.get("/v0/health").status_code == 200


def test_one_callers_vaults_are_not_anothers(client, sdk):
    vault = sdk.post("/v0/vaults", json={"title": "mine"}).json()
    other = Sdk(client, api_key(client, email="bob@example.com"))
    assert other.get("/v0/vaults").json() == {"vaults": [], "count": 0}
    assert_error(other.get(f"/v0/vaults/{vault['vaultId']}"), 404)


# --- vaults and memories ----------------------------------------------------------

def test_a_vault_is_created_listed_newest_first_and_read_by_id_or_title(sdk):
    first = sdk.post("/v0/vaults", json={"title": "Vault Title", "description": "d"})
    assert first.status_code == 201
    body = first.json()
    assert set(body) == {"vaultId", "actorId", "title", "description", "creationTime"}
    sdk.post("/v0/vaults", json={"title": "second"})
    listed = sdk.get("/v0/vaults").json()
    assert listed["count"] == 2 and [v["title"] for v in listed["vaults"]] == [
        "second", "Vault Title"]
    assert sdk.get(f"/v0/vaults/{body['vaultId']}").json() == body
    assert sdk.get("/v0/vaults/Vault%20Title").json() == body


def test_a_duplicate_vault_title_is_409(sdk):
    sdk.post("/v0/vaults", json={"title": "work"})
    assert_error(sdk.post("/v0/vaults", json={"title": "work"}), 409)


def test_an_unknown_vault_is_404_in_this_dialects_shape(sdk):
    response = sdk.get(f"/v0/vaults/{uuid4()}")
    assert_error(response, 404)
    assert response.json()["error"] == "Not Found"


def test_a_bad_body_is_400_in_this_dialects_shape(sdk):
    assert_error(sdk.post("/v0/vaults", json={"description": "no title"}), 400)


def test_deleting_a_vault_is_204_and_again_204(sdk, memory):
    path = f"/v0/vaults/{memory['vaultId']}"
    assert sdk.delete(path).status_code == 204
    assert_error(sdk.get(path), 404)
    assert_error(sdk.get(memory_path(memory)), 404)
    assert sdk.delete(path).status_code == 204


def test_a_memory_is_created_listed_and_read(sdk, memory):
    assert set(memory) == {"memoryId", "actorId", "vaultId", "memoryType", "title",
                           "creationTime"}
    assert memory["memoryType"] == "NOTES"
    listed = sdk.get(f"/v0/vaults/{memory['vaultId']}/memories").json()
    assert listed == {"memories": [memory], "count": 1}
    assert sdk.get(memory_path(memory)).json() == memory
    assert sdk.get(f"/v0/vaults/{memory['vaultId']}/memories/notes").json() == memory


def test_a_memory_is_deleted_with_204_and_again_204(sdk, memory):
    assert sdk.delete(memory_path(memory)).status_code == 204
    assert_error(sdk.get(memory_path(memory)), 404)
    assert sdk.delete(memory_path(memory)).status_code == 204


def test_attaching_a_memory_to_another_vault_is_204(sdk, memory):
    other = sdk.post("/v0/vaults", json={"title": "other"}).json()
    moved = sdk.post(f"/v0/vaults/{other['vaultId']}/memories/{memory['memoryId']}/attach")
    assert moved.status_code == 204 and moved.content == b""
    assert sdk.get(f"/v0/vaults/{other['vaultId']}/memories/{memory['memoryId']}"
                   ).json()["vaultId"] == other["vaultId"]


# --- entries ------------------------------------------------------------------------

def test_an_entry_without_tags_has_no_tags_key_anywhere(sdk, memory):
    entry = add_entry(sdk, memory, summary="greeting")
    assert "tags" not in entry
    assert set(entry) == {"entryId", "actorId", "vaultId", "memoryId", "rawEntry",
                          "summary", "creationTime"}
    path = memory_path(memory) + f"/entries/{entry['entryId']}"
    assert sdk.get(path).json() == entry
    assert sdk.get(memory_path(memory) + "/entries").json() == {"entries": [entry],
                                                                 "count": 1}


def test_an_expiration_utc_cannot_hold_is_a_400(sdk, memory):
    response = sdk.post(memory_path(memory) + "/entries",
                        json={"rawEntry": "x",
                              "expirationTime": "9999-12-31T23:59:59-14:00"})
    assert response.status_code == 400, response.text
    assert sdk.get(memory_path(memory) + "/entries").json()["count"] == 0


def test_entry_tags_and_metadata_are_objects(sdk, memory):
    entry = add_entry(sdk, memory, tags={"topic": "work"}, metadata={"source": "chat"})
    assert entry["tags"] == {"topic": "work"} and entry["metadata"] == {"source": "chat"}
    path = memory_path(memory) + f"/entries/{entry['entryId']}/tags"
    retagged = sdk.patch(path, json={"tags": {"topic": "home"}})
    assert retagged.status_code == 200 and retagged.json()["tags"] == {"topic": "home"}


def test_tags_as_a_list_are_refused_here(sdk, memory):
    assert_error(sdk.post(memory_path(memory) + "/entries",
                          json={"rawEntry": "x", "tags": ["a"]}), 400)


def test_entries_are_listed_newest_first_with_limit_and_before(sdk, memory, clock):
    from datetime import timedelta
    old = add_entry(sdk, memory, rawEntry="old")
    clock.now += timedelta(seconds=10)
    new = add_entry(sdk, memory, rawEntry="new")
    entries = sdk.get(memory_path(memory) + "/entries").json()["entries"]
    assert [e["entryId"] for e in entries] == [new["entryId"], old["entryId"]]
    assert sdk.get(memory_path(memory) + "/entries", params={"limit": 1}
                   ).json()["count"] == 1
    before = sdk.get(memory_path(memory) + "/entries",
                     params={"before": new["creationTime"], "after": new["creationTime"]})
    assert [e["entryId"] for e in before.json()["entries"]] == [old["entryId"]]


def test_deleting_an_entry_is_204_even_when_it_is_gone(sdk, memory):
    entry = add_entry(sdk, memory)
    path = memory_path(memory) + f"/entries/{entry['entryId']}"
    assert sdk.delete(path).status_code == 204
    assert_error(sdk.get(path), 404)
    assert sdk.delete(path).status_code == 204
    assert sdk.delete(memory_path(memory) + f"/entries/{uuid4()}").status_code == 204


# --- contexts -----------------------------------------------------------------------

def test_a_text_context_is_stored_and_read_back_as_text(sdk, memory):
    path = memory_path(memory) + "/contexts"
    put = sdk.put(path, content="line one\nline two\ttabbed".encode(),
                  headers={"Content-Type": "text/plain; charset=utf-8"})
    assert put.status_code == 201, put.text
    body = put.json()
    assert set(body) == {"contextId", "actorId", "vaultId", "memoryId", "context",
                         "creationTime"}
    assert body["context"] == "line one\nline two\ttabbed"
    got = sdk.get(path)
    assert got.status_code == 200 and got.headers["content-type"] == (
        "text/plain; charset=utf-8")
    assert got.text == "line one\nline two\ttabbed"


def test_a_context_without_content_type_is_taken_as_text(sdk, memory):
    assert sdk.put(memory_path(memory) + "/contexts", content=b"plain").status_code == 201


@pytest.mark.parametrize(("content", "content_type", "status"), [
    (b"text", "application/json", 415),
    (b"text", "text/html", 415),
    (b"", "text/plain", 400),
    (b"\xff\xfe", "text/plain", 400),
    (b"bell \x07", "text/plain", 400),
    (b"x" * 65_537, "text/plain", 413),
])
def test_a_context_breaking_the_text_rules_is_refused(sdk, memory, content, content_type,
                                                      status):
    response = sdk.put(memory_path(memory) + "/contexts", content=content,
                       headers={"Content-Type": content_type})
    assert_error(response, status)


def test_a_context_of_65536_characters_is_taken(sdk, memory):
    response = sdk.put(memory_path(memory) + "/contexts", content="é".encode() * 65_536,
                       headers={"Content-Type": "text/plain"})
    assert response.status_code == 201


def test_a_deleted_context_is_204_and_the_one_before_is_latest_again(sdk, memory):
    path = memory_path(memory) + "/contexts"
    sdk.put(path, content=b"first")
    second = sdk.put(path, content=b"second").json()
    assert sdk.delete(f"{path}/{second['contextId']}").status_code == 204
    assert sdk.get(path).text == "first"


# --- search -------------------------------------------------------------------------

def search(sdk, memory, **body):
    response = sdk.post("/v0/search", json={"memoryId": memory["memoryId"], **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_search_answers_scored_entries_and_the_contexts(sdk, memory):
    budget = add_entry(sdk, memory, rawEntry="The quarterly budget review is on Friday",
                       tags={"topic": "finance"})
    add_entry(sdk, memory, rawEntry="Remember to water the plants")
    sdk.put(memory_path(memory) + "/contexts", content=b"we talked about the budget")
    sdk.put(memory_path(memory) + "/contexts", content=b"the garden needs water")
    found = search(sdk, memory, query="  budget  ", topK=1)
    assert set(found) == {"entries", "count", "latestContext", "contextTimestamp",
                          "bestContext", "bestContextTimestamp", "bestContextScore"}
    assert found["count"] == 1
    hit = found["entries"][0]
    assert hit["entryId"] == budget["entryId"] and hit["tags"] == {"topic": "finance"}
    assert isinstance(hit["score"], float) and "entry" not in hit
    assert found["latestContext"] == "the garden needs water"
    assert found["bestContext"] == "we talked about the budget"
    assert found["bestContextTimestamp"] and isinstance(found["bestContextScore"], float)


def test_a_hit_without_tags_has_no_tags_key(sdk, memory):
    add_entry(sdk, memory, rawEntry="tagless budget note")
    assert "tags" not in search(sdk, memory, query="budget")["entries"][0]


def test_a_deleted_entry_is_gone_from_the_next_search(sdk, memory):
    entry = add_entry(sdk, memory, rawEntry="budget meeting")
    assert search(sdk, memory, query="budget")["count"] == 1
    sdk.delete(memory_path(memory) + f"/entries/{entry['entryId']}")
    assert search(sdk, memory, query="budget")["count"] == 0


def test_top_k_out_of_range_is_brought_back_in(sdk, memory):
    for n in range(12):
        add_entry(sdk, memory, rawEntry=f"budget item {n}")
    assert search(sdk, memory, query="budget", topK=0)["count"] == 10
    assert search(sdk, memory, query="budget", topK=1000)["count"] == 12


def test_search_errors_are_in_this_dialects_shape(sdk, memory):
    missing = sdk.post("/v0/search", json={"memoryId": memory["memoryId"]})
    assert_error(missing, 400)
    assert missing.json()["message"] == "query: Field required"
    assert_error(sdk.post("/v0/search", json={"memoryId": memory["memoryId"],
                                              "query": "   "}), 400)
    assert_error(sdk.post("/v0/search", json={"memoryId": str(uuid4()), "query": "x"}),
                 404)


def test_search_in_this_dialect_needs_a_bearer_api_key(client, memory):
    response = client.post("/v0/search", json={"memoryId": memory["memoryId"],
                                               "query": "x"})
    assert_error(response, 401)


# --- one user through both dialects ------------------------------------------------

@pytest.fixture
def both(client):
    """One user's seed client (its access token, v0 userId ada_1) and its SDK (its
    API key), with one memory made through the SDK."""
    user = register(client)
    seed = bearer(user["access_token"])
    claimed = client.post("/v0/users", headers=seed,
                          json={"userId": "ada_1", "email": "ada@example.com"})
    assert claimed.status_code == 201, claimed.text
    issued = client.post("/api/v1/api-keys", headers=seed, json={"name": "sdk"})
    client.get("/api/v1/api-keys", headers={
        **seed, "X-Min-Position": issued.headers["X-Event-Position"]})
    sdk = Sdk(client, issued.json()["data"]["key"])
    vault = sdk.post("/v0/vaults", json={"title": "work"}).json()
    memory = sdk.post(f"/v0/vaults/{vault['vaultId']}/memories",
                      json={"memoryType": "NOTES", "title": "notes"}).json()
    seed_path = f"/v0/users/ada_1/vaults/{vault['vaultId']}/memories/{memory['memoryId']}"
    return client, seed, sdk, memory, seed_path


def test_a_text_context_is_a_json_string_on_the_seeds_paths(both):
    client, seed, sdk, memory, seed_path = both
    sdk.put(memory_path(memory) + "/contexts", content=b"plain words")
    assert client.get(seed_path + "/contexts", headers=seed).json()["context"] == (
        "plain words")


def test_a_json_context_of_the_seeds_paths_is_served_as_its_json_text(both):
    client, seed, sdk, memory, seed_path = both
    client.put(seed_path + "/contexts", headers=seed, json={"context": {"step": 2}})
    assert sdk.get(memory_path(memory) + "/contexts").text == '{"step": 2}'


def test_a_memory_without_context_has_empty_contexts_and_null_timestamps(both):
    client, seed, sdk, memory, seed_path = both
    default = client.get(seed_path + "/contexts", headers=seed).json()
    client.delete(f"{seed_path}/contexts/{default['contextId']}", headers=seed)
    assert_error(sdk.get(memory_path(memory) + "/contexts"), 404)
    found = search(sdk, memory, query="anything")
    assert (found["latestContext"], found["contextTimestamp"], found["bestContext"],
            found["bestContextTimestamp"], found["bestContextScore"]) == (
        "", None, "", None, 0.0)


def test_an_entry_added_with_list_tags_on_the_seeds_paths_has_object_tags_here(both):
    client, seed, sdk, memory, seed_path = both
    added = client.post(seed_path + "/entries", headers=seed,
                        json={"rawEntry": "x", "tags": ["a", "b"]}).json()
    entry = sdk.get(memory_path(memory) + f"/entries/{added['entryId']}").json()
    assert entry["tags"] == {"a": "", "b": ""}


# --- the middleware every route goes through ------------------------------------------

def test_an_idempotent_retry_gets_the_first_answer_and_stores_nothing_new(sdk, memory):
    headers = {"Idempotency-Key": "add-once"}
    path = memory_path(memory) + "/entries"
    first = sdk.post(path, json={"rawEntry": "once"}, headers=headers)
    again = sdk.post(path, json={"rawEntry": "once"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert sdk.get(path).json()["count"] == 1


def test_the_development_keys_retry_is_answered_once_too(settings, clock, workers):
    workers("users", "vaults", "memory_items")
    with app_client(settings, clock, v0_auth="open") as open_client:
        dev = Sdk(open_client, DEV_KEY)
        key = {"Idempotency-Key": "k"}
        first = dev.post("/v0/vaults", json={"title": "t"}, headers=key)
        again = dev.post("/v0/vaults", json={"title": "t"}, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()


def test_json_nested_too_deep_is_refused_400_in_this_dialects_shape(sdk, memory):
    deep = {"rawEntry": "x", "metadata": {}}
    level = deep["metadata"]
    for _ in range(100):
        level["a"] = {}
        level = level["a"]
    assert_error(sdk.post(memory_path(memory) + "/entries", json=deep), 400)
