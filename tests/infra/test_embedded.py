"""What an embedded server left running by a killed `arqium up` means for the next one
(the whole drill, `kill -9` of `up` included, is in tests/e2e/test_up.py)."""

import asyncio
import os
import stat

import nats
import nats.errors
import psutil
import pytest

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


def connects(url: str) -> bool:
    """Whether a client can connect to NATS at `url` (and use JetStream)."""
    async def attempt() -> None:
        connection = await nats.connect(url, allow_reconnect=False, connect_timeout=5)
        try:
            await connection.jetstream().account_info()
        finally:
            await connection.close()

    try:
        asyncio.run(attempt())
    except nats.errors.Error:
        return False
    return True


@pytest.fixture
def embedded_nats(tmp_path):
    server = EmbeddedNats(tmp_path)
    server.start()
    yield server
    server.stop()


def test_the_embedded_nats_refuses_a_client_without_credentials(embedded_nats):
    assert not connects(f"nats://127.0.0.1:{embedded_nats.port}")


def test_the_embedded_nats_refuses_a_wrong_password(embedded_nats):
    assert not connects(f"nats://arqium:guessed@127.0.0.1:{embedded_nats.port}")


def test_the_embedded_nats_accepts_a_client_with_its_credentials(embedded_nats):
    assert connects(embedded_nats.url)


def test_the_embedded_nats_credentials_are_its_owners_alone_and_kept(embedded_nats,
                                                                      tmp_path):
    assert stat.S_IMODE(embedded_nats.credentials_file.stat().st_mode) == 0o600
    assert EmbeddedNats(tmp_path).credentials() == embedded_nats.credentials()


def test_the_password_stays_off_the_servers_command_line(embedded_nats):
    _, password = embedded_nats.credentials()
    server = psutil.Process(int(embedded_nats.pid_file.read_text()))
    assert password not in " ".join(server.cmdline())


def test_the_public_url_names_the_user_but_not_the_password(embedded_nats):
    _, password = embedded_nats.credentials()
    assert password in embedded_nats.url
    assert password not in embedded_nats.public_url
    assert "arqium@" in embedded_nats.public_url
