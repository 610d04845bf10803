"""Memory Service v0 face (seed 002) with ARQIUM_V0_AUTH=open, as its seed runs:
users, vaults, memories, contexts, entries and search, with the Go SDK's variants."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.system.bootstrap import open_system

V0_ERROR_KEYS = {"error", "message", "code"}


@pytest.fixture
def v0(settings, clock, workers):
    workers("users", "vaults", "memory_items")
    open_settings = settings.model_copy(update={"v0_auth": "open"})
    app = create_app(open_settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def make_user(v0, user_id="ada_1", email="ada@example.com"):
    response = v0.post("/v0/users", json={"userId": user_id, "email": email,
                                          "displayName": "Ada", "timeZone": "Europe/Paris"})
    assert response.status_code == 201, response.text
    return response.json()


def make_vault(v0, title="work", user_id="ada_1"):
    response = v0.post(f"/v0/users/{user_id}/vaults",
                       json={"title": title, "description": "job"})
    assert response.status_code == 201, response.text
    return response.json()


def make_memory(v0, vault, title="notes", memory_type="conversation"):
    response = v0.post(f"/v0/users/{vault['userId']}/vaults/{vault['vaultId']}/memories",
                       json={"title": title, "memoryType": memory_type})
    assert response.status_code == 201, response.text
    return response.json()


def memory_path(memory) -> str:
    return (f"/v0/users/{memory['userId']}/vaults/{memory['vaultId']}"
            f"/memories/{memory['memoryId']}")


def add_entry(v0, memory, **body):
    response = v0.post(memory_path(memory) + "/entries", json={"rawEntry": "hello", **body})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def memory(v0):
    make_user(v0)
    return make_memory(v0, make_vault(v0))


def test_a_user_is_created_and_read_back(v0):
    created = make_user(v0)
    assert created["userId"] == "ada_1" and created["timeZone"] == "Europe/Paris"
    read = v0.get("/v0/users/ada_1")
    assert read.status_code == 200
    body = read.json()
    assert (body["email"], body["displayName"], body["timeZone"]) == (
        "ada@example.com", "Ada", "Europe/Paris")
    assert body["created_at"] and body["updated_at"] and body["creationTime"]


def test_an_existing_user_id_is_409(v0):
    make_user(v0)
    again = v0.post("/v0/users", json={"userId": "ada_1", "email": "other@example.com"})
    assert again.status_code == 409
    assert set(again.json()) == V0_ERROR_KEYS


def test_an_invalid_user_id_is_400_in_the_v0_error_shape(v0):
    response = v0.post("/v0/users", json={"userId": "a-b", "email": "a@example.com"})
    assert response.status_code == 400
    assert set(response.json()) == V0_ERROR_KEYS
    assert "invalid user ID format" in response.json()["message"]
    assert v0.get("/v0/users/Not-Valid").status_code == 400


def test_malformed_json_is_400(v0):
    response = v0.post("/v0/users", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_JSON"


def test_an_unknown_user_is_404(v0):
    response = v0.get("/v0/users/nobody")
    assert response.status_code == 404
    assert set(response.json()) == V0_ERROR_KEYS


def test_vaults_are_listed_read_by_id_or_title_and_deleted(v0):
    make_user(v0)
    vault = make_vault(v0, "work")
    make_vault(v0, "home")
    listed = v0.get("/v0/users/ada_1/vaults").json()
    assert listed["count"] == 2
    assert [v["title"] for v in listed["vaults"]] == ["work", "home"]
    assert v0.get(f"/v0/users/ada_1/vaults/{vault['vaultId']}").json()["title"] == "work"
    assert v0.get("/v0/users/ada_1/vaults/work").json()["vaultId"] == vault["vaultId"]
    assert v0.delete(f"/v0/users/ada_1/vaults/{vault['vaultId']}").status_code == 204
    assert v0.get(f"/v0/users/ada_1/vaults/{vault['vaultId']}").status_code == 404
    assert v0.get("/v0/users/ada_1/vaults").json()["count"] == 1


def test_a_memory_answers_both_type_spellings_and_is_found_by_title(v0, memory):
    assert memory["memoryType"] == memory["memory_type"] == "conversation"
    vault_path = f"/v0/users/ada_1/vaults/{memory['vaultId']}"
    listed = v0.get(vault_path + "/memories").json()
    assert listed["count"] == 1 and listed["memories"][0]["memoryId"] == memory["memoryId"]
    by_titles = v0.get("/v0/users/ada_1/vaults/work/memories/notes")
    assert by_titles.json()["memoryId"] == memory["memoryId"]
    assert v0.get("/v0/users/ada_1/vaults/work/memories").json()["count"] == 1


def test_contexts_put_read_latest_and_delete_back_to_the_previous(v0, memory):
    first = v0.put(memory_path(memory) + "/contexts", json={"context": {"step": 1}})
    assert first.status_code == 201
    body = first.json()
    assert {"contextId", "userId", "vaultId", "memoryId", "context", "createdAt",
            "creationTime"} <= set(body)
    second = v0.put(memory_path(memory) + "/contexts", json={"context": "plain text"})
    latest = v0.get(memory_path(memory) + "/contexts").json()
    assert latest["contextId"] == second.json()["contextId"]
    assert latest["context"] == "plain text"
    deleted = v0.delete(memory_path(memory) + f"/contexts/{latest['contextId']}")
    assert deleted.status_code == 204
    assert v0.get(memory_path(memory) + "/contexts").json()["context"] == {"step": 1}
    unknown = v0.delete(memory_path(memory) + f"/contexts/{latest['contextId']}")
    assert unknown.status_code == 404


def test_an_entry_carries_summary_metadata_and_times(v0, memory, clock):
    expires = (clock() + timedelta(hours=1)).isoformat()
    entry = add_entry(v0, memory, rawEntry="met Bob", summary="Bob",
                      metadata={"speaker": "user"}, expirationTime=expires)
    assert (entry["summary"], entry["metadata"]) == ("Bob", {"speaker": "user"})
    assert entry["creationTime"] and entry["expirationTime"]
    assert {"entryId", "userId", "vaultId", "memoryId", "rawEntry"} <= set(entry)


def test_an_expiration_in_the_past_is_400(v0, memory, clock):
    past = (clock() - timedelta(minutes=1)).isoformat()
    response = v0.post(memory_path(memory) + "/entries",
                       json={"rawEntry": "x", "expirationTime": past})
    assert response.status_code == 400


def test_an_expiration_utc_cannot_hold_is_400_and_stores_nothing(v0, memory, system):
    stored = system.memory.recorder.max_notification_id()
    response = v0.post(memory_path(memory) + "/entries",
                       json={"rawEntry": "x",
                             "expirationTime": "9999-12-31T23:59:59-14:00"})
    assert response.status_code == 400, response.text
    assert "9999" in response.text
    assert system.memory.recorder.max_notification_id() == stored


def test_entries_are_listed_newest_first_by_offset_or_time(v0, memory, clock):
    times = []
    for n in range(4):
        times.append(add_entry(v0, memory, rawEntry=f"entry {n}")["creationTime"])
        clock.advance(seconds=1)
    page = v0.get(memory_path(memory) + "/entries?limit=2&offset=1").json()
    assert [e["rawEntry"] for e in page["entries"]] == ["entry 2", "entry 1"]
    assert page["count"] == 2
    before = v0.get(memory_path(memory) + "/entries", params={"before": times[2]}).json()
    assert [e["rawEntry"] for e in before["entries"]] == ["entry 1", "entry 0"]
    after = v0.get(memory_path(memory) + "/entries", params={"after": times[2]}).json()
    assert [e["rawEntry"] for e in after["entries"]] == ["entry 3"]


def test_entry_tags_are_replaced_and_an_entry_deleted(v0, memory):
    entry = add_entry(v0, memory, tags=["old"])
    path = memory_path(memory) + f"/entries/{entry['entryId']}"
    patched = v0.patch(path + "/tags", json={"tags": {"new": "yes"}})
    assert patched.status_code == 200 and patched.json()["tags"] == {"new": "yes"}
    assert v0.get(path).json()["tags"] == {"new": "yes"}
    assert v0.delete(path).status_code == 204
    assert v0.get(path).status_code == 404
    assert v0.delete(path).status_code == 404


@pytest.mark.parametrize("body", [{"rawEntry": "x", "tags": "nope"},
                                  {"rawEntry": "x", "tags": {"k": 1}}])
def test_bad_entries_are_400_and_store_nothing(v0, memory, body):
    response = v0.post(memory_path(memory) + "/entries", json=body)
    assert response.status_code == 400
    assert set(response.json()) == V0_ERROR_KEYS
    assert v0.get(memory_path(memory) + "/entries").json()["count"] == 0


def test_unknown_vaults_memories_and_entries_are_404(v0, memory):
    base = f"/v0/users/ada_1/vaults/{memory['vaultId']}/memories"
    assert v0.get("/v0/users/ada_1/vaults/nothing").status_code == 404
    assert v0.get(base + "/not-a-memory").status_code == 404
    assert v0.post(base + "/00000000-0000-0000-0000-000000000000/entries",
                   json={"rawEntry": "x"}).status_code == 404
    assert v0.get(memory_path(memory) + "/entries/not-a-uuid").status_code == 404


def test_deleting_a_vault_deletes_its_memories_and_entries_as_events(v0, memory, system):
    entry = add_entry(v0, memory, rawEntry="goes with it")
    assert v0.delete(f"/v0/users/ada_1/vaults/{memory['vaultId']}").status_code == 204
    assert v0.get(memory_path(memory)).status_code == 404
    types = [type(e).__qualname__ for e in system.memory.events.get(
        _entry_item_id(system, memory, entry))]
    assert types == ["MemoryItem.Upserted", "MemoryItem.Deleted"]


def _entry_item_id(system, memory, entry):
    from arqium.domain.memory.domainmodel import memory_id_for
    from arqium.domain.memory.vaults import entry_key
    owner = system.identity.user_of_handle(memory["userId"])
    return memory_id_for(owner, entry_key(memory["memoryId"], entry["entryId"]))


def test_a_memory_is_attached_to_another_vault(v0, memory):
    other = make_vault(v0, "home")
    attached = v0.post(f"/v0/users/ada_1/vaults/{other['vaultId']}/memories/"
                       f"{memory['memoryId']}/attach")
    assert attached.status_code == 201
    assert attached.json()["vaultId"] == other["vaultId"]
    assert v0.get("/v0/users/ada_1/vaults/home/memories/notes").status_code == 200
    assert v0.get("/v0/users/ada_1/vaults/work/memories/notes").status_code == 404


@pytest.fixture
def searchable(settings, clock, workers):
    workers("users", "vaults", "memory_items", "memory_embeddings")
    open_settings = settings.model_copy(update={"v0_auth": "open"})
    app = create_app(open_settings, open_system=lambda s: open_system(s, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        make_user(test_client)
        yield test_client


def search_until(v0, body, expected: int, timeout: float = 10.0) -> dict:
    """New entries become searchable once the projections indexed them."""
    deadline = time.monotonic() + timeout
    while True:
        answer = v0.post("/v0/search", json=body)
        assert answer.status_code == 200, answer.text
        if answer.json()["count"] >= expected or time.monotonic() > deadline:
            return answer.json()
        time.sleep(0.1)


def test_search_finds_a_new_entry_with_a_highlighted_snippet(searchable):
    v0 = searchable
    memory = make_memory(v0, make_vault(v0))
    entry = add_entry(v0, memory, rawEntry="The quarterly budget review is on Friday",
                      tags={"topic": "finance"})
    add_entry(v0, memory, rawEntry="Remember to water the plants")
    found = search_until(v0, {"userId": "ada_1", "memoryId": memory["memoryId"],
                              "query": "budget", "limit": 1}, 1)
    hit = found["entries"][0]
    assert hit["entryId"] == hit["entry"]["entryId"] == entry["entryId"]
    assert hit["tags"] == {"topic": "finance"}
    assert "<mark>budget</mark>" in hit["snippet"]
    assert 0 < hit["score"] <= 1
    assert isinstance(found["processingTimeMs"], int)
    assert found["latestContext"] == {} and found["contextTimestamp"]


def test_search_filters_by_memory_tags_and_memory_type(searchable):
    v0 = searchable
    vault = make_vault(v0)
    notes = make_memory(v0, vault, "notes", "conversation")
    docs = make_memory(v0, vault, "docs", "document")
    add_entry(v0, notes, rawEntry="apple pie recipe", tags=["food"])
    add_entry(v0, docs, rawEntry="apple orchard report", tags={"work": "yes"})
    everything = search_until(v0, {"userId": "ada_1", "query": "apple", "topK": 5}, 2)
    assert everything["count"] == 2
    only_docs = v0.post("/v0/search", json={"userId": "ada_1", "query": "apple",
                                            "memoryId": docs["memoryId"]}).json()
    assert [e["memoryId"] for e in only_docs["entries"]] == [docs["memoryId"]]
    by_key = v0.post("/v0/search", json={"userId": "ada_1", "query": "apple",
                                         "filters": {"tags": ["work"]}}).json()
    assert [e["rawEntry"] for e in by_key["entries"]] == ["apple orchard report"]
    by_type = v0.post("/v0/search", json={
        "userId": "ada_1", "query": "apple",
        "filters": {"memoryType": "conversation"}}).json()
    assert [e["rawEntry"] for e in by_type["entries"]] == ["apple pie recipe"]


@pytest.mark.parametrize("body", [{"userId": "ada_1", "query": ""},
                                  {"userId": "ada_1", "query": "x", "limit": 101},
                                  {"userId": "Bad User", "query": "x"}])
def test_bad_searches_are_400(searchable, body):
    response = searchable.post("/v0/search", json=body)
    assert response.status_code == 400
    assert set(response.json()) == V0_ERROR_KEYS


def test_search_in_an_unknown_memory_is_404(searchable):
    response = searchable.post("/v0/search", json={
        "userId": "ada_1", "query": "x", "memoryId": "00000000-0000-0000-0000-000000000000"})
    assert response.status_code == 404


def test_open_v0_never_takes_over_a_registered_account(v0):
    from tests.conftest import register
    register(v0, email="admin@example.com")
    response = v0.post("/v0/users", json={"userId": "mallory",
                                          "email": "admin@example.com"})
    assert response.status_code == 409
    assert v0.get("/v0/users/mallory").status_code == 404


# --- issue 15: the seed SDK's entries without tags, titles as the seed writes them ---

@pytest.mark.parametrize("tags", [{}, {"tags": None}])
def test_an_entry_stored_without_tags_is_answered_without_tags(searchable, tags):
    v0 = searchable
    memory = make_memory(v0, make_vault(v0))
    entry = add_entry(v0, memory, rawEntry="tagless budget note", **tags)
    path = memory_path(memory) + "/entries"
    read = v0.get(f"{path}/{entry['entryId']}").json()
    listed = v0.get(path).json()["entries"][0]
    hit = search_until(v0, {"userId": "ada_1", "memoryId": memory["memoryId"],
                            "query": "budget"}, 1)["entries"][0]
    for body in (entry, read, listed, hit, hit["entry"]):
        assert "tags" not in body and body["entryId"] == entry["entryId"]


def test_an_entry_stored_with_an_empty_list_gets_its_list_back(v0, memory):
    assert add_entry(v0, memory, tags=[])["tags"] == []


def test_tags_of_an_untagged_entry_can_be_set_later(v0, memory):
    entry = add_entry(v0, memory)
    path = memory_path(memory) + f"/entries/{entry['entryId']}"
    assert v0.patch(path + "/tags", json={"tags": {"k": "v"}}).json()["tags"] == {"k": "v"}


def test_titles_of_the_seeds_examples_are_taken_and_found_url_encoded(v0):
    make_user(v0)
    vault = make_vault(v0, title="Vault Title")
    memory = make_memory(v0, vault, title="Memory Title")
    found = v0.get("/v0/users/ada_1/vaults/Vault%20Title/memories/Memory%20Title")
    assert found.status_code == 200 and found.json()["memoryId"] == memory["memoryId"]
    assert v0.get("/v0/users/ada_1/vaults/Vault%20Title").json()["vaultId"] == (
        vault["vaultId"])


def test_a_title_of_100_printable_characters_is_taken(v0):
    make_user(v0)
    assert make_vault(v0, title="é ?#%&" + "x" * 94)["title"] == "é ?#%&" + "x" * 94


def test_a_spaced_title_is_still_unique(v0):
    make_user(v0)
    make_vault(v0, title="Vault Title")
    again = v0.post("/v0/users/ada_1/vaults", json={"title": "Vault Title"})
    assert again.status_code == 409


@pytest.mark.parametrize("title", ["", "   ", "x" * 101, "a/b", "tab\there", "nul\x00",
                                   "line\nbreak"])
def test_a_title_that_is_not_1_to_100_printable_characters_without_slash_is_400(v0, title):
    make_user(v0)
    response = v0.post("/v0/users/ada_1/vaults", json={"title": title})
    assert response.status_code == 400
    assert set(response.json()) == V0_ERROR_KEYS
