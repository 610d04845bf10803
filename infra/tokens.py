"""Counting prompt tokens offline, with a real tokenizer (the vendored WordPiece one)."""

from functools import lru_cache

from arqium.infra.embeddings import TOKENIZER, TOKENIZER_SHA256, _checked

# The WordPiece tokenizer never makes a token across a space (it splits on whitespace
# before anything else, and normalizes character by character), so a text's count is
# the sum of its space-separated pieces' counts: each piece is counted once, then
# remembered. A conversation reuses most of its words; the tokenizer costs ~2.5 µs a word.
REMEMBERED_PIECES = 100_000
LONGEST_REMEMBERED = 64  # characters: longer pieces (encoded data, say) are rarely seen twice


class TokenCounter:
    def __init__(self):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_checked(TOKENIZER, TOKENIZER_SHA256)))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._pieces: dict[str, int] = {}

    def count(self, text: str) -> int:
        return self.count_many([text])[0]

    def count_many(self, texts: list[str]) -> list[int]:
        """Each text's count, its pieces not seen before encoded in one call."""
        pieces = self._pieces
        split = [text.split(" ") for text in texts]
        unseen = list({piece for pieces_of_text in split for piece in pieces_of_text
                       if piece not in pieces})
        counts = {piece: len(encoding) for piece, encoding in zip(
            unseen, self._tokenizer.encode_batch_fast(unseen, add_special_tokens=False),
            strict=True)} if unseen else {}
        totals = [sum(counts[piece] if piece in counts else pieces[piece]
                      for piece in pieces_of_text) for pieces_of_text in split]
        self._remember(counts)
        return totals

    def _remember(self, counts: dict[str, int]) -> None:
        if len(self._pieces) + len(counts) > REMEMBERED_PIECES:
            self._pieces = {}  # a new dict, not a clear(): another thread may be reading
        self._pieces.update({piece: count for piece, count in counts.items()
                             if len(piece) <= LONGEST_REMEMBERED})


@lru_cache(maxsize=1)
def shared_token_counter() -> TokenCounter:
    return TokenCounter()
