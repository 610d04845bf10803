"""The blob sweep frees the bytes no file holds, once they are old enough, and only
from a files read model that has caught up."""

from datetime import timedelta

import pytest

from arqium.projections.files import FilesProjection
from arqium.workers.blob_sweep import sweep
from tests.conftest import SETUP

GRACE = timedelta(hours=1)


@pytest.fixture
def blobs(system):
    return system.blobs


def stored(blobs, content: bytes) -> str:
    draft = blobs.draft()
    draft.write(content)
    return blobs.commit(draft)


def recorded(system, address: str, size: int):
    stored_file, position = system.files.record_upload(
        "u1", "a.txt", "text/plain", size, address, cause=SETUP)
    return stored_file.id, position


def caught_up(system, position: int) -> None:
    system.read_models.files.wait("files", position, timeout=10)


def sweep_now(system, clock):
    return sweep(system.blobs, system.read_models.of(FilesProjection),
                 system.files.recorder.max_notification_id(), clock, GRACE)


def test_a_deleted_file_s_blob_goes_once_it_is_old_enough(system, workers, clock, blobs):
    workers("files")
    address = stored(blobs, b"bye")
    file_id, _ = recorded(system, address, 3)
    caught_up(system, system.files.delete_file("u1", file_id, cause=SETUP))
    assert sweep_now(system, clock) == []  # within its grace
    clock.advance(hours=2)
    assert sweep_now(system, clock) == [address]
    assert not blobs.exists(address)


def test_a_blob_another_file_still_holds_stays(system, workers, clock, blobs):
    workers("files")
    address = stored(blobs, b"shared")
    first, _ = recorded(system, address, 6)
    recorded(system, address, 6)
    caught_up(system, system.files.delete_file("u1", first, cause=SETUP))
    clock.advance(hours=2)
    assert sweep_now(system, clock) == []
    assert blobs.exists(address)


def test_an_unrecorded_blob_goes_after_its_grace(system, clock, blobs):
    address = stored(blobs, b"upload that failed before its event")
    clock.advance(hours=2)
    assert sweep_now(system, clock) == [address]


def test_nothing_goes_while_the_read_model_is_behind(system, clock, blobs):
    address = stored(blobs, b"recorded, not yet projected")
    recorded(system, address, 27)  # no projector runs
    clock.advance(hours=2)
    assert sweep_now(system, clock) == []
    assert blobs.exists(address)
