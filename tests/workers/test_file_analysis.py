"""The analysis worker, one file at a time: it records how each analysis ended, and
steps over a file deleted or ended meanwhile without failing."""

import threading

import pytest

from arqium.domain.files.domainmodel import COMPLETE, FAILED, PENDING
from arqium.workers.file_analysis import FileAnalyst
from tests.conftest import SETUP


@pytest.fixture
def analyst(settings, clock):
    return FileAnalyst(settings, threading.Event(), clock)


def recorded(system, content: bytes, content_type: str = "text/csv") -> dict:
    """A file's read-model row, as the worker reads it, of a new upload."""
    draft = system.blobs.draft()
    draft.write(content)
    address = system.blobs.commit(draft)
    stored, _ = system.files.record_upload("u1", "a.csv", content_type, len(content),
                                           address, cause=SETUP)
    return {"id": stored.id, "sha256": address, "content_type": content_type}


def status(system, file_id) -> str:
    return system.files.live_file(file_id).analysis_status


def test_a_file_is_analysed_and_its_figures_recorded(system, analyst):
    row = recorded(system, b"a,b\n1,2\n")
    assert analyst.analyse(system.files, system.blobs, row) is True
    assert status(system, row["id"]) == COMPLETE


def test_a_file_whose_bytes_are_missing_fails_with_that_reason(system, analyst):
    row = recorded(system, b"gone,soon\n")
    system.blobs.delete(row["sha256"])
    assert analyst.analyse(system.files, system.blobs, row) is True
    events = list(system.files.repository.event_store.get(row["id"]))
    assert status(system, row["id"]) == FAILED
    assert events[-1].reason == "the file's bytes are missing from the blob store"


def test_a_file_deleted_meanwhile_is_skipped(system, analyst):
    row = recorded(system, b"a\n1\n")
    system.files.delete_file("u1", row["id"], cause=SETUP)
    assert analyst.analyse(system.files, system.blobs, row) is False


def test_a_file_whose_analysis_has_ended_is_not_analysed_again(system, analyst):
    row = recorded(system, b"a\n1\n")
    analyst.analyse(system.files, system.blobs, row)
    versions = len(list(system.files.repository.event_store.get(row["id"])))
    assert analyst.analyse(system.files, system.blobs, row) is False
    assert len(list(system.files.repository.event_store.get(row["id"]))) == versions


def test_a_result_postgres_cannot_hold_is_made_storable(system, analyst):
    row = recorded(system, b'{"a\\u0000b": 1, "\\ud800": 2}', "application/json")
    analyst.analyse(system.files, system.blobs, row)
    events = list(system.files.repository.event_store.get(row["id"]))
    assert events[-1].result["keys"] == ["ab", "\ufffd"]


def test_a_stopping_worker_starts_no_analysis(system, settings, clock):
    stopping = threading.Event()
    stopping.set()
    row = recorded(system, b"a\n1\n")
    assert FileAnalyst(settings, stopping, clock).analyse(system.files, system.blobs,
                                                          row) is False
    assert status(system, row["id"]) == PENDING
