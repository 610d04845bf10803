"""Commands find a running `arqium up` by its data directory, through the services file
it publishes there; the environment wins, and a stale file is not trusted."""

import json
import os
import stat
import subprocess
import sys

import pytest

from arqium.cli.discovery import (
    SERVICES_FILE,
    publish_services,
    running_up,
    with_services,
    withdraw_services,
)
from arqium.cli.run import refuse_a_second_up
from arqium.infra.settings import Settings

DATABASE = "postgresql://arqium:secret@localhost:5432/arqium"
NATS = "nats://127.0.0.1:40123"


@pytest.fixture(autouse=True)
def no_service_variables(monkeypatch, tmp_path):
    monkeypatch.delenv("ARQIUM_DATABASE_URL", raising=False)
    monkeypatch.delenv("ARQIUM_NATS_URL", raising=False)
    monkeypatch.chdir(tmp_path)


def published(tmp_path) -> Settings:
    """This test process poses as an `arqium up` under tmp_path."""
    publish_services(Settings(data_dir=tmp_path, database_url=DATABASE, nats_url=NATS))
    return Settings(data_dir=tmp_path)


def rewrite(tmp_path, **changes) -> None:
    path = tmp_path / SERVICES_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_a_command_uses_the_services_of_the_up_running_under_its_data_dir(tmp_path):
    settings = with_services(published(tmp_path))
    assert (settings.database_url, settings.nats_url) == (DATABASE, NATS)


def test_the_environment_wins_over_the_running_up(tmp_path, monkeypatch):
    monkeypatch.setenv("ARQIUM_NATS_URL", "nats://elsewhere:4222")
    settings = with_services(published(tmp_path))
    assert (settings.database_url, settings.nats_url) == (DATABASE, "nats://elsewhere:4222")


def test_the_services_file_is_readable_by_its_owner_only(tmp_path):
    published(tmp_path)
    assert stat.S_IMODE((tmp_path / SERVICES_FILE).stat().st_mode) == 0o600


def test_a_file_left_by_an_up_that_was_killed_is_not_trusted(tmp_path):
    published(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout
    rewrite(tmp_path, pid=int(gone))
    assert running_up(tmp_path) is None


def test_a_file_whose_pid_now_names_another_process_is_not_trusted(tmp_path):
    published(tmp_path)
    rewrite(tmp_path, started_at=0)  # this pid, but a process started long before
    assert running_up(tmp_path) is None


def test_without_a_running_up_the_error_says_how_to_fix_it():
    with pytest.raises(SystemExit) as stopped:
        with_services(Settings())
    assert str(stopped.value) == (
        "no running `arqium up` under ./.arqium: start one, pass --data-dir, or set "
        "ARQIUM_DATABASE_URL and ARQIUM_NATS_URL")


def test_a_command_that_needs_only_the_database_asks_only_for_it(tmp_path):
    with pytest.raises(SystemExit, match="or set ARQIUM_DATABASE_URL$"):
        with_services(Settings(data_dir=tmp_path), nats=False)


def test_a_clean_stop_withdraws_the_file(tmp_path):
    published(tmp_path)
    withdraw_services(tmp_path)
    assert not (tmp_path / SERVICES_FILE).exists()


def test_a_second_up_on_the_same_data_dir_is_refused_naming_the_first(tmp_path):
    published(tmp_path)
    with pytest.raises(SystemExit, match=f"already runs under {tmp_path} \\(pid {os.getpid()}"):
        refuse_a_second_up(tmp_path)
