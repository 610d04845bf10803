"""One projection that cannot apply an event stops alone: the others and the relay go
on, it says so (health, `arqium projections status`), and only an operator's
`arqium projections skip` moves it past the event."""

import psycopg
import pytest

from arqium.cli.main import main
from arqium.domain.memory.application import MemoryDraft
from arqium.workers.runner import WorkerGroup
from tests.conftest import SETUP, eventually
from tests.workers.test_relay import relayed_up_to

WAIT_SECONDS = 30


@pytest.fixture
def poisoned(database):
    """memory_items cannot store a memory keyed `poison`; every other read model can."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("ALTER TABLE memory_items ADD CONSTRAINT no_poison "
                     "CHECK (key <> 'poison')")


@pytest.fixture
def group(settings, poisoned):
    quick = settings.model_copy(update={"worker_retry_max_seconds": 0.2})
    group = WorkerGroup(["memory_items", "memory_embeddings", "users", "nats_relay"], quick)
    group.start()
    yield group
    group.stop()


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("ARQIUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARQIUM_NATS_URL", settings.nats_url)
    monkeypatch.setenv("ARQIUM_JWT_SECRET", settings.jwt_secret.get_secret_value())


def store(system, key: str) -> int:
    _, position = system.memory.upsert("u1", MemoryDraft(key=key, content=key), cause=SETUP)
    return position


def failure_of(system, worker: str = "memory_items"):
    return system.worker_failures.failures().get((worker, "memory"))


@pytest.fixture
def stuck(system, group):
    """memory_items stuck on the poisoned event, retried three times; its position."""
    store(system, "before")
    poison = store(system, "poison")
    last = store(system, "after")
    _, registered = system.identity.register("ada@example.com", "Ada", "correct horse",
                                             cause=SETUP)
    system.views["memory_embeddings"].wait("memory", last, timeout=WAIT_SECONDS)
    system.views["users"].wait("identity", registered, timeout=WAIT_SECONDS)
    assert eventually(lambda: relayed_up_to(system, "memory") >= last, WAIT_SECONDS,
                      every=0.05), "the relay stopped too"
    assert eventually(lambda: (f := failure_of(system)) and f.attempts >= 3, WAIT_SECONDS,
                      every=0.05), "no failure reported"
    return poison


def test_a_projection_failing_on_an_event_stops_there_alone_and_never_skips_it(
        system, stuck):
    failure = failure_of(system)
    assert failure.position == stuck
    assert "CheckViolation" in failure.error or "no_poison" in failure.error
    assert system.views["memory_items"].position("memory") == stuck - 1
    assert [row["key"] for row in system.views["memory_items"].recent(
        "u1", 5, system.clock())] == ["before"]


def test_health_reports_the_failed_projection_with_its_event_and_error(client, stuck):
    body = client.get("/api/v1/health").json()["data"]
    check = body["checks"]["memory_items:memory"]
    assert body["status"] == "degraded"
    assert check["status"] == "failed"
    assert check["failure"]["position"] == stuck
    assert "no_poison" in check["failure"]["error"]
    assert body["checks"]["users:identity"]["status"] == "up"


def test_status_shows_the_failed_projection_and_how_to_skip_its_event(
        cli_env, stuck, capsys):
    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith("memory_items"))
    assert row[-1] == "failed" and row[3] == str(stuck - 1)
    assert f"memory_items (memory) FAILED on the event at position {stuck}" in out
    assert f"projections skip memory_items --position {stuck}" in out


def test_a_skip_moves_the_projection_past_that_event_and_is_recorded_and_shown(
        cli_env, system, client, stuck, capsys):
    assert main(["projections", "skip", "memory_items", "--position", str(stuck),
                 "--reason", "unstorable test data", "--actor", "ops"]) == 0
    system.views["memory_items"].wait("memory", stuck + 1, timeout=WAIT_SECONDS)
    assert sorted(row["key"] for row in system.views["memory_items"].recent(
        "u1", 5, system.clock())) == ["after", "before"]
    assert eventually(lambda: failure_of(system) is None, WAIT_SECONDS, every=0.05), (
        "the failure was not cleared")
    [skip] = system.worker_failures.skips()
    assert (skip.worker, skip.position, skip.actor, skip.reason) == (
        "memory_items", stuck, "ops", "unstorable test data")
    assert "no_poison" in skip.error
    capsys.readouterr()
    assert main(["projections", "status"]) == 0
    assert (f"memory_items (memory) skipped position {stuck}" in capsys.readouterr().out)
    check = client.get("/api/v1/health").json()["data"]["checks"]["memory_items:memory"]
    assert check["status"] == "up" and check["skipped"][0]["position"] == stuck


def test_a_skip_of_another_event_than_the_one_it_is_stuck_on_is_refused(cli_env, stuck):
    with pytest.raises(SystemExit, match=f"next is at {stuck}, not {stuck + 1}"):
        main(["projections", "skip", "memory_items", "--position", str(stuck + 1),
              "--reason", "wrong one"])
