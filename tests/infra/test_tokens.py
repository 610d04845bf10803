"""Prompt tokens counted piece by piece (remembered between texts) are exactly what the
tokenizer counts on the whole text, whatever the text holds."""

import random

from arqium.infra import tokens
from arqium.infra.embeddings import plain_tokenizer
from arqium.infra.tokens import TokenCounter

ODD = ["\u00a0", "\u3000", "\u2028", "\x1c", "\x00", "\x85", "\t", "\n", "\u0301", "é",
       "中", "😀", "\u200b", "\ufeff", "ß", "İ", "ﬁ", "①", "\u2009", "-", "'", "...", "$"]


def texts(count: int) -> list[str]:
    rng = random.Random(7)
    alphabet = [*"abcdefghij XYZ0123 ,.;!?()/", *ODD]
    made = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
            for _ in range(count)]
    return [*made, "", " ", "  two  spaces ", "x" * 101 + " y", "long text " * 500]


def whole(text: str) -> int:
    return len(plain_tokenizer().encode(text, add_special_tokens=False))


def test_counts_are_the_tokenizers_on_the_whole_text():
    counter = TokenCounter()
    sample = texts(3000)
    expected = [whole(text) for text in sample]
    assert counter.count_many(sample) == expected
    assert counter.count_many(sample) == expected  # now from remembered pieces
    assert [counter.count(text) for text in sample[:200]] == expected[:200]


def test_counts_stay_exact_once_the_remembered_pieces_are_dropped(monkeypatch):
    monkeypatch.setattr(tokens, "REMEMBERED_PIECES", 50)
    counter = TokenCounter()
    sample = texts(500)
    assert [counter.count(text) for text in sample] == [whole(text) for text in sample]
    assert len(counter._pieces) <= 50
