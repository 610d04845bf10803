"""ARQIUM memory lists page as every ARQIUM list does (`page`, `per_page`, answered in
meta.pagination): recent memories, search hits and a memory's history; `limit`, the
lists' old parameter, still works."""

import pytest

from tests.conftest import bearer, register


@pytest.fixture(autouse=True)
def projectors(workers):
    workers("memory_items", "memory_embeddings")  # search waits for both


def store(client, user, key: str, content: str = "likes dark mode"):
    response = client.post("/api/v1/memory/store", headers=user["headers"],
                           json={"key": key, "content": content})
    assert response.status_code == 201, response.text
    return response


def store_many(client, user, count: int, content: str = "likes dark mode") -> dict:
    """`count` memories k0, k1 ...; the headers that read them all."""
    for index in range(count):
        written = store(client, user, f"k{index}", content)
    return {**user["headers"], "X-Min-Position": written.headers["X-Event-Position"]}


def get(client, headers: dict, path: str, **params):
    return client.get(f"/api/v1/memory/{path}", headers=headers, params=params)


def keys_and_pagination(response) -> tuple[list[str], dict]:
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["key"] for item in body["data"]["items"]], body["meta"]["pagination"]


def field_of(response) -> str:
    return response.json()["error"]["details"]["errors"][0]["field"]


def test_250_recent_memories_come_in_pages_of_100_100_50_newest_first(client, user):
    headers = store_many(client, user, 250)
    pages = [keys_and_pagination(get(client, headers, "recent", page=number, per_page=100))
             for number in (1, 2, 3)]
    assert [len(keys) for keys, _ in pages] == [100, 100, 50]
    assert [pagination for _, pagination in pages] == [
        {"page": number, "per_page": 100, "total": 250} for number in (1, 2, 3)]
    every_key = [key for keys, _ in pages for key in keys]
    assert every_key == [f"k{index}" for index in reversed(range(250))]


def test_a_recent_page_past_the_end_is_empty_with_the_real_total(client, user):
    headers = store_many(client, user, 3)
    keys, pagination = keys_and_pagination(get(client, headers, "recent", page=2))
    assert (keys, pagination) == ([], {"page": 2, "per_page": 20, "total": 3})


def test_recent_pages_by_20_when_not_told(client, user):
    headers = store_many(client, user, 21)
    keys, pagination = keys_and_pagination(get(client, headers, "recent"))
    assert (len(keys), pagination) == (20, {"page": 1, "per_page": 20, "total": 21})


def test_recent_limit_is_per_page_on_page_1_as_before_paging(client, user):
    headers = store_many(client, user, 5)
    keys, pagination = keys_and_pagination(get(client, headers, "recent", limit=2))
    assert (keys, pagination) == (["k4", "k3"], {"page": 1, "per_page": 2, "total": 5})


def test_limit_with_per_page_is_a_400_naming_limit(client, user):
    response = get(client, user["headers"], "recent", limit=2, per_page=2)
    assert response.status_code == 400 and field_of(response) == "limit"


@pytest.mark.parametrize("path", ["recent", "search?q=dark"])
@pytest.mark.parametrize("params,field", [
    ({"page": 0}, "page"), ({"page": -1}, "page"), ({"page": "x"}, "page"),
    ({"page": 10**30}, "page"), ({"per_page": 0}, "per_page"),
    ({"per_page": 101}, "per_page"), ({"per_page": -1}, "per_page"),
    ({"per_page": "x"}, "per_page"), ({"per_page": 10**30}, "per_page"),
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit")])
def test_bad_paging_is_a_400_in_the_arqium_envelope_naming_the_field(client, user, path,
                                                                      params, field):
    response = client.get(f"/api/v1/memory/{path}", headers=user["headers"], params=params)
    assert response.status_code == 400
    assert response.json()["status"] == "error" and field_of(response) == field


def test_another_users_memories_are_never_counted(client, user):
    store_many(client, user, 3)
    bea = register(client, email="bea@example.com", name="Bea")
    bea_user = {"headers": bearer(bea["access_token"])}
    headers = store_many(client, bea_user, 2)
    keys, pagination = keys_and_pagination(get(client, headers, "recent"))
    assert (keys, pagination["total"]) == (["k1", "k0"], 2)


def test_memories_past_their_expiry_are_neither_listed_nor_counted(client, user, clock):
    """No worker marks them gone meanwhile: the read tells them by their expiry."""
    for key, layer in (("brief", "context"), ("kept", "permanent"), ("brief2", "context")):
        written = client.post("/api/v1/memory/store", headers=user["headers"],
                              json={"key": key, "content": "tea", "layer": layer})
        assert written.status_code == 201, written.text
    headers = {**user["headers"], "X-Min-Position": written.headers["X-Event-Position"]}
    keys, pagination = keys_and_pagination(get(client, headers, "recent"))
    assert (keys, pagination["total"]) == (["brief2", "kept", "brief"], 3)
    clock.advance(minutes=16)  # context memories live 15 minutes; so do access tokens
    login = client.post("/api/v1/auth/login", json={"email": "ada@example.com",
                                                    "password": "correct horse"})
    headers.update(bearer(login.json()["data"]["access_token"]))
    keys, pagination = keys_and_pagination(get(client, headers, "recent"))
    assert (keys, pagination["total"]) == (["kept"], 1)


def test_search_hits_come_in_pages_without_duplicates_and_past_the_end_empty(client, user):
    headers = store_many(client, user, 15, content="tends the garden on Sundays")
    pages = [keys_and_pagination(get(client, headers, "search", q="garden", mode="keyword",
                                     page=number, per_page=6)) for number in (1, 2, 3, 4)]
    assert [len(keys) for keys, _ in pages] == [6, 6, 3, 0]
    assert [pagination["total"] for _, pagination in pages] == [15] * 4
    assert sorted(key for keys, _ in pages for key in keys) == sorted(
        f"k{index}" for index in range(15))


def test_search_limit_still_sizes_page_1_and_10_is_the_default(client, user):
    headers = store_many(client, user, 12, content="tends the garden on Sundays")
    limited, pagination = keys_and_pagination(get(client, headers, "search", q="garden",
                                                  mode="keyword", limit=3))
    assert (len(limited), pagination) == (3, {"page": 1, "per_page": 3, "total": 12})
    default, pagination = keys_and_pagination(get(client, headers, "search", q="garden",
                                                  mode="keyword"))
    assert (len(default), pagination) == (10, {"page": 1, "per_page": 10, "total": 12})


def test_a_memorys_history_pages_oldest_first(client, user):
    for content in ("one", "two", "three"):
        written = store(client, user, "theme", content)
    item_id = written.json()["data"]["id"]
    response = get(client, user["headers"], f"{item_id}/history", page=2, per_page=2)
    body = response.json()
    assert [version["content"] for version in body["data"]["items"]] == ["three"]
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 2, "total": 3}
