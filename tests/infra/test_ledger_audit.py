"""Exports of the ledger, verified offline as an auditor would, and states replayed."""

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from arqium.domain.ledger import chain
from arqium.domain.shared import Cause
from arqium.infra.ledger_audit import export_lines, recorded_between, state_at, verify_file

ROOT = Path(__file__).resolve().parents[2]
ADA = Cause(actor="ada")


def contracts(system, clock) -> list[str]:
    """Two objects, one signed an hour after creation and amended an hour later."""
    first, _ = system.ledger.create_object("ada", "contract", {"amount": Decimal("10.10")},
                                           cause=ADA)
    second, _ = system.ledger.create_object("ada", "invoice", {"total": 3}, cause=ADA)
    clock.advance(hours=1)
    system.ledger.transact("ada", first.id, "sign", {"status": "signed"}, {"by": "ada"},
                           cause=ADA)
    clock.advance(hours=1)
    system.ledger.transact("ada", first.id, "amend", {"amount": None, "total": 5}, {},
                           cause=ADA)
    return [str(first.id), str(second.id)]


def export(system, path: Path) -> Path:
    path.write_text("".join(export_lines(system.ledger.entries())))
    return path


def test_an_export_verifies_offline_with_the_servers_digest(system, clock, tmp_path):
    contracts(system, clock)
    result = verify_file(export(system, tmp_path / "ledger.ndjson"))
    assert result == {"ok": True, "checked_events": 4, "checked_seals": 0,
                      "digest": chain.verify(system.ledger.entries())["digest"]}


def test_amounts_are_exported_exactly_as_sent(system, clock, tmp_path):
    contracts(system, clock)
    assert '"amount":10.10' in export(system, tmp_path / "ledger.ndjson").read_text()


def test_one_changed_byte_in_an_export_names_the_object_and_version(system, clock, tmp_path):
    first, _ = contracts(system, clock)
    path = export(system, tmp_path / "ledger.ndjson")
    path.write_text(path.read_text().replace('"status":"signed"', '"status":"signef"'))
    assert verify_file(path)["first_failure"] == {
        "object_id": first, "version": 2,
        "reason": "hash does not match the event's content"}


def test_a_line_broken_beyond_json_still_names_its_object(system, clock, tmp_path):
    first, _ = contracts(system, clock)
    path = export(system, tmp_path / "ledger.ndjson")
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("{", "[", 1)
    path.write_text("".join(lines))
    failure = verify_file(path)["first_failure"]
    assert (failure["object_id"], failure["version"]) == (first, 1)
    assert failure["reason"].startswith("line 1 is not JSON")


def test_a_missing_line_is_caught(system, clock, tmp_path):
    first, _ = contracts(system, clock)
    path = export(system, tmp_path / "ledger.ndjson")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2] + lines[3:]))
    assert verify_file(path)["first_failure"]["reason"] == "version 3 follows version 1"


def test_the_state_at_a_time_folds_the_events_recorded_until_then(system, clock):
    first, second = contracts(system, clock)
    states = state_at(system.ledger.entries(), clock.now - timedelta(minutes=30))
    assert states[first] == {"type_name": "contract", "version": 2,
                             "data": {"amount": Decimal("10.10"), "status": "signed"}}
    assert states[second]["version"] == 1


def test_before_any_creation_there_is_no_object(system, clock):
    start = clock.now
    contracts(system, clock)
    assert state_at(system.ledger.entries(), start - timedelta(seconds=1)) == {}


@pytest.mark.parametrize("module", ["psycopg", "eventsourcing", "arqium.api",
                                    "arqium.projections"])
def test_offline_verification_loads_no_database_or_server_code(module):
    code = ("import sys, arqium.infra.ledger_audit, arqium.cli.main; "
            f"sys.exit(any(m == {module!r} or m.startswith({module!r} + '.') "
            "for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def edit_stored_events(system, sql: str) -> None:
    with psycopg.connect(system.settings.database_url, autocommit=True) as conn:
        conn.execute(sql)


def test_a_byte_changed_in_postgres_is_caught_by_the_offline_verifier(system, clock, tmp_path):
    first, _ = contracts(system, clock)
    edit_stored_events(system, "UPDATE ledger_events SET state = convert_to(replace("
                               "convert_from(state, 'UTF8'), 'signed', 'signef'), 'UTF8')")
    failure = verify_file(export(system, tmp_path / "ledger.ndjson"))["first_failure"]
    assert (failure["object_id"], failure["version"]) == (first, 2)


def test_an_unreadable_stored_event_is_exported_and_fails_verification(system, clock,
                                                                        tmp_path):
    first, _ = contracts(system, clock)
    edit_stored_events(system, "UPDATE ledger_events SET state = 'not json' "
                               "WHERE originator_version = 3")
    entries = list(recorded_between(system.ledger.entries(), start=clock.now))
    assert [(e["object_id"], e["version"]) for e in entries] == [(first, 3)]
    failure = verify_file(export(system, tmp_path / "ledger.ndjson"))["first_failure"]
    assert (failure["object_id"], failure["version"]) == (first, 3)
    with pytest.raises(ValueError, match="cannot be read"):
        state_at(system.ledger.entries(), clock.now)
