"""Uploads as they stream in: a multipart body parsed chunk by chunk, its `file` part
written to a blob draft and hashed, its size counted and its kind told from its bytes,
so an upload over the limit or of the wrong kind is refused before it is stored (and
never held whole in memory)."""

import codecs
import re
from dataclasses import dataclass, field
from pathlib import PurePath

import filetype
from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from arqium.domain.files.domainmodel import (
    FileTooLarge,
    InvalidFileType,
    check_content_type,
    check_session_id,
    clean_filename,
)
from arqium.domain.shared import Invalid
from arqium.infra.blobs import BlobDraft, BlobStore

# The routes whose multipart bodies stream past the body-size limit and the
# Idempotency-Key middleware (both would hold the whole body): they count it themselves.
STREAMED_UPLOAD_PATHS = ("/upload", "/api/files/upload")
FILE_FIELD = "file"
SESSION_FIELD = "session_id"
MAX_FIELD_BYTES = 255
FORM_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and small fields
SNIFF_BYTES = 8192
BATCH_BYTES = 1024 * 1024  # handed to a worker thread at a time
BINARY_KINDS = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
# Bytes that do not occur in text (tab, newlines, form feed and escape do).
NOT_TEXT = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
TEXT_BY_SUFFIX = {".md": "text/markdown", ".markdown": "text/markdown",
                  ".csv": "text/csv", ".json": "application/json"}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    size: int
    sha256: str
    session_id: str | None


class ContentKind:
    """Tells an upload's kind from its first bytes (PDF and images by their magic
    numbers); anything else must be UTF-8 text throughout, and its name or first
    character then tells Markdown, CSV or JSON from plain text."""

    def __init__(self, filename: str):
        self.filename = filename
        self.head = b""
        self.kind: str | None = None
        self._text = codecs.getincrementaldecoder("utf-8")()

    def feed(self, chunk: bytes) -> None:
        if self.kind is None:
            self.head += chunk  # at most SNIFF_BYTES and one chunk
            if len(self.head) >= SNIFF_BYTES:
                self._decide()
        elif self.kind not in BINARY_KINDS:
            self._check_text(chunk)

    def finish(self) -> str:
        if self.kind is None:
            self._decide()
        if self.kind not in BINARY_KINDS:
            self._check_text(b"", final=True)
        return self.kind

    def _decide(self) -> None:
        self.kind = self._guess()
        if self.kind not in BINARY_KINDS:
            self._check_text(self.head)

    def _guess(self) -> str:
        guessed = filetype.guess_mime(self.head)
        if guessed is not None:
            check_content_type(guessed)  # a ZIP, an executable, ...: refused
            return guessed
        return self._text_kind()

    def _text_kind(self) -> str:
        named = TEXT_BY_SUFFIX.get(PurePath(self.filename).suffix.lower())
        if named:
            return named
        starts_json = self.head.lstrip()[:1] in (b"{", b"[")
        return "application/json" if starts_json else "text/plain"

    def _check_text(self, chunk: bytes, final: bool = False) -> None:
        try:
            self._text.decode(chunk, final)
        except UnicodeDecodeError:
            raise not_accepted() from None
        if NOT_TEXT.search(chunk):
            raise not_accepted()


def not_accepted() -> InvalidFileType:
    return InvalidFileType("this kind of file is not accepted: PDF, PNG, JPEG, GIF, WebP, "
                           "or UTF-8 text, Markdown, CSV or JSON", field=FILE_FIELD)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    is_file: bool = False  # the upload's file, written to the draft
    field: bytearray = field(default_factory=bytearray)


class UploadParser:
    """Feeds a multipart body to a blob draft; `result` once the body has ended."""

    def __init__(self, boundary: bytes, blobs: BlobStore, max_bytes: int):
        self.blobs, self.max_bytes = blobs, max_bytes
        self.draft: BlobDraft | None = None
        self.kind: ContentKind | None = None
        self.filename = ""
        self.session_id: str | None = None
        self._part = _Part()
        self._header = [b"", b""]
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._begin_part, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data,
            "on_part_end": self._end_part})

    def write(self, data: bytes) -> None:
        try:
            self._parser.write(data)
        except MultipartParseError as error:  # the client's body, not our failure
            raise Invalid(f"the multipart body is malformed: {error}",
                          field=FILE_FIELD) from None

    def result(self) -> Upload:
        """The upload, committed to the blob store."""
        if self.draft is None or self.kind is None:
            raise Invalid(f"send the file as multipart/form-data field '{FILE_FIELD}'",
                          field=FILE_FIELD)
        if not self.draft.size:
            raise Invalid("the file is empty", field=FILE_FIELD)
        content_type = self.kind.finish()
        size = self.draft.size
        sha256 = self.blobs.commit(self.draft)
        self.draft = None
        return Upload(self.filename, content_type, size, sha256, self.session_id)

    def discard(self) -> None:
        if self.draft is not None:
            self.draft.discard()

    def _begin_part(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        name, value = self._header
        self._part.headers[name.lower()] = value
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part.headers.get(b"content-disposition",
                                                                 b""))
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._part.name == FILE_FIELD and self.draft is not None:
            raise Invalid("send one file per upload", field=FILE_FIELD)
        if self._part.name == FILE_FIELD:
            self._part.is_file = True
            self.filename = clean_filename(options.get(b"filename", b"").decode(
                "utf-8", "replace"))
            self.kind = ContentKind(self.filename)
            self.draft = self.blobs.draft()

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part.is_file and self.kind is not None and self.draft is not None:
            if self.draft.size + len(chunk) > self.max_bytes:
                raise FileTooLarge(f"the file is larger than {self.max_bytes} bytes",
                                   limit_bytes=self.max_bytes)
            self.kind.feed(chunk)
            self.draft.write(chunk)
        elif len(self._part.field) + len(chunk) <= MAX_FIELD_BYTES:
            self._part.field += chunk
        else:
            raise Invalid(f"form field '{self._part.name}' must be at most "
                          f"{MAX_FIELD_BYTES} bytes", field=self._part.name)

    def _end_part(self) -> None:
        if self._part.name == SESSION_FIELD:
            self.session_id = self._part.field.decode("utf-8", "replace").strip() or None
            check_session_id(self.session_id)


async def read_upload(request: Request, blobs: BlobStore, max_bytes: int) -> Upload:
    """The upload in the request's multipart body, stored as a blob; refused (and
    nothing stored) when it is not one file within `max_bytes` of an accepted kind."""
    parser = UploadParser(multipart_boundary(request), blobs, max_bytes)
    try:
        batch, received = bytearray(), 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + FORM_OVERHEAD_BYTES:
                raise FileTooLarge(f"the file is larger than {max_bytes} bytes",
                                   limit_bytes=max_bytes)
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                await run_in_threadpool(parser.write, bytes(batch))
                batch.clear()
        await run_in_threadpool(parser.write, bytes(batch))
        return await run_in_threadpool(parser.result)
    finally:
        await run_in_threadpool(parser.discard)


def multipart_boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise Invalid("send the file as multipart/form-data, in a field named "
                      f"'{FILE_FIELD}'", field=FILE_FIELD)
    return boundary
