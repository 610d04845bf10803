"""What an embedded server left running by a killed `arqium up` means for the next one
(the whole drill, `kill -9` of `up` included, is in tests/e2e/test_up.py)."""

import os

import psutil

from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres


def test_a_nats_server_left_running_on_the_store_is_stopped_before_the_next_starts(
        tmp_path):
    leftover = EmbeddedNats(tmp_path)
    leftover.start()
    process = psutil.Process(int(leftover.pid_file.read_text()))
    try:
        assert EmbeddedNats(tmp_path).stop_leftover() == process.pid
        assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    finally:
        leftover.stop()


def test_a_nats_server_of_another_store_is_left_alone(tmp_path):
    other = EmbeddedNats(tmp_path / "other")
    other.start()
    try:
        mine = EmbeddedNats(tmp_path / "mine")
        mine.pid_file.parent.mkdir(parents=True)
        mine.pid_file.write_text(other.pid_file.read_text())
        assert mine.stop_leftover() is None
        assert psutil.Process(int(other.pid_file.read_text())).is_running()
    finally:
        other.stop()


def test_a_postgres_lock_file_naming_a_process_that_is_not_its_server_is_removed(
        tmp_path):
    postgres = EmbeddedPostgres(tmp_path)
    postgres.pgdata.mkdir()
    lock_file = postgres.pgdata / "postmaster.pid"
    lock_file.write_text(f"{os.getpid()}\n{postgres.pgdata}\n")  # a pid reused since
    assert postgres.stop_leftover() is None
    assert not lock_file.exists()
