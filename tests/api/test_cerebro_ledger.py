"""CEREBRO's Ledger API (seed 001): objects, transactions, aggregates, exact numbers.
(Merges, versions, concurrency and aggregates as rules: tests/application/test_ledger.py.)"""

import pytest

from arqium.system.bootstrap import make_admin
from tests.conftest import SETUP, bearer, register

CONTRACT = {"typeName": "contract",
            "data": {"title": "Service Agreement", "amount": 10000, "currency": "USD"}}


@pytest.fixture(autouse=True)
def projector(workers):
    workers("ledger_objects")


def create(client, user, body=None):
    return client.post("/api/ledger/objects", headers=user["headers"], json=body or CONTRACT)


def transact(client, user, object_id, **body):
    return client.post("/api/ledger/transactions", headers=user["headers"],
                       json={"objectId": object_id, "action": "update", **body})


def after(user, response) -> dict:
    return {**user["headers"], "X-Min-Position": response.headers["X-Event-Position"]}


def test_create_answers_the_seed_shape(client, user):
    response = create(client, user)
    assert response.status_code == 200
    created = response.json()["object"]
    assert {"id", "typeName", "data", "createdAt", "createdBy"} <= set(created)
    assert (created["typeName"], created["data"], created["createdBy"]) == (
        "contract", CONTRACT["data"], user["user"]["id"])


def test_a_transaction_merges_its_data_into_the_object(client, user):
    object_id = create(client, user).json()["object"]["id"]
    response = transact(client, user, object_id, data={"status": "signed", "currency": None},
                        metadata={"ip": "127.0.0.1"})
    assert response.status_code == 200
    transaction = response.json()["transaction"]
    assert (transaction["objectId"], transaction["action"]) == (object_id, "update")
    assert {"id", "createdAt", "createdBy"} <= set(transaction)
    read = client.get(f"/api/ledger/objects/{object_id}", headers=after(user, response))
    assert read.json()["object"]["data"] == {"title": "Service Agreement", "amount": 10000,
                                             "status": "signed"}
    assert read.json()["object"]["version"] == 2


def test_amounts_are_kept_exactly_as_sent(client, user):
    raw = b'{"typeName": "invoice", "data": {"amount": 1234.50, "rate": 0.1000000000000000055}}'
    response = client.post("/api/ledger/objects", headers={
        **user["headers"], "Content-Type": "application/json"}, content=raw)
    assert b'"amount": 1234.50' in response.content
    object_id = response.json()["object"]["id"]
    read = client.get(f"/api/ledger/objects/{object_id}", headers=after(user, response))
    assert b"1234.50" in read.content and b"0.1000000000000000055" in read.content


