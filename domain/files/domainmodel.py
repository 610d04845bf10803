"""Files: what was uploaded, by whom, and where its bytes are (a blob's SHA-256; the
bytes themselves never enter an event)."""

import re
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound

MAX_FILENAME_LENGTH = 255
MAX_SESSION_ID_LENGTH = 255
# Kinds of content an upload may hold (detected from its bytes, never from its name).
CONTENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp",
                 "text/plain", "text/markdown", "text/csv", "application/json")
PENDING, PROCESSING, COMPLETE, FAILED = "pending", "processing", "complete", "failed"
MAX_FAILURE_LENGTH = 1000
CONTROL = re.compile("[\x00-\x1f\x7f]")


class FileNotFound(NotFound):
    pass


class AnalysisEnded(Conflict):
    pass


class FileTooLarge(Invalid):
    code = "file_too_large"


class InvalidFileType(Invalid):
    code = "invalid_file_type"


class StoredFile(ArqiumAggregate):
    """An uploaded file: its owner, name, kind and size, and the blob holding it."""

    @event("Uploaded")
    def __init__(self, id: UUID, owner_id: str, filename: str, content_type: str,
                 size: int, sha256: str, session_id: str | None, at: datetime):
        self.owner_id = owner_id
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.sha256 = sha256
        self.session_id = session_id
        self.uploaded_at = at
        self.deleted = False
        self.analysis_status = PENDING

    def start_analysis(self, at: datetime) -> None:
        """Mark the analysis under way (again, when a worker died while it was)."""
        self.check_not_deleted()
        self.check_analysis_open()
        self._analysis_started(at=at)

    @event("AnalysisStarted")
    def _analysis_started(self, at: datetime) -> None:
        self.analysis_status = PROCESSING

    def complete_analysis(self, result: dict, at: datetime) -> None:
        self.check_not_deleted()
        self.check_analysis_open()
        self._analysed(result=result, at=at)

    @event("Analysed")
    def _analysed(self, result: dict, at: datetime) -> None:
        self.analysis_status = COMPLETE

    def fail_analysis(self, reason: str, at: datetime) -> None:
        self.check_not_deleted()
        self.check_analysis_open()
        self._analysis_failed(reason=reason[:MAX_FAILURE_LENGTH], at=at)

    @event("AnalysisFailed")
    def _analysis_failed(self, reason: str, at: datetime) -> None:
        self.analysis_status = FAILED

    def check_analysis_open(self) -> None:
        if self.analysis_status in (COMPLETE, FAILED):
            raise AnalysisEnded(f"this file's analysis has ended ({self.analysis_status})")

    def delete(self, at: datetime) -> None:
        self.check_not_deleted()
        self._deleted(sha256=self.sha256, at=at)

    @event("Deleted")
    def _deleted(self, sha256: str, at: datetime) -> None:
        self.deleted = True

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise FileNotFound("no such file")


def clean_filename(filename: str | None) -> str:
    """The name without any folder a client put before it (C:\\Users\\..., ../..),
    refused when nothing printable is left."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    if not name or name in (".", "..") or CONTROL.search(name):
        raise Invalid("the file needs a name without control characters", field="file")
    if len(name) > MAX_FILENAME_LENGTH:
        raise Invalid(f"the file name must be at most {MAX_FILENAME_LENGTH} characters",
                      field="file")
    return name


def check_session_id(session_id: str | None) -> None:
    if session_id is not None and (len(session_id) > MAX_SESSION_ID_LENGTH
                                   or CONTROL.search(session_id)):
        raise Invalid(f"session_id must be at most {MAX_SESSION_ID_LENGTH} characters, "
                      "without control characters", field="session_id")


def check_content_type(content_type: str) -> None:
    if content_type not in CONTENT_TYPES:
        raise InvalidFileType("this kind of file is not accepted: PDF, PNG, JPEG, GIF, "
                              "WebP, text, Markdown, CSV or JSON", field="file")
