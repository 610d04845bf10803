"""The files context's rules, without I/O."""

from datetime import datetime, timezone
from uuid import uuid4

import pytest

from arqium.domain.files.domainmodel import (
    FileNotFound,
    InvalidFileType,
    StoredFile,
    check_content_type,
    check_session_id,
    clean_filename,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def a_file() -> StoredFile:
    return StoredFile(id=uuid4(), owner_id="u1", filename="a.csv", content_type="text/csv",
                      size=3, sha256="0" * 64, session_id=None, at=AT)


def test_an_upload_records_its_metadata_and_blob_address(cause):
    stored = a_file()
    [uploaded] = stored.collect_events()
    assert (uploaded.owner_id, uploaded.filename, uploaded.sha256, uploaded.actor) == (
        "u1", "a.csv", "0" * 64, "user:u1")


def test_a_deletion_names_the_blob_the_file_held(cause):
    stored = a_file()
    stored.delete(at=AT)
    assert stored.collect_events()[-1].sha256 == "0" * 64


def test_a_deleted_file_cannot_be_deleted_again(cause):
    stored = a_file()
    stored.delete(at=AT)
    with pytest.raises(FileNotFound):
        stored.delete(at=AT)


@pytest.mark.parametrize("sent, kept", [("C:\\Users\\ada\\data.csv", "data.csv"),
                                        ("../../etc/passwd", "passwd"),
                                        ("  report.pdf ", "report.pdf")])
def test_a_filename_keeps_only_its_last_part(sent, kept):
    assert clean_filename(sent) == kept


@pytest.mark.parametrize("sent", ["", "..", "a/", "bad\x00name", "x" * 256])
def test_a_filename_without_a_printable_name_is_refused(sent):
    with pytest.raises(Invalid):
        clean_filename(sent)


def test_a_session_id_with_control_characters_is_refused():
    with pytest.raises(Invalid):
        check_session_id("chat\x00")


def test_an_unlisted_content_type_is_an_invalid_file_type():
    with pytest.raises(InvalidFileType):
        check_content_type("application/zip")
