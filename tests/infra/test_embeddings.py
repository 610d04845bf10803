"""The embedder groups texts by length: each text gets its own vector, in the order given,
whatever it was grouped with."""

import numpy as np
import pytest

from arqium.infra.embeddings import (
    FLOAT_MODEL,
    MAX_GROUP,
    TOKEN_BUDGET,
    Embedder,
    length_groups,
    shared_embedder,
    vector_literal,
)

TEXTS = ["tea", "the deploy pipeline failed because the database migration timed out",
         "Gina: contemporary dance is so expressive " * 40, "", "coffee with Maria on May 3"]


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder(FLOAT_MODEL)


def test_a_batch_of_mixed_lengths_gives_each_text_its_own_vector_in_order(embedder):
    together = np.array(embedder.embed(TEXTS))
    alone = np.array([embedder.embed([text])[0] for text in TEXTS])
    # A text's vector moves a little with its group (its padding reorders the float
    # sums); it stays far closer to its own than to any other text's.
    similarity = together @ alone.T
    assert (np.diag(similarity) > 0.98).all()
    assert (similarity.argmax(axis=1) == np.arange(len(TEXTS))).all()


def test_inferences_at_once_give_the_vectors_of_one_at_a_time(embedder):
    texts = TEXTS * 3 + [f"memory {n}: " + "words " * n for n in range(0, 300, 7)]
    at_once = Embedder(threads=3, model=FLOAT_MODEL)
    assert at_once.embed(texts) == embedder.embed(texts)


def test_vectors_are_unit_length(embedder):
    norms = np.linalg.norm(np.array(embedder.embed(TEXTS)), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_short_texts_are_embedded_many_at_a_time():
    token_ids = ([[101, 102]] * 300 + [[101, 2000, 102]] * 100
                 + [[101] + [2000] * 254 + [102]] * 3)
    groups = length_groups(token_ids)
    assert sorted(i for group in groups for i in group) == list(range(len(token_ids)))
    assert [len(group) for group in groups] == [MAX_GROUP, MAX_GROUP, 85, 59, 1, 1, 1]
    for group in groups:
        width = max(len(token_ids[i]) for i in group)
        assert len(group) * width <= TOKEN_BUDGET


def test_texts_are_not_padded_beyond_their_group(embedder):
    # The packaged tokenizer pads to 128 tokens; a short text must not pay for that.
    assert len(embedder._tokenizer.encode("tea").ids) == 3


def test_a_vector_literal_is_pgvectors_text_with_six_decimals(embedder):
    vector = embedder.embed(["tea"])[0]
    expected = "[" + ",".join(format(x, ".6f") for x in vector) + "]"
    assert vector_literal(vector) == expected
    assert vector_literal(tuple(vector)) == expected
    assert vector_literal(np.array(vector, dtype=np.float32)) == "[" + ",".join(
        format(float(x), ".6f") for x in np.array(vector, dtype=np.float32)) + "]"
    assert vector_literal([1, -0.5, 1e-9]) == "[1.000000,-0.500000,0.000000]"
