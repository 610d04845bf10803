"""Ledger objects through the ledger application and the ledger read model: merges,
expected versions, concurrency, exact decimals, who reads what, aggregates, and the
verification of what is stored."""

from decimal import Decimal
from uuid import uuid4

import pytest

from arqium.domain.ledger import chain
from arqium.domain.ledger.digest import DIGEST_ID, seal_digest, sealed
from arqium.domain.ledger.domainmodel import LedgerObjectNotFound, StaleLedgerVersion
from arqium.domain.shared import Cause, Conflict, Invalid
from tests.application.conftest import at_once
from tests.conftest import SETUP

CONTRACT = {"title": "Service Agreement", "amount": 10000, "currency": "USD"}


@pytest.fixture
def ledger_objects(system, workers):
    """The ledger read model, with its projector running."""
    workers("ledger_objects")
    return system.read_models.ledger_objects


def create(system, data=None, owner="ada", type_name="contract"):
    return system.ledger.create_object(owner, type_name, data or CONTRACT, cause=SETUP)


def transact(system, object_id, data=None, expected_version=None, owner="ada"):
    return system.ledger.transact(owner, object_id, "update", data or {}, {},
                                  expected_version, cause=SETUP)


@pytest.mark.parametrize("type_name, data, field", [("", {}, "typeName"),
                                                    ("x" * 101, {}, "typeName"),
                                                    ("contract", [1], "data")])
def test_a_bad_type_name_or_data_that_is_no_object_is_invalid(system, type_name, data,
                                                              field):
    with pytest.raises(Invalid) as refused:
        system.ledger.create_object("ada", type_name, data, cause=SETUP)
    assert refused.value.details == {"field": field}


def test_a_transaction_merges_its_data_into_the_object(system, ledger_objects):
    created, _ = create(system)
    _, _, position = transact(system, created.id, {"status": "signed", "currency": None})
    ledger_objects.wait("ledger", position, timeout=5)
    row = ledger_objects.get("ada", created.id)
    assert row["data"] == {"title": "Service Agreement", "amount": 10000,
                           "status": "signed"}
    assert row["version"] == 2


def test_a_stale_expected_version_is_refused_as_a_conflict(system):
    created, _ = create(system)
    transact(system, created.id, {"paid": 1}, expected_version=1)
    with pytest.raises(StaleLedgerVersion) as refused:
        transact(system, created.id, {"paid": 2}, expected_version=1)
    assert refused.value.details == {"current_version": 2}
    assert system.ledger.any_object(created.id).version == 2


def transact_at_once(system, processes, object_id, count: int, expected_version=None
                     ) -> list:
    """Transaction n sets key kn, through the processes' ledgers in turn; each result or
    conflict."""
    ledgers = processes(system.ledger)
    return at_once(count, lambda n: ledgers[n % len(ledgers)].transact(
        "ada", object_id, "update", {f"k{n}": n}, {}, expected_version, cause=SETUP))


def test_64_transactions_at_once_without_an_expected_version_all_land(system, processes):
    created, _ = create(system)
    outcomes = transact_at_once(system, processes, created.id, 64)
    assert [o for o in outcomes if isinstance(o, Conflict)] == []
    current = system.ledger.any_object(created.id)
    assert current.version == 65
    assert current.data == {**CONTRACT, **{f"k{n}": n for n in range(64)}}


def test_transactions_at_once_on_one_expected_version_land_once_the_rest_are_stale(
        system, processes):
    created, _ = create(system)
    outcomes = transact_at_once(system, processes, created.id, 8, expected_version=1)
    refused = [o for o in outcomes if isinstance(o, StaleLedgerVersion)]
    assert len(refused) == 7
    assert {o.details["current_version"] for o in refused} == {2}
    assert system.ledger.any_object(created.id).version == 2


def test_an_unknown_object_is_not_found(system):
    with pytest.raises(LedgerObjectNotFound):
        transact(system, uuid4())


def test_another_owners_object_is_not_found_and_stays_unchanged(system):
    created, _ = create(system)
    with pytest.raises(LedgerObjectNotFound):
        transact(system, created.id, {"amount": 0}, owner="eve")
    assert system.ledger.any_object(created.id).version == 1


def test_amounts_are_kept_as_exact_decimals_in_the_read_model(system, ledger_objects):
    data = {"amount": Decimal("1234.50"), "rate": Decimal("0.1000000000000000055")}
    created, position = create(system, data, type_name="invoice")
    ledger_objects.wait("ledger", position, timeout=5)
    stored = ledger_objects.get("ada", created.id)["data"]
    assert [str(stored["amount"]), str(stored["rate"])] == ["1234.50",
                                                            "0.1000000000000000055"]


