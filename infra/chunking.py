"""A document cut into overlapping chunks of model tokens, page by page, in bounded
memory: what the knowledge base (CEREBRO's RAG) searches and embeds."""

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

from arqium.infra.document_text import PDF, pages, text_pieces
from arqium.infra.embeddings import plain_tokenizer


@dataclass(frozen=True)
class Chunking:
    """Chunks of `tokens` tokens, each repeating the last `overlap` of the one before;
    at most `max_chunks` of a document."""

    tokens: int
    overlap: int
    max_chunks: int


@dataclass(frozen=True)
class Chunk:
    number: int  # from 0, in the document's order
    page: int | None  # a PDF's page, from 1 (a chunk never spans two)
    text: str


def document_chunks(path: Path, content_type: str, chunking: Chunking) -> Iterator[Chunk]:
    """The document's chunks, reading no further than the last one kept needs."""
    found = (Chunk(number, page, text) for number, (page, text)
             in enumerate(_page_chunks(path, content_type, chunking)))
    return islice(found, chunking.max_chunks)


def _page_chunks(path: Path, content_type: str, chunking: Chunking
                 ) -> Iterator[tuple[int | None, str]]:
    if content_type == PDF:
        for page, text in pages(path, content_type):
            for chunk in text_chunks([text], chunking):
                yield page, chunk
    else:
        for chunk in text_chunks(text_pieces(path), chunking):
            yield None, chunk


def text_chunks(pieces: Iterable[str], chunking: Chunking) -> Iterator[str]:
    """The chunks of a text given in pieces that each end where a word does: the
    original text of each window of tokens (not the tokenizer's lowercased form)."""
    stride = chunking.tokens - chunking.overlap
    buffer, skip, emitted = "", 0, False
    for piece in chain(pieces, [None]):
        buffer += piece or ""
        offsets = plain_tokenizer().encode(buffer, add_special_tokens=False).offsets
        start = bisect_left(offsets, skip, key=lambda offset: offset[0])
        while len(offsets) - start >= chunking.tokens:
            window = offsets[start:start + chunking.tokens]
            yield buffer[window[0][0]:window[-1][1]]
            emitted, start = True, start + stride
        # What is left: the next window's start, whose first `overlap` tokens (if one
        # was emitted) are already in a chunk.
        if piece is None and len(offsets) - start > (chunking.overlap if emitted else 0):
            yield buffer[offsets[start][0]:offsets[-1][1]]
        buffer, skip = _carried(buffer, offsets[start][0] if start < len(offsets) else
                                len(buffer))


def _carried(buffer: str, start: int) -> tuple[str, int]:
    """The buffer from the word holding `start` on (a word's tokens depend on the whole
    word: "##3" alone would be "3"), and where `start` is in it."""
    cut = start
    while cut > 0 and not buffer[cut - 1].isspace():
        cut -= 1
    return buffer[cut:], start - cut
