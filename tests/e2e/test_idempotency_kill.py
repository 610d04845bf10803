"""An API process killed (SIGKILL) after a keyed command was stored but before its
answer was kept: the retry, on another API process, answers it from the event store."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from arqium.infra.embedded import free_port
from tests.api.test_idempotency_after_crash import MEMORY, STORE, keyed
from tests.conftest import JWT_SECRET, eventually

READY_SECONDS = 90
DOOMED = "doomed-api"  # the application_name of the API this test kills
# Holds the killed API where the crash is to happen: its events and their receipt
# are committed, the response is out, and keeping the response (setting status) waits.
HOLD_ANSWERS = """
CREATE FUNCTION hold_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
CREATE TRIGGER hold_answers BEFORE UPDATE ON idempotent_responses FOR EACH ROW
WHEN (NEW.status IS NOT NULL) EXECUTE FUNCTION hold_answer();
"""
LET_GO = "DROP TRIGGER hold_answers ON idempotent_responses; DROP FUNCTION hold_answer()"


def until(condition, what: str, seconds: float = READY_SECONDS) -> None:
    """Wait for `condition`; the failure says what did not happen, and in how long."""
    if not eventually(condition, seconds, every=0.05):
        pytest.fail(f"{what} did not happen within {seconds} s")


def answers(url: str) -> bool:
    try:
        return httpx.get(url + "/ping", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def doomed_api(settings, services, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`arqium serve` on the test's database, with a lease of one second."""
    port = free_port()
    env = {**os.environ, "ARQIUM_DATABASE_URL": settings.database_url,
           "ARQIUM_NATS_URL": services["nats"], "ARQIUM_JWT_SECRET": JWT_SECRET,
           "ARQIUM_DATA_DIR": str(tmp_path), "ARQIUM_IDEMPOTENCY_LEASE_SECONDS": "1",
           "PGAPPNAME": DOOMED}
    process = subprocess.Popen(
        [sys.executable, "-m", "arqium.cli", "serve", "--port", str(port)], env=env,
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: answers(url) or process.poll() is not None, "the API's start")
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_command_stored_by_an_api_killed_before_keeping_its_answer_is_answered_again(
        settings, services, client, user, system, doomed_api):
    url, process = doomed_api
    admin = psycopg.connect(settings.database_url, autocommit=True)
    admin.execute(HOLD_ANSWERS)
    first = httpx.post(url + STORE, content=MEMORY, headers=keyed(user, "killed"),
                       timeout=30)
    until(lambda: admin.execute(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND wait_event = "
        "'PgSleep'", (DOOMED,)).fetchone(), "the killed API keeping its answer")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE application_name = %s", (DOOMED,))
    admin.execute(LET_GO)
    until(lambda: admin.execute("SELECT 1 FROM idempotent_responses WHERE key = 'killed' "
                                "AND leased_until <= now()").fetchone(), "the lease's end")
    admin.close()
    head = system.memory.recorder.max_notification_id()
    retry = client.post(STORE, content=MEMORY, headers=keyed(user, "killed"))
    assert first.status_code == retry.status_code == 201
    assert retry.json()["data"] == first.json()["data"]
    assert retry.headers["X-Event-Position"] == first.headers["X-Event-Position"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert system.memory.recorder.max_notification_id() == head
