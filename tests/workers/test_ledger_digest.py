"""The digest worker seals the stored ledger, chains its seals, and refuses damage."""

import threading
from decimal import Decimal

import psycopg
import pytest

from arqium.domain.ledger import chain
from arqium.domain.ledger.digest import LedgerDamaged, seal_digest, sealed
from arqium.domain.shared import Cause
from arqium.infra.ledger_audit import digest_up_to
from arqium.workers.ledger_digest import DigestSealer
from tests.conftest import eventually

ADA = Cause(actor="ada")
SEALER = Cause(actor="worker:ledger_digest")


def contract(system) -> str:
    created, _ = system.ledger.create_object("ada", "contract", {"amount": Decimal("1.50")},
                                             cause=ADA)
    system.ledger.transact("ada", created.id, "sign", {"status": "signed"}, {}, cause=ADA)
    return created.id


def transact(system, object_id, status: str) -> None:
    system.ledger.transact("ada", object_id, "mark", {"status": status}, {}, cause=ADA)


def test_the_first_seal_is_the_digest_verification_computes(system, clock):
    contract(system)
    contract(system)
    digest = seal_digest(system.ledger, clock(), cause=SEALER)
    assert digest.digest == chain.verify(system.ledger.entries())["digest"]
    assert sealed(system.ledger)[0]["heads_count"] == 2


def test_each_seal_chains_to_the_previous_one(system, clock):
    object_id = contract(system)
    first = seal_digest(system.ledger, clock(), cause=SEALER).digest
    transact(system, object_id, "paid")
    seal_digest(system.ledger, clock(), cause=SEALER)
    assert [s["prev_digest"] for s in sealed(system.ledger)] == [chain.GENESIS, first]


def test_an_unchanged_ledger_is_not_sealed_again(system, clock):
    contract(system)
    seal_digest(system.ledger, clock(), cause=SEALER)
    assert seal_digest(system.ledger, clock(), cause=SEALER) is None
    assert len(sealed(system.ledger)) == 1


def test_an_auditor_recomputes_a_seal_from_an_export(system, clock):
    object_id = contract(system)
    seal_digest(system.ledger, clock(), cause=SEALER)
    transact(system, object_id, "paid")
    seal_digest(system.ledger, clock(), cause=SEALER)
    transact(system, object_id, "archived")  # after the last seal: not covered by it
    entries = list(system.ledger.entries())
    for seal in sealed(system.ledger):
        assert digest_up_to(entries, seal["up_to_position"], seal["prev_digest"]) == seal[
            "digest"]


def test_seals_leave_the_ledgers_verification_alone(system, clock):
    object_id = contract(system)
    seal_digest(system.ledger, clock(), cause=SEALER)
    transact(system, object_id, "paid")
    assert chain.verify(system.ledger.entries())["checked_events"] == 3


def test_a_tampered_ledger_is_not_sealed(system, clock):
    object_id = contract(system)
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE ledger_events SET state = convert_to(replace(convert_from("
                     "state, 'UTF8'), 'signed', 'signee'), 'UTF8')")
    with pytest.raises(LedgerDamaged) as caught:
        seal_digest(system.ledger, clock(), cause=SEALER)
    assert caught.value.details == {"object_id": str(object_id), "version": 2}
    assert sealed(system.ledger) == []


def test_the_worker_keeps_its_heads_and_seals_only_what_is_new(system, settings):
    sealer = DigestSealer(settings, threading.Event(), clock=system.clock)
    object_id = contract(system)
    assert sealer.seal(system.ledger).up_to_position == sealer.heads.position
    assert sealer.seal(system.ledger) is None
    transact(system, object_id, "paid")
    assert sealer.seal(system.ledger).digest == sealed(system.ledger)[-1]["digest"]


def test_the_digest_worker_runs_in_the_worker_group(system, settings, workers):
    settings.ledger_digest_seconds = 0.1
    object_id = contract(system)
    workers("ledger_digest")
    wait_for_seals(system, 1)
    transact(system, object_id, "paid")
    seals = wait_for_seals(system, 2)
    assert seals[1]["prev_digest"] == seals[0]["digest"]


def wait_for_seals(system, count: int) -> list[dict]:
    assert eventually(lambda: len(sealed(system.ledger)) >= count, every=0.1), (
        f"fewer than {count} seals after 10 s")
    return sealed(system.ledger)
