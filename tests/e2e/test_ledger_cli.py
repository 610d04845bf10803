"""`arqium ledger export | verify | replay`, run as an auditor runs them."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from arqium.domain.shared import Cause

ROOT = Path(__file__).resolve().parents[2]
ADA = Cause(actor="ada")


def arqium(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
    """The CLI in its own process; without a database URL it has none at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARQIUM_")}
    if database_url:
        env["ARQIUM_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "arqium.cli", "ledger", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def ledger(system, clock) -> dict:
    """A contract created, signed an hour later, paid an hour after that."""
    created, _ = system.ledger.create_object("ada", "contract", {"amount": Decimal("9.90")},
                                             cause=ADA)
    start = clock()
    clock.advance(hours=1)
    system.ledger.transact("ada", created.id, "sign", {"status": "signed"}, {}, cause=ADA)
    clock.advance(hours=1)
    system.ledger.transact("ada", created.id, "pay", {"status": "paid"}, {}, cause=ADA)
    return {"id": str(created.id), "created": start, "url": system.settings.database_url}


@pytest.fixture
def export_file(ledger, tmp_path) -> Path:
    exported = arqium("export", "--no-progress", database_url=ledger["url"])
    assert exported.returncode == 0, exported.stderr
    path = tmp_path / "ledger.ndjson"
    path.write_text(exported.stdout)
    return path


def test_an_export_verifies_with_no_database(export_file):
    verified = arqium("verify", "--file", str(export_file), "--no-progress")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: 3 events checked, digest ")


def test_a_changed_byte_fails_verification_naming_the_event(export_file, ledger):
    export_file.write_text(export_file.read_text().replace('"paid"', '"pair"'))
    verified = arqium("verify", "--file", str(export_file), "--no-progress")
    assert verified.returncode == 1
    assert f"object {ledger['id']} version 3: hash does not match" in verified.stdout


def test_verification_shows_progress_on_stderr(export_file):
    verified = arqium("verify", "--file", str(export_file))
    assert "verify" in verified.stderr and "100%" in verified.stderr
    assert verified.stdout.startswith("ok: ")


def test_an_export_can_be_bounded_in_time(ledger):
    until = (ledger["created"] + timedelta(minutes=90)).isoformat()
    exported = arqium("export", "--to", until, "--no-progress", database_url=ledger["url"])
    assert [json.loads(line)["version"] for line in exported.stdout.splitlines()] == [1, 2]


def test_a_bad_time_is_refused_by_name(ledger):
    exported = arqium("export", "--from", "yesterday", database_url=ledger["url"])
    assert exported.returncode == 1 and "--from must be an ISO 8601 time" in exported.stderr


def test_replay_shows_each_object_as_it_was_then(ledger):
    until = (ledger["created"] + timedelta(minutes=90)).isoformat()
    replayed = arqium("replay", "--until", until, "--no-progress", database_url=ledger["url"])
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout, parse_float=Decimal) == {
        "object_id": ledger["id"], "type_name": "contract", "version": 2,
        "data": {"amount": Decimal("9.90"), "status": "signed"}}


def test_replay_reads_an_export_too_and_prints_a_table(export_file, ledger):
    replayed = arqium("replay", "--until", "2999-01-01", "--file", str(export_file), "--table",
                      "--no-progress")
    row = replayed.stdout.splitlines()[1].split()
    assert row[:3] == [ledger["id"], "contract", "3"]
    assert '"amount":9.90' in replayed.stdout


def test_export_without_a_database_says_how_to_get_one(tmp_path):
    exported = arqium("export", "--data-dir", str(tmp_path))
    assert exported.returncode == 1
    assert exported.stderr == (f"no running `arqium up` under {tmp_path}: start one, pass "
                               "--data-dir, or set ARQIUM_DATABASE_URL\n")
