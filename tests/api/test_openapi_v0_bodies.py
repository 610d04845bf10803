"""Memory Service v0 answers its successes with the bodies /openapi.json documents (the
schemathesis run reaches few successes there: its ids are random)."""

import jsonschema_rs  # schemathesis validates with it too
import pytest

from tests.api.test_memory_v0 import (  # noqa: F401 (v0 is a fixture)
    add_entry,
    make_memory,
    make_user,
    make_vault,
    memory_path,
    search_until,
    v0,
)


@pytest.fixture
def document(v0) -> dict:  # noqa: F811
    return v0.get("/openapi.json").json()


def assert_documented(document: dict, template: str, method: str, response) -> None:
    """The response's body is valid against what the document says it answers."""
    assert response.is_success, response.text
    declared = document["paths"][template][method]["responses"][str(response.status_code)]
    schema = {**declared["content"]["application/json"]["schema"],
              "components": document["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(response.json())


def test_each_v0_success_body_is_the_documented_one(v0, document):  # noqa: F811
    user = "/v0/users/{userId}"
    vault = user + "/vaults/{vaultId}"
    memory_template = vault + "/memories/{memoryId}"
    entry = memory_template + "/entries/{entryId}"
    make_user(v0)
    assert_documented(document, user, "get", v0.get("/v0/users/ada_1"))
    made_vault = make_vault(v0)
    assert_documented(document, user + "/vaults", "get", v0.get("/v0/users/ada_1/vaults"))
    vault_path = f"/v0/users/ada_1/vaults/{made_vault['vaultId']}"
    assert_documented(document, vault, "get", v0.get(vault_path))
    memory = make_memory(v0, made_vault)
    assert_documented(document, vault + "/memories", "get",
                      v0.get(vault_path + "/memories"))
    path = memory_path(memory)
    assert_documented(document, memory_template, "get", v0.get(path))
    put = v0.put(path + "/contexts", json={"context": {"step": 1}})
    assert_documented(document, memory_template + "/contexts", "put", put)
    assert_documented(document, memory_template + "/contexts", "get",
                      v0.get(path + "/contexts"))
    added = add_entry(v0, memory, tags=["old"], metadata={"k": 1})
    entries = v0.get(path + "/entries")
    assert_documented(document, memory_template + "/entries", "get", entries)
    entry_path = path + f"/entries/{added['entryId']}"
    assert_documented(document, entry, "get", v0.get(entry_path))
    patched = v0.patch(entry_path + "/tags", json={"tags": {"new": "yes"}})
    assert_documented(document, entry + "/tags", "patch", patched)
    assert search_until(v0, {"userId": "ada_1", "query": "hello"}, 1)["count"] == 1
    assert_documented(document, "/v0/search", "post",
                      v0.post("/v0/search", json={"userId": "ada_1", "query": "hello"}))
    assert_documented(document, "/v0/health", "get", v0.get("/v0/health"))


def test_each_current_dialect_success_body_is_the_documented_one(settings, clock, workers):
    from tests.api.test_memory_v0_current import DEV_KEY, Sdk, app_client

    workers("users", "vaults", "memory_items")
    with app_client(settings, clock, v0_auth="open") as client:
        document = client.get("/openapi.json").json()
        sdk = Sdk(client, DEV_KEY)
        vault_template = "/v0/vaults/{vaultId}"
        memory_template = vault_template + "/memories/{memoryId}"
        entry_template = memory_template + "/entries/{entryId}"
        vault = sdk.post("/v0/vaults", json={"title": "Vault Title", "description": "d"})
        assert_documented(document, "/v0/vaults", "post", vault)
        assert_documented(document, "/v0/vaults", "get", sdk.get("/v0/vaults"))
        vault_path = f"/v0/vaults/{vault.json()['vaultId']}"
        assert_documented(document, vault_template, "get", sdk.get(vault_path))
        memory = sdk.post(vault_path + "/memories", json={"memoryType": "NOTES",
                                                          "title": "notes"})
        assert_documented(document, vault_template + "/memories", "post", memory)
        assert_documented(document, vault_template + "/memories", "get",
                          sdk.get(vault_path + "/memories"))
        path = f"{vault_path}/memories/{memory.json()['memoryId']}"
        assert_documented(document, memory_template, "get", sdk.get(path))
        put = sdk.put(path + "/contexts", content=b"notes so far")
        assert_documented(document, memory_template + "/contexts", "put", put)
        entry = sdk.post(path + "/entries", json={"rawEntry": "hello", "tags": {"a": "b"},
                                                  "metadata": {"k": 1}})
        assert_documented(document, memory_template + "/entries", "post", entry)
        assert_documented(document, memory_template + "/entries", "get",
                          sdk.get(path + "/entries"))
        entry_path = path + f"/entries/{entry.json()['entryId']}"
        assert_documented(document, entry_template, "get", sdk.get(entry_path))
        assert_documented(document, entry_template + "/tags", "patch",
                          sdk.patch(entry_path + "/tags", json={"tags": {"c": "d"}}))
        assert_documented(document, "/v0/search", "post", sdk.post(
            "/v0/search", json={"memoryId": memory.json()["memoryId"], "query": "hello"}))
