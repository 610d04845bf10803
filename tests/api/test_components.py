"""AstralBody saved components (seed 004) through HTTP: save, list, read, delete,
combine and condense, against one app and its projectors shared by the module."""

import itertools
from collections.abc import Iterator
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, module_api, register

PROJECTORS = ["users", "login_sessions", "api_keys", "components"]
LISTED_FIELDS = {"id", "title", "type", "preview", "saved_at", "tags"}
numbers = itertools.count()


@pytest.fixture(scope="module")
def app(services, tmp_path_factory) -> Iterator[TestClient]:
    with module_api(services, tmp_path_factory.mktemp("components"), PROJECTORS,
                    rate_limits="off") as client:
        yield client


@pytest.fixture(scope="module")
def ada(app) -> dict:
    return bearer(register(app, email="ada@example.com")["access_token"])


@pytest.fixture(scope="module")
def bob(app) -> dict:
    return bearer(register(app, email="bob@example.com")["access_token"])


def unique_tag() -> str:
    return f"tag-{next(numbers)}"


def save(app, headers, **fields) -> dict:
    body = {"title": "Sales", "type": "chart", "data": {"series": [1, 2]}, **fields}
    response = app.post("/components", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def listed(app, headers, **params) -> list[dict]:
    response = app.get("/components", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["components"]


def combine(app, headers, ids, strategy="merge"):
    return app.post("/components/combine", headers=headers,
                    json={"component_ids": ids, "strategy": strategy})


def condense(app, headers, ids, target_count):
    return app.post("/components/condense", headers=headers,
                    json={"component_ids": ids, "target_count": target_count})


def read(app, headers, component_id) -> dict:
    response = app.get(f"/components/{component_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_components_are_saved_and_combined_as_the_seed_integration_flow_does(app, ada):
    tag = unique_tag()
    sales = save(app, ada, title="Sales Dashboard", type="grid", tags=["dashboard", tag],
                 data={"children": [{"type": "chart", "data": {"x": 1}}]})
    notes = save(app, ada, title="Notes", type="text", tags=[tag], data={"text": "Q3"})
    assert [c["id"] for c in listed(app, ada, tag=tag)] == [notes["id"], sales["id"]]
    response = combine(app, ada, [sales["id"], notes["id"]])
    assert response.status_code == 200, response.text
    combined = response.json()["combined_component"]
    assert set(combined) == {"id", "title", "type"} and combined["type"] == "grid"
    assert [c["id"] for c in listed(app, ada, tag=tag)] == [
        combined["id"], notes["id"], sales["id"]]  # the sources stay
    assert read(app, ada, combined["id"])["source_ids"] == [sales["id"], notes["id"]]


def test_a_saved_component_answers_the_seed_shape_and_reads_back_with_its_data(app, ada):
    saved = save(app, ada, title="Revenue", type="table", tags=["finance"],
                 preview="<table></table>", data={"rows": [[1, "a"]]})
    assert set(saved) == LISTED_FIELDS | {"data", "source_ids"}
    assert (saved["title"], saved["type"], saved["tags"], saved["preview"],
            saved["source_ids"]) == ("Revenue", "table", ["finance"], "<table></table>", [])
    assert read(app, ada, saved["id"]) == saved
    [row] = [c for c in listed(app, ada, tag="finance") if c["id"] == saved["id"]]
    assert set(row) == LISTED_FIELDS


def test_merge_makes_one_grid_splicing_a_grids_own_children_in_order(app, ada):
    grid = save(app, ada, type="grid", data={"children": [{"n": 1}, {"n": 2}]})
    chart = save(app, ada, title="Chart", type="chart", data={"x": 3})
    combined = combine(app, ada, [grid["id"], chart["id"]]).json()["combined_component"]
    assert read(app, ada, combined["id"])["data"] == {"children": [
        {"n": 1}, {"n": 2},
        {"id": chart["id"], "title": "Chart", "type": "chart", "data": {"x": 3}}]}


def test_stack_makes_one_list_holding_the_components_in_order(app, ada):
    first = save(app, ada, title="A", type="grid", data={"children": [{"n": 1}]})
    second = save(app, ada, title="B", type="card", data={"k": "v"})
    combined = combine(app, ada, [second["id"], first["id"]], "stack").json()[
        "combined_component"]
    assert combined["type"] == "list"
    items = read(app, ada, combined["id"])["data"]["items"]
    assert [(i["id"], i["type"], i["data"]) for i in items] == [
        (second["id"], "card", {"k": "v"}), (first["id"], "grid", {"children": [{"n": 1}]})]


def test_condense_merges_the_same_type_first_then_the_most_shared_tags(app, ada):
    chart_a = save(app, ada, type="chart", tags=["x"])
    text_a = save(app, ada, type="text", tags=["y"])
    chart_b = save(app, ada, type="chart", tags=["z"])
    text_b = save(app, ada, type="text", tags=["y"])
    ids = [c["id"] for c in (chart_a, text_a, chart_b, text_b)]
    response = condense(app, ada, ids, 2)
    assert response.status_code == 200, response.text
    results = response.json()["components"]
    assert [r["source_ids"] for r in results] == [[chart_a["id"], chart_b["id"]],
                                                  [text_a["id"], text_b["id"]]]
    assert {r["type"] for r in results} == {"grid"}
    assert [read(app, ada, r["id"])["source_ids"] for r in results] == [
        r["source_ids"] for r in results]  # saved, like a combination


def test_condense_gives_the_same_groups_every_time_and_leaves_a_lone_one_itself(app, ada):
    ids = [save(app, ada, type=kind)["id"] for kind in ("card", "table", "card")]
    first, again = (condense(app, ada, ids, 2).json()["components"] for _ in range(2))
    assert [r["source_ids"] for r in first] == [r["source_ids"] for r in again] == [
        [ids[0], ids[2]], [ids[1]]]
    assert first[1]["id"] == ids[1] and first[1]["type"] == "table"


def test_another_users_or_an_unknown_component_is_404_naming_its_id(app, ada, bob):
    mine = save(app, ada)["id"]
    theirs = save(app, bob)["id"]
    unknown = str(uuid4())
    for response, missing in [(combine(app, ada, [mine, theirs]), theirs),
                              (condense(app, ada, [unknown, mine], 1), unknown),
                              (combine(app, ada, [mine, "not-an-id"]), "not-an-id"),
                              (app.get(f"/components/{theirs}", headers=ada), theirs),
                              (app.delete(f"/components/{theirs}", headers=ada), theirs)]:
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["code"] == "not_found" and missing in error["message"]
    assert read(app, bob, theirs)["id"] == theirs


def test_a_deleted_component_is_204_then_gone_from_the_list_and_404(app, ada):
    tag = unique_tag()
    gone, kept = save(app, ada, tags=[tag]), save(app, ada, tags=[tag])
    response = app.delete(f"/components/{gone['id']}", headers=ada)
    assert response.status_code == 204
    assert [c["id"] for c in listed(app, ada, tag=tag)] == [kept["id"]]
    assert app.get(f"/components/{gone['id']}", headers=ada).status_code == 404
    assert app.delete(f"/components/{gone['id']}", headers=ada).status_code == 404


def test_the_tag_filter_lists_only_components_with_that_tag(app, ada):
    tag, other = unique_tag(), unique_tag()
    tagged = save(app, ada, tags=[tag, "shared"])
    save(app, ada, tags=[other, "shared"])
    assert [c["id"] for c in listed(app, ada, tag=tag)] == [tagged["id"]]


def test_a_list_pages_with_limit_and_offset_and_says_the_total(app, ada):
    tag = unique_tag()
    ids = [save(app, ada, tags=[tag])["id"] for _ in range(3)]
    body = app.get("/components", headers=ada, params={"tag": tag, "limit": 1,
                                                         "offset": 1}).json()
    assert ([c["id"] for c in body["components"]], body["total"]) == ([ids[1]], 3)


BIG_DATA = {"blob": "x" * (1024 * 1024)}
BAD_DRAFTS = {
    "an unknown type": ({"type": "map"}, "type"),
    "data over 1 MB": ({"data": BIG_DATA}, "data"),
    "a preview over 256 KB": ({"preview": "<p>" + "x" * 256 * 1024}, "preview"),
    "a data URI that is no image": ({"preview": "data:text/plain;base64,aGk="}, "preview"),
    "21 tags": ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
    "a tag over 50 characters": ({"tags": ["t" * 51]}, "tags"),
    "a blank title": ({"title": "  "}, "title"),
}


@pytest.mark.parametrize("case", BAD_DRAFTS)
def test_a_draft_outside_the_limits_is_400_naming_the_field(app, ada, case):
    fields, field = BAD_DRAFTS[case]
    response = app.post("/components", headers=ada, json={
        "title": "t", "type": "card", **fields})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["timestamp"]
    assert field in response.text


def test_bad_combinations_and_condensations_are_400(app, ada):
    one, two = save(app, ada)["id"], save(app, ada)["id"]
    refused = [combine(app, ada, [one, two], "zip"), combine(app, ada, [one]),
               combine(app, ada, [one, one]),
               combine(app, ada, [one] + [str(uuid4()) for _ in range(20)]),
               condense(app, ada, [one, two], 0), condense(app, ada, [one, two], 2)]
    assert [r.status_code for r in refused] == [400] * len(refused), [
        r.text for r in refused]
    assert [r.json()["error"]["code"] for r in refused] == ["validation_error"] * 6


def test_a_combination_under_an_idempotency_key_is_stored_once(app, ada):
    tag = unique_tag()
    ids = [save(app, ada, tags=[tag])["id"] for _ in range(2)]
    key = {**ada, "Idempotency-Key": f"combine-{tag}"}
    first, again = (app.post("/components/combine", headers=key, json={
        "component_ids": ids, "strategy": "stack"}) for _ in range(2))
    assert first.json() == again.json()
    assert len(listed(app, ada, tag=tag)) == 3


def test_a_component_at_the_data_limit_is_saved_and_read_back(app, ada):
    # Its event is over a megabyte: it must not wait forever on the event store.
    data = {"blob": "x" * (1024 * 1024 - len('{"blob":""}'))}
    saved = save(app, ada, data=data)
    shown = app.get(f"/components/{saved['id']}", headers=ada)
    assert shown.status_code == 200 and shown.json()["data"] == data
