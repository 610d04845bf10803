"""The ledger digest: one chained hash over every object's latest hash."""

from datetime import datetime, timezone

import pytest

from arqium.domain.ledger import chain
from arqium.domain.ledger.digest import DIGEST_ID, LedgerDigest, StaleSeal

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
HEADS = {"a": "1" * 64, "b": "2" * 64}


def test_there_is_one_digest_chain_per_ledger():
    assert LedgerDigest().id == DIGEST_ID


def test_a_seal_hashes_the_heads_onto_the_previous_digest():
    digest = LedgerDigest()
    digest.seal(7, HEADS, AT)
    sealed = digest.collect_events()[-1]
    assert (sealed.prev_digest, sealed.heads_count) == (chain.GENESIS, 2)
    assert sealed.digest == chain.digest_hash(chain.GENESIS, HEADS.items())


def test_the_next_seal_chains_to_the_previous_one():
    digest = LedgerDigest()
    digest.seal(7, HEADS, AT)
    first = digest.digest
    digest.seal(9, {**HEADS, "c": "3" * 64}, AT)
    assert digest.collect_events()[-1].prev_digest == first != digest.digest


def test_a_seal_that_does_not_move_on_is_refused():
    digest = LedgerDigest()
    digest.seal(7, HEADS, AT)
    with pytest.raises(StaleSeal):
        digest.seal(7, HEADS, AT)
