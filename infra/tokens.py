"""Counting prompt tokens offline, with a real tokenizer (the vendored WordPiece one)."""

from functools import lru_cache

from arqium.infra.embeddings import TOKENIZER, TOKENIZER_SHA256, _checked


class TokenCounter:
    def __init__(self):
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_checked(TOKENIZER, TOKENIZER_SHA256)))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


@lru_cache(maxsize=1)
def shared_token_counter() -> TokenCounter:
    return TokenCounter()
