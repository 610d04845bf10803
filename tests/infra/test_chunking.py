"""Documents cut into chunks of tokens: the same chunks however the text is read, and a
text document read in bounded pieces."""

from arqium.infra.chunking import Chunking, document_chunks, text_chunks
from arqium.infra.document_text import text_pieces

SMALL = Chunking(tokens=16, overlap=4, max_chunks=1000)
TEXT = " ".join(f"gamma{n} delta" for n in range(300))


def test_a_text_read_in_pieces_gives_the_chunks_of_the_whole_text():
    words = TEXT.split(" ")
    pieces = [" ".join(words[i:i + 37]) + " " for i in range(0, len(words), 37)]
    assert list(text_chunks(pieces, SMALL)) == list(text_chunks([TEXT], SMALL))


def test_a_text_shorter_than_a_chunk_is_one_chunk_and_an_empty_one_none():
    assert list(text_chunks(["a few words"], SMALL)) == ["a few words"]
    assert list(text_chunks(["", "  "], SMALL)) == []


def test_a_text_file_is_read_in_pieces_that_end_where_words_do(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("épée " * 50_000)  # 300 kB, two-byte characters across reads
    pieces = list(text_pieces(path, piece_bytes=4096))
    assert max(len(piece) for piece in pieces) <= 4096
    assert all(piece.endswith(" ") for piece in pieces)
    assert "".join(pieces) == "épée " * 50_000


def test_a_file_without_spaces_is_still_read_in_bounded_pieces(tmp_path):
    path = tmp_path / "one-word.txt"
    path.write_text("x" * 100_000)
    assert max(len(piece) for piece in text_pieces(path, piece_bytes=4096)) <= 2 * 4096


def test_a_document_gives_no_more_chunks_than_the_setting(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text(TEXT * 200)  # far more than three chunks' worth
    chunks = list(document_chunks(path, "text/plain", Chunking(16, 4, max_chunks=3)))
    assert [chunk.number for chunk in chunks] == [0, 1, 2]
    assert all(chunk.page is None for chunk in chunks)
