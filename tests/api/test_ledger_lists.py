"""The ledger on the ARQIUM face: create objects and transact on them, list the caller's
objects and an object's transactions in pages (`page`, `per_page`, meta.pagination)."""

import pytest

from arqium.api.common.positions import position_token
from arqium.system.bootstrap import make_admin
from tests.conftest import SETUP, bearer, register

OBJECTS = "/api/v1/ledger/objects"
CONTRACT = {"type_name": "contract", "data": {"amount": 10000.25, "currency": "USD"}}


@pytest.fixture(autouse=True)
def projector(workers):
    workers("ledger_objects")


def create(client, user, body=None, headers=None):
    return client.post(OBJECTS, headers={**user["headers"], **(headers or {})},
                       json=CONTRACT if body is None else body)


def created_id(client, user, body=None) -> str:
    response = create(client, user, body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def transact(client, user, object_id: str, headers=None, **body):
    return client.post(f"{OBJECTS}/{object_id}/transactions",
                       headers={**user["headers"], **(headers or {})},
                       json={"action": "update", **body})


def after(user, response) -> dict:
    return {**user["headers"], "X-Min-Position": response.headers["X-Event-Position"]}


def listed(client, headers: dict, path: str = OBJECTS, **params) -> tuple[list, dict]:
    response = client.get(path, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["data"]["items"], body["meta"]["pagination"]


def field_of(response) -> str:
    return response.json()["error"]["details"]["errors"][0]["field"]


def test_create_answers_201_with_the_object_as_get_shows_it_and_its_position(client, user):
    response = create(client, user)
    assert response.status_code == 201 and response.headers["X-Event-Position"]
    created = response.json()["data"]
    shown = client.get(f"{OBJECTS}/{created['id']}", headers=after(user, response))
    assert shown.json()["data"] == created
    assert (created["type_name"], created["version"]) == ("contract", 1)


def test_numbers_in_data_are_kept_exactly_as_sent(client, user):
    response = client.post(OBJECTS, headers={**user["headers"],
                                             "Content-Type": "application/json"},
                           content=b'{"type_name": "loan", "data": {"rate": 0.10}}')
    assert b'"rate": 0.10' in response.content


def test_a_transaction_answers_201_and_changes_the_object(client, user):
    object_id = created_id(client, user)
    response = transact(client, user, object_id, data={"status": "signed"},
                        metadata={"by": "Ada"})
    assert response.status_code == 201, response.text
    transaction = response.json()["data"]
    assert {key: transaction[key] for key in ("object_id", "version", "action", "data",
                                              "metadata")} == {
        "object_id": object_id, "version": 2, "action": "update",
        "data": {"status": "signed"}, "metadata": {"by": "Ada"}}
    shown = client.get(f"{OBJECTS}/{object_id}", headers=after(user, response)).json()
    assert shown["data"]["data"]["status"] == "signed"
    assert shown["data"]["hash"] == transaction["hash"]


def test_a_listed_transaction_is_the_one_the_command_answered(client, user):
    object_id = created_id(client, user)
    response = transact(client, user, object_id, data={"status": "signed"})
    items, pagination = listed(client, after(user, response),
                               f"{OBJECTS}/{object_id}/transactions")
    assert items == [response.json()["data"]]
    assert pagination == {"page": 1, "per_page": 20, "total": 1}


def test_a_stale_expected_version_is_a_409(client, user):
    object_id = created_id(client, user)
    response = transact(client, user, object_id, expected_version=5)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"


def test_the_objects_list_shows_them_as_get_does_oldest_first(client, user):
    ids = [created_id(client, user, {"type_name": "contract", "data": {"n": n}})
           for n in range(3)]
    written = create(client, user, {"type_name": "invoice", "data": {}})
    items, pagination = listed(client, after(user, written), per_page=2, page=2)
    assert pagination == {"page": 2, "per_page": 2, "total": 4}
    assert [item["id"] for item in items] == [ids[2], written.json()["data"]["id"]]
    assert items[1] == written.json()["data"]


def test_a_listed_object_shows_its_latest_version_and_hash(client, user):
    object_id = created_id(client, user)
    written = transact(client, user, object_id, data={"status": "paid"})
    items, _ = listed(client, after(user, written))
    shown = client.get(f"{OBJECTS}/{object_id}", headers=after(user, written))
    assert items == [shown.json()["data"]] and items[0]["version"] == 2


def test_250_transactions_come_in_pages_of_100_100_50_oldest_first_without_gaps(
        client, user, system):
    object_id = created_id(client, user)
    for number in range(250):  # by the application: 250 requests would only be slower
        *_, position = system.ledger.transact(user["user"]["id"], object_id, "count",
                                              {"n": number}, {}, cause=SETUP)
    headers = {**user["headers"], "X-Min-Position": position_token("ledger", position)}
    pages = [listed(client, headers, f"{OBJECTS}/{object_id}/transactions", page=number,
                    per_page=100) for number in (1, 2, 3, 4)]
    assert [len(items) for items, _ in pages] == [100, 100, 50, 0]
    assert [pagination["total"] for _, pagination in pages] == [250] * 4
    every = [item for items, _ in pages for item in items]
    assert [item["data"]["n"] for item in every] == list(range(250))
    assert [item["version"] for item in every] == list(range(2, 252))


def test_an_objects_page_past_the_end_is_empty_with_the_real_total(client, user):
    written = create(client, user)
    items, pagination = listed(client, after(user, written), page=3)
    assert (items, pagination) == ([], {"page": 3, "per_page": 20, "total": 1})


def test_a_new_user_has_no_objects(client, user):
    items, pagination = listed(client, user["headers"])
    assert (items, pagination["total"]) == ([], 0)


@pytest.fixture
def bea(client) -> dict:
    tokens = register(client, email="bea@example.com", name="Bea")
    return {"headers": bearer(tokens["access_token"]), "user": tokens["user"]}


def test_another_users_objects_are_not_listed(client, user, bea):
    created_id(client, user)
    written = create(client, bea, {"type_name": "bea's", "data": {}})
    items, pagination = listed(client, after(bea, written))
    assert ([item["type_name"] for item in items], pagination["total"]) == (["bea's"], 1)


def test_another_users_object_is_404_to_transact_and_to_list_its_transactions(
        client, user, bea):
    object_id = created_id(client, user)
    refused = transact(client, bea, object_id, data={"status": "stolen"})
    listing = client.get(f"{OBJECTS}/{object_id}/transactions", headers=bea["headers"])
    assert refused.status_code == listing.status_code == 404
    assert listing.json()["error"]["code"] == "NOT_FOUND"


def test_an_unknown_objects_transactions_are_404(client, user):
    response = client.get(f"{OBJECTS}/6a2f41a3-c54c-4a3b-a2d0-4e5c2a1e0b11/transactions",
                          headers=user["headers"])
    assert response.status_code == 404


def test_an_auditor_lists_any_objects_transactions(client, user, system):
    object_id = created_id(client, user)
    written = transact(client, user, object_id, data={"status": "signed"})
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    admin = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()["data"]
    items, _ = listed(client, {**bearer(admin["access_token"]),
                               "X-Min-Position": written.headers["X-Event-Position"]},
                      f"{OBJECTS}/{object_id}/transactions")
    assert [item["action"] for item in items] == ["update"]


@pytest.mark.parametrize("path", ["", "/{object_id}/transactions"])
@pytest.mark.parametrize("params,field", [
    ({"page": 0}, "page"), ({"page": -1}, "page"), ({"page": "x"}, "page"),
    ({"page": 10**30}, "page"), ({"per_page": 0}, "per_page"),
    ({"per_page": 101}, "per_page"), ({"per_page": "x"}, "per_page"),
    ({"per_page": 10**30}, "per_page")])
def test_bad_paging_is_a_400_naming_the_field(client, user, path, params, field):
    object_id = created_id(client, user)
    response = client.get(OBJECTS + path.format(object_id=object_id),
                          headers=user["headers"], params=params)
    assert response.status_code == 400 and field_of(response) == field


@pytest.mark.parametrize("body,field", [
    ({"data": {}}, "type_name"), ({"type_name": "", "data": {}}, "type_name"),
    ({"type_name": "x" * 101, "data": {}}, "type_name"), ({"type_name": "x"}, "data"),
    ({"type_name": "x", "data": [1]}, "data"), ({"type_name": "x", "data": {}, "y": 1}, "y")])
def test_a_bad_object_is_a_400_naming_the_field(client, user, body, field):
    response = create(client, user, body)
    assert response.status_code == 400 and field_of(response) == field


@pytest.mark.parametrize("body,field", [
    ({"action": ""}, "action"), ({"action": None}, "action"),
    ({"data": "x"}, "data"), ({"metadata": [1]}, "metadata"),
    ({"expected_version": 0}, "expected_version"),
    ({"expected_version": "2"}, "expected_version"),
    ({"expected_version": 2**63}, "expected_version")])
def test_a_bad_transaction_is_a_400_naming_the_field(client, user, body, field):
    object_id = created_id(client, user)
    response = transact(client, user, object_id, **body)
    assert response.status_code == 400 and field_of(response) == field


def test_a_bad_object_id_is_a_400_naming_it(client, user):
    response = transact(client, user, "not-a-uuid")
    assert response.status_code == 400 and field_of(response) == "object_id"


def test_an_idempotency_key_creates_one_object_and_answers_it_again(client, user):
    first = create(client, user, headers={"Idempotency-Key": "create-1"})
    again = create(client, user, headers={"Idempotency-Key": "create-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]
    items, _ = listed(client, after(user, again))
    assert [item["id"] for item in items] == [first.json()["data"]["id"]]


def test_an_idempotency_key_applies_a_transaction_once(client, user):
    object_id = created_id(client, user)
    first = transact(client, user, object_id, headers={"Idempotency-Key": "pay-1"},
                     data={"paid": 1})
    again = transact(client, user, object_id, headers={"Idempotency-Key": "pay-1"},
                     data={"paid": 1})
    assert again.json()["data"] == first.json()["data"]
    items, pagination = listed(client, after(user, again),
                               f"{OBJECTS}/{object_id}/transactions")
    assert pagination["total"] == 1 and items[0]["id"] == first.json()["data"]["id"]
