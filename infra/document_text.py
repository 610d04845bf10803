"""The text of a stored document, page by page: what the file analysis measures and what
the knowledge base (RAG) chunks. Bytes come from the blob store; a PDF is read by pypdf
from a local file (a temporary copy when the blobs live in an object store)."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfReader

from arqium.infra.blobs import BlobStore

PDF = "application/pdf"
TEXT_TYPES = ("text/plain", "text/markdown", "text/csv", "application/json")


@contextmanager
def local_copy(blobs: BlobStore, address: str) -> Iterator[Path]:
    """A path holding the blob's bytes: its own file when the store is local, else a
    temporary copy removed on exit."""
    path = blobs.local_path(address)
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="arqium-blob-") as copy:
        for chunk in blobs.read(address):
            copy.write(chunk)
        copy.flush()
        yield Path(copy.name)


def has_text(content_type: str) -> bool:
    """Whether documents of this type have text to read (images have none)."""
    return content_type == PDF or content_type in TEXT_TYPES


def pages(path: Path, content_type: str) -> Iterator[tuple[int | None, str]]:
    """(page number from 1, text) of each PDF page; (None, the whole text) for a text
    document, decoded as UTF-8 with undecodable bytes replaced."""
    if content_type == PDF:
        reader = PdfReader(path)
        for number, page in enumerate(reader.pages, start=1):
            yield number, page.extract_text() or ""
    elif content_type in TEXT_TYPES:
        yield None, path.read_bytes().decode("utf-8", errors="replace")

