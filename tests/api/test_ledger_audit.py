"""The ledger for auditors: history with hashes, past states, verification (of sealed
digests too), NDJSON export, roles. Damage that verification catches (a changed byte,
an unreadable event) is tests/application/test_ledger.py."""

import json

import pytest

from arqium.domain.ledger import chain
from arqium.domain.ledger.digest import DIGEST_ID, seal_digest
from arqium.domain.shared import Cause
from arqium.system.bootstrap import make_admin
from tests.conftest import SETUP, bearer, register


@pytest.fixture(autouse=True)
def projector(workers):
    workers("ledger_objects")


def login(client, email: str, password: str = "correct horse") -> dict:
    data = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return bearer(data.json()["data"]["access_token"])


@pytest.fixture
def auditor(client, system) -> dict:
    """A user granted the auditor role (as `arqium users grant-role` does)."""
    register(client, email="audit@example.com")
    system.identity.grant_role("audit@example.com", "auditor", cause=SETUP)
    return login(client, "audit@example.com")


@pytest.fixture
def admin(client, system) -> dict:
    make_admin(system, "root@example.com", "admin password", cause=SETUP)
    return login(client, "root@example.com", "admin password")


@pytest.fixture
def contract(client, user, clock) -> dict:
    """A contract signed ten minutes after it was created: its id and last position."""
    created = client.post("/api/ledger/objects", headers=user["headers"], json={
        "typeName": "contract", "data": {"amount": 100, "status": "draft"}})
    object_id = created.json()["object"]["id"]
    clock.advance(minutes=10)
    signed = client.post("/api/ledger/transactions", headers=user["headers"], json={
        "objectId": object_id, "action": "sign", "data": {"status": "signed"},
        "metadata": {"ip": "127.0.0.1"}})
    return {"id": object_id, "created_at": created.json()["object"]["createdAt"],
            "headers": {**user["headers"], "X-Min-Position": signed.headers[
                "X-Event-Position"]}}


def test_history_lists_every_event_with_its_hash(client, contract):
    response = client.get(f"/api/v1/ledger/objects/{contract['id']}/history",
                          headers=contract["headers"])
    assert response.status_code == 200
    items = response.json()["data"]["items"]
    assert [(i["version"], i["type"], i["action"]) for i in items] == [
        (1, "Created", "create"), (2, "Transacted", "sign")]
    assert {"position", "data", "metadata", "actor", "recorded_at", "hash",
            "prev_hash"} <= set(items[0])
    assert items[0]["prev_hash"] == chain.GENESIS and items[1]["prev_hash"] == items[0]["hash"]
    assert items[1]["metadata"] == {"ip": "127.0.0.1"}


def test_history_pages_oldest_first_with_the_whole_count(client, contract):
    response = client.get(f"/api/v1/ledger/objects/{contract['id']}/history",
                          params={"page": 2, "per_page": 1}, headers=contract["headers"])
    body = response.json()
    assert [item["version"] for item in body["data"]["items"]] == [2]
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 1, "total": 2}


def test_an_object_as_it_was_at_a_version_or_a_time(client, contract):
    url = f"/api/v1/ledger/objects/{contract['id']}"
    first = client.get(url, params={"version": 1}, headers=contract["headers"]).json()["data"]
    assert first["data"] == {"amount": 100, "status": "draft"} and first["version"] == 1
    then = client.get(url, params={"as_of": contract["created_at"]},
                      headers=contract["headers"]).json()["data"]
    assert then["data"]["status"] == "draft"
    now = client.get(url, headers=contract["headers"]).json()["data"]
    assert now["data"] == {"amount": 100, "status": "signed"} and now["version"] == 2
    before = client.get(url, params={"as_of": "2000-01-01T00:00:00Z"},
                        headers=contract["headers"])
    assert before.status_code == 404
    assert client.get(url, params={"version": 3}, headers=contract["headers"]).status_code \
        == 400


def test_verify_recomputes_every_hash(client, contract, auditor):
    response = client.get("/api/v1/ledger/verify", headers=auditor)
    assert response.status_code == 200
    result = response.json()["data"]
    assert result["ok"] is True and result["checked_events"] == 2 and len(result["digest"]) == 64


def test_the_export_verifies_offline(client, contract, auditor):
    response = client.get("/api/v1/ledger/export", headers=auditor)
    assert response.headers["content-type"].startswith("application/x-ndjson")
    entries = [chain.exact_json(line) for line in response.text.splitlines()]
    assert [e["version"] for e in entries] == [1, 2]
    assert chain.verify(entries)["ok"]
    window = client.get("/api/v1/ledger/export", params={"to": contract["created_at"]},
                        headers=auditor)
    assert [json.loads(line)["version"] for line in window.text.splitlines()] == [1]


def test_only_auditors_and_admins_verify_and_export(client, contract, auditor, admin):
    for path in ("/api/v1/ledger/verify", "/api/v1/ledger/export"):
        response = client.get(path, headers=contract["headers"])
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert client.get(path, headers=auditor).status_code == 200
        assert client.get(path, headers=admin).status_code == 200


def test_an_auditor_reads_any_objects_history_but_cannot_change_it(client, contract,
                                                                   auditor):
    history = client.get(f"/api/v1/ledger/objects/{contract['id']}/history", headers={
        **auditor, "X-Min-Position": contract["headers"]["X-Min-Position"]})
    assert len(history.json()["data"]["items"]) == 2
    changed = client.post("/api/ledger/transactions", headers=auditor, json={
        "objectId": contract["id"], "action": "tamper", "data": {"status": "void"}})
    assert changed.status_code == 404
    for method in ("PUT", "PATCH", "DELETE"):
        response = client.request(method, f"/api/v1/ledger/objects/{contract['id']}",
                                  headers=auditor)
        assert response.status_code == 405


def test_another_user_cannot_read_an_objects_history(client, contract):
    eve = register(client, email="eve@example.com")
    response = client.get(f"/api/v1/ledger/objects/{contract['id']}/history",
                          headers={**bearer(eve["access_token"]),
                                   "X-Min-Position": contract["headers"]["X-Min-Position"]})
    assert response.status_code == 404


def test_verify_checks_the_sealed_digests_too(client, contract, auditor, system, clock):
    seal_digest(system.ledger, clock(), cause=Cause(actor="ledger_digest"))
    result = client.get("/api/v1/ledger/verify", headers=auditor).json()["data"]
    assert result["ok"] and result["checked_seals"] == 1
    with system.ledger.recorder.datastore.transaction(commit=True) as curs:
        curs.execute("SELECT notification_id, state FROM ledger_events "
                     "WHERE originator_id = %s AND topic LIKE %s", (DIGEST_ID, "%Sealed"))
        row = curs.fetchone()
        state = bytes(row["state"])
        at = state.index(b'"digest":"') + len(b'"digest":"')
        forged = state[:at] + (b"a" if state[at:at + 1] != b"a" else b"b") + state[at + 1:]
        curs.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                     (forged, row["notification_id"]))
    failure = client.get("/api/v1/ledger/verify", headers=auditor).json()["data"][
        "first_failure"]
    assert "does not match the ledger" in failure["reason"]