def test_owners_read_their_own_objects_and_auditors_the_whole_ledger(system,
                                                                    ledger_objects):
    create(system, owner="ada")
    _, position = create(system, owner="eve")
    ledger_objects.wait("ledger", position, timeout=5)
    assert ledger_objects.page("ada", None, 10, 0)[1] == 1
    assert ledger_objects.page(None, None, 10, 0)[1] == 2  # None: the whole ledger


def test_aggregates_count_objects_by_type_and_current_status(system, ledger_objects):
    contract, _ = create(system)
    create(system, {"status": "open"}, type_name="invoice")
    _, _, position = transact(system, contract.id, {"status": "signed"})
    ledger_objects.wait("ledger", position, timeout=5)
    assert ledger_objects.aggregates("ada", None, None, None) == {
        "totalObjects": 2, "totalTransactions": 1,
        "byType": {"contract": 1, "invoice": 1}, "byStatus": {"signed": 1, "open": 1}}


def test_an_object_without_a_status_counts_as_none(system, ledger_objects):
    _, position = create(system)
    ledger_objects.wait("ledger", position, timeout=5)
    assert ledger_objects.aggregates("ada", None, None, None)["byStatus"] == {"none": 1}


def test_aggregates_count_only_what_was_created_in_the_window_or_of_the_type(
        system, ledger_objects, clock):
    contract, _ = create(system)
    clock.advance(minutes=10)
    since = clock()
    create(system, {"status": "open"}, type_name="invoice")
    _, _, position = transact(system, contract.id, {"status": "signed"})
    ledger_objects.wait("ledger", position, timeout=5)
    windowed = ledger_objects.aggregates("ada", None, since, None)
    assert (windowed["totalObjects"], windowed["byType"]) == (1, {"invoice": 1})
    typed = ledger_objects.aggregates("ada", "contract", None, None)
    assert (typed["totalObjects"], typed["totalTransactions"]) == (1, 1)


@pytest.fixture
def signed(system) -> str:
    """A contract and its signature: the id of the object."""
    created, _ = create(system, {"amount": 100, "status": "draft"})
    system.ledger.transact("ada", created.id, "sign", {"status": "signed"},
                           {"ip": "127.0.0.1"}, cause=SETUP)
    return str(created.id)


def verified(system) -> dict:
    """What verification says of the stored ledger, its sealed digests included."""
    return chain.verify(system.ledger.entries(), sealed(system.ledger))


def damage(system, where: str, params: tuple, change) -> None:
    """Replace the stored state of the first ledger event matching `where` by
    change(state), as someone with access to the database could."""
    with system.ledger.recorder.datastore.transaction(commit=True) as curs:
        curs.execute(f"SELECT notification_id, state FROM ledger_events WHERE {where} "
                     "ORDER BY notification_id LIMIT 1", params)
        row = curs.fetchone()
        curs.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                     (change(bytes(row["state"])), row["notification_id"]))


# The amount by its key: a bare b"100" may come first in a random id or a time's digits.
@pytest.mark.parametrize("old, new", [(b"signed", b"signet"),
                                      (b'"amount":100', b'"amount":900')])
def test_a_single_changed_byte_in_postgres_fails_verification_naming_the_object(
        system, signed, old, new):
    assert verified(system)["ok"]
    damage(system, "position(%s in state) > 0", (old,), lambda s: s.replace(old, new, 1))
    result = verified(system)
    assert result["ok"] is False
    assert result["first_failure"]["object_id"] == signed and result["first_failure"]["reason"]


def test_an_unreadable_stored_event_fails_verification_naming_it(system, signed):
    damage(system, "originator_version = 2", (), lambda state: state[1:])
    failure = verified(system)["first_failure"]
    assert (failure["object_id"], failure["version"]) == (signed, 2)
    assert "cannot be read" in failure["reason"]


def forged_digest(state: bytes) -> bytes:
    at = state.index(b'"digest":"') + len(b'"digest":"')
    return state[:at] + (b"a" if state[at:at + 1] != b"a" else b"b") + state[at + 1:]


def test_verification_checks_the_sealed_digests_too(system, signed, clock):
    seal_digest(system.ledger, clock(), cause=Cause(actor="worker:ledger_digest"))
    assert (verified(system)["ok"], verified(system)["checked_seals"]) == (True, 1)
    damage(system, "originator_id = %s AND topic LIKE %s", (DIGEST_ID, "%Sealed"),
           forged_digest)
    assert "does not match the ledger" in verified(system)["first_failure"]["reason"]
