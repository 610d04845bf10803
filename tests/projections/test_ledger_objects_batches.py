"""The ledger read model is the same whether its events come one at a time (a quiet
projector) or in big batches (a rebuild, a projector behind a busy write path, where a
batch's new objects, changed objects and events are each written in one statement, or
in several when their rows are too large for one document), and whether a batch reads
the objects it changes from the table or from what the projector remembers of them:
same objects, versions, transaction counts, states and history."""

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest

from arqium.infra.eventstore import open_pool, shared_env
from arqium.projections import ledger_objects, rows
from arqium.projections.base import open_view
from arqium.projections.ledger_objects import LedgerObjectsProjection
from arqium.workers.feed import EventFeed
from tests.conftest import SETUP
from tests.projections.replay import fed_copy


def write_history(system, clock) -> None:
    ledger = system.ledger
    invoice, _ = ledger.create_object("u1", "invoice", {
        "status": "draft", "amount": Decimal("12.50"), "lines": ["a" * 700]}, cause=SETUP)
    contract, _ = ledger.create_object("u2", "contract", {"parties": ["x", "y"]},
                                       cause=SETUP)
    for number in range(8):
        clock.now += timedelta(minutes=5)
        ledger.transact("u1", invoice.id, "line", {"lines": [f"line {number}" * 40]},
                        {"by": f"clerk {number}"}, cause=SETUP)
    ledger.transact("u1", invoice.id, "send", {"status": "sent", "note": None}, {},
                    cause=SETUP)
    ledger.transact("u2", contract.id, "sign", {"signed": True, "by": "naïve 中文"},
                    {"n": 2**62}, cause=SETUP)
    for number in range(5):  # a run of new objects
        ledger.create_object(f"u{3 + number % 2}", "note", {"n": number}, cause=SETUP)


def replayed(system, settings, name: str, batch_size: int) -> dict[str, list]:
    """Every table of a fresh copy of the read model fed the whole history."""
    with fed_copy(settings, LedgerObjectsProjection, system.ledger, name,
                  batch_size) as view:
        objects = view.query("SELECT * FROM {table} ORDER BY id")
        events = view.query("SELECT * FROM {events} ORDER BY object_id, version")
    return {"objects": objects, "events": events}


def test_batches_in_one_or_many_documents_give_the_same_read_model(system, settings,
                                                                   clock, monkeypatch):
    write_history(system, clock)
    one_by_one = replayed(system, settings, "ledger_objects_one", batch_size=1)
    assert replayed(system, settings, "ledger_objects_all", batch_size=500) == one_by_one
    monkeypatch.setattr(rows, "MAX_DOCUMENT_CHARS", 1500)  # a few rows a statement
    assert replayed(system, settings, "ledger_objects_small", batch_size=500) == one_by_one
    objects = {row["type_name"]: row for row in one_by_one["objects"]}
    assert len(one_by_one["objects"]) == 7 and len(one_by_one["events"]) == 17
    assert (objects["invoice"]["version"], objects["invoice"]["transactions"]) == (10, 9)
    assert objects["invoice"]["status"] == "sent"
    assert '"amount":12.50' in objects["invoice"]["data"]  # exactly as it was sent
    assert objects["contract"]["data"].count("naïve 中文") == 1


@pytest.mark.parametrize("remembered_bytes", [0, 1500])
def test_objects_remembered_by_the_projector_or_read_again_give_the_same_read_model(
        remembered_bytes, system, settings, clock, monkeypatch):
    """Read from the table each time (0 bytes), or remembered one at a time, each
    forgotten for the next (1,500 bytes): as when all are remembered."""
    write_history(system, clock)
    remembering_all = replayed(system, settings, "ledger_objects_all", batch_size=2)
    monkeypatch.setattr(ledger_objects, "KNOWN_OBJECTS_BYTES", remembered_bytes)
    assert replayed(system, settings, "ledger_objects_few", batch_size=2) == remembering_all


def test_a_batch_that_fails_is_not_remembered(system, settings):
    """Its objects are read again from the table when it is retried: remembered as the
    failed batch left them, they would look written already."""
    invoice, _ = system.ledger.create_object("u1", "invoice", {"status": "draft"},
                                             cause=SETUP)
    for status in ("sent", "paid"):
        system.ledger.transact("u1", invoice.id, status, {"status": status}, {},
                               cause=SETUP)
    pool = open_pool(settings)
    try:
        view = open_view(LedgerObjectsProjection, shared_env(
            settings, pool, create_tables=True), name="ledger_objects_refusing")
        projection = LedgerObjectsProjection(view)
        feed = EventFeed(system.ledger, 0, lambda: False, batch_size=2)
        projection.process_batch(feed.next_batch())  # created, then sent
        paid = feed.next_batch()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(REFUSE_PAID)
            with pytest.raises(Exception, match="refused"):
                projection.process_batch(paid)
            conn.execute("DROP TRIGGER refuse_paid ON ledger_objects_refusing")
        projection.process_batch(paid)
        assert view.query("SELECT status, version, transactions FROM {table}") == [
            {"status": "paid", "version": 3, "transactions": 2}]
    finally:
        pool.close()


REFUSE_PAID = """
CREATE FUNCTION refuse_paid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'paid' THEN RAISE EXCEPTION 'refused'; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_paid BEFORE UPDATE ON ledger_objects_refusing
FOR EACH ROW EXECUTE FUNCTION refuse_paid()"""