@pytest.mark.parametrize("body, field", [
    ({"typeName": "contract", "data": None}, "data"),
    ({"typeName": "contract", "data": {"blob": "x" * 1_000_001}}, "data"),
])
def test_a_bad_object_is_a_400_naming_the_field(client, user, body, field):
    response = create(client, user, body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["details"]["errors"][0]["field"] == field


def test_a_bad_transaction_is_a_400_and_stores_nothing(client, user, system):
    object_id = create(client, user).json()["object"]["id"]
    before = system.ledger.recorder.max_notification_id()
    for body in ({"action": ""}, {"data": "signed"}, {"metadata": [1]},
                 {"expectedVersion": "2"}):
        assert transact(client, user, object_id, **body).status_code == 400
    assert client.post("/api/ledger/transactions", headers={
        **user["headers"], "Content-Type": "application/json"},
        content=b'{"objectId": ').json()["error"] == "bad_request"
    assert system.ledger.recorder.max_notification_id() == before


def test_a_stale_expected_version_is_a_409(client, user):
    object_id = create(client, user).json()["object"]["id"]
    assert transact(client, user, object_id, expectedVersion=1).status_code == 200
    response = transact(client, user, object_id, expectedVersion=1)
    assert response.status_code == 409 and response.json()["error"] == "conflict"


def test_whole_numbers_written_with_a_fraction_are_those_integers(client, user):
    """The ledger's bodies keep numbers exact (decimals): 1.0 is still the integer 1."""
    object_id = create(client, user).json()["object"]["id"]
    assert transact(client, user, object_id, expectedVersion=1.0).status_code == 200
    assert transact(client, user, object_id, expectedVersion=1.5).status_code == 400
    page = query(client, user, create(client, user), limit=1.0, offset=0.0)
    assert page.status_code == 200
    assert (page.json()["limit"], len(page.json()["objects"])) == (1, 1)


def test_an_idempotency_key_returns_the_first_transaction_and_stores_nothing_new(
        client, user, system):
    object_id = create(client, user).json()["object"]["id"]
    headers = {**user["headers"], "Idempotency-Key": "tx-1"}
    body = {"objectId": object_id, "action": "pay", "data": {"paid": 5}}
    first = client.post("/api/ledger/transactions", headers=headers, json=body)
    stored = system.ledger.recorder.max_notification_id()
    again = client.post("/api/ledger/transactions", headers=headers, json=body)
    assert again.json() == first.json()
    assert system.ledger.recorder.max_notification_id() == stored


def test_aggregates_count_objects_by_type_and_status_within_the_window(client, user, clock):
    first = create(client, user).json()["object"]["id"]
    clock.advance(minutes=10)
    create(client, user, {"typeName": "invoice", "data": {"status": "open"}})
    last = transact(client, user, first, data={"status": "signed"})
    response = client.get("/api/ledger/aggregates", headers=after(user, last))
    assert response.json()["aggregates"] == {
        "totalObjects": 2, "totalTransactions": 1,
        "byType": {"contract": 1, "invoice": 1}, "byStatus": {"signed": 1, "open": 1}}
    since = clock().replace(microsecond=0).isoformat()
    windowed = client.get("/api/ledger/aggregates", params={"from": since},
                          headers=after(user, last)).json()["aggregates"]
    assert (windowed["totalObjects"], windowed["byType"]) == (1, {"invoice": 1})
    typed = client.get("/api/ledger/aggregates", params={"typeName": "contract"},
                       headers=after(user, last)).json()["aggregates"]
    assert typed["totalObjects"] == 1 and typed["totalTransactions"] == 1


def test_auditors_and_admins_read_the_whole_ledger_but_users_only_their_own(
        client, user, system):
    mine = create(client, user)
    eve = register(client, email="eve@example.com")
    eve_headers = bearer(eve["access_token"])
    listed = client.get("/api/ledger/objects", headers={
        **eve_headers, "X-Min-Position": mine.headers["X-Event-Position"]}).json()
    assert listed["objects"] == [] and listed["total"] == 0
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    token = client.post("/api/v1/auth/login", json={
        "email": "root@example.com", "password": "admin password"}).json()["data"]
    listed = client.get("/api/ledger/objects", headers={
        **bearer(token["access_token"]),
        "X-Min-Position": mine.headers["X-Event-Position"]}).json()
    assert listed["total"] == 1


def query(client, user, written, **body):
    return client.post("/api/ledger/objects", json=body, headers=after(user, written))


def test_a_body_without_data_queries_objects_by_type_as_the_list_does(client, user,
                                                                       system):
    create(client, user)
    create(client, user, {"typeName": "invoice", "data": {"amount": 1}})
    last = create(client, user)
    stored = system.ledger.recorder.max_notification_id()
    response = query(client, user, last, typeName="contract")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    assert [o["typeName"] for o in body["objects"]] == ["contract", "contract"]
    assert body == client.get("/api/ledger/objects", params={"typeName": "contract"},
                              headers=after(user, last)).json()
    assert system.ledger.recorder.max_notification_id() == stored


def test_a_query_by_ids_answers_those_objects_with_limit_and_offset(client, user):
    ids = [create(client, user).json()["object"]["id"] for _ in range(3)]
    last = create(client, user)
    body = query(client, user, last, ids=ids[:2] + [ids[2]], limit=2, offset=1).json()
    assert body["total"] == 3
    assert [o["id"] for o in body["objects"]] == ids[1:]


def test_a_page_past_the_end_is_empty_but_still_counts_the_objects(client, user):
    create(client, user)
    last = create(client, user)
    listed = client.get("/api/ledger/objects", params={"offset": 5},
                        headers=after(user, last)).json()
    queried = query(client, user, last, typeName="contract", offset=2).json()
    assert (listed["objects"], listed["total"]) == ([], 2)
    assert (queried["objects"], queried["total"]) == ([], 2)


def test_a_query_shows_only_the_callers_objects(client, user):
    mine = create(client, user)
    eve = register(client, email="eve@example.com")
    eve_user = {"headers": bearer(eve["access_token"])}
    body = query(client, eve_user, mine, ids=[mine.json()["object"]["id"]]).json()
    assert (body["objects"], body["total"]) == ([], 0)


@pytest.mark.parametrize("body, field", [
    ({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"offset": -1}, "offset"),
    ({"ids": ["not-a-uuid"]}, "ids.0"), ({"typeName": ""}, "typeName"),
])
def test_a_bad_query_is_a_400_naming_the_field(client, user, body, field):
    response = create(client, user, body)
    assert response.status_code == 400
    assert response.json()["details"]["errors"][0]["field"] == field
