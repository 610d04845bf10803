"""The text of a stored document, page by page: what the file analysis measures and what
the knowledge base (RAG) chunks. Bytes come from the blob store; a PDF is read by pypdf
from a local file (a temporary copy when the blobs live in an object store)."""

import codecs
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfReader

from arqium.infra.blobs import BlobStore

PIECE_BYTES = 64 * 1024  # what a text document is read by, in bounded memory
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



def text_pieces(path: Path, piece_bytes: int = PIECE_BYTES) -> Iterator[str]:
    """A text document's text, read and decoded (UTF-8, undecodable bytes replaced) a
    piece at a time, each piece ending where a word does (but the last): a huge file is
    never held whole."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    carried = ""
    with path.open("rb") as document:
        while block := document.read(piece_bytes):
            text = carried + decoder.decode(block)
            cut = max(text.rfind(" "), text.rfind("\n"))
            if cut < 0 and len(text) >= piece_bytes:  # no word ends here: cut anyway
                cut = len(text) - 1
            carried = text[cut + 1:] if cut >= 0 else text
            if cut >= 0:
                yield text[:cut + 1]
    rest = carried + decoder.decode(b"", final=True)
    if rest:
        yield rest
