"""Ledger objects and their hash chain, recomputed as an auditor would."""

from datetime import datetime, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from arqium.domain.ledger import chain
from arqium.domain.ledger.domainmodel import LedgerObject, StaleLedgerVersion, entry
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def entries_of(ledger_object: LedgerObject) -> list[dict]:
    events = ledger_object.collect_events()
    return [entry(e, ledger_object.type_name, n) for n, e in enumerate(events, start=1)]


def contract() -> LedgerObject:
    ledger_object = LedgerObject.open(uuid4(), "ada", "contract",
                                      {"amount": Decimal("10.10")}, AT)
    ledger_object.transact(uuid4(), "sign", {"status": "signed"}, {"by": "ada"}, None, AT)
    ledger_object.transact(uuid4(), "amend", {"amount": None, "total": 3}, {}, 2, AT)
    return ledger_object


def test_transactions_merge_into_the_data():
    assert contract().data == {"status": "signed", "total": 3}


def test_every_event_chains_to_the_one_before():
    entries = entries_of(contract())
    assert entries[0]["prev_hash"] == chain.GENESIS
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert chain.verify(entries)["ok"] and chain.verify(entries)["checked_events"] == 3


@pytest.mark.parametrize("change", [
    lambda e: e["data"].update(status="unsigned"),
    lambda e: e.update(actor="mallory"),
    lambda e: e.update(recorded_at="2026-01-02T00:00:00+00:00"),
    lambda e: e.update(hash="f" * 64),
])
def test_any_change_to_an_event_is_caught(change):
    entries = entries_of(contract())
    change(entries[1])
    result = chain.verify(entries)
    assert not result["ok"]
    assert result["first_failure"]["version"] in (2, 3)


def test_a_missing_event_is_caught():
    entries = entries_of(contract())
    result = chain.verify([entries[0], entries[2]])
    assert result["first_failure"] == {"object_id": entries[2]["object_id"], "version": 3,
                                       "reason": "version 3 follows version 1"}


def test_numbers_are_hashed_exactly_as_sent():
    assert chain.canonical_json({"b": Decimal("1.10"), "a": 1}) == '{"a":1,"b":1.10}'
    assert chain.exact_json('{"x": 0.1}') == {"x": Decimal("0.1")}


def reference_canonical_json(value) -> str:
    """The encoder every hash so far was computed with."""
    return simplejson.dumps(value, sort_keys=True, separators=(",", ":"),
                            ensure_ascii=False, use_decimal=True)


JSON_VALUES = st.recursive(  # what ledger data holds: JSON parsed with exact decimals
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.decimals(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_canonical_json_writes_the_reference_encoders_text(value):
    assert chain.canonical_json(value) == reference_canonical_json(value)


@pytest.mark.parametrize("value", [
    {"big": 2**64, "small": -2**63 - 1}, {"lone": "\ud800"}, {1: "one", "2": "two"},
    {"controls": "\x00\x1f\x7f\u2028\"\\", "e": Decimal("1E+3"), "z": Decimal("-0.00")}])
def test_canonical_json_writes_what_orjson_refuses_as_the_reference_does(value):
    assert chain.canonical_json(value) == reference_canonical_json(value)


def test_the_digest_depends_on_every_object():
    one, two = entries_of(contract()), entries_of(contract())
    both = chain.verify(one + two)["digest"]
    assert both != chain.verify(one)["digest"] and len(both) == 64


def test_a_stale_expected_version_is_a_conflict():
    with pytest.raises(StaleLedgerVersion):
        contract().transact(uuid4(), "x", {}, {}, 1, AT)


@pytest.mark.parametrize("type_name", ["", "x" * 101, 5])
def test_the_type_name_is_checked(type_name):
    with pytest.raises(Invalid):
        LedgerObject.open(uuid4(), "ada", type_name, {}, AT)


def test_data_must_be_an_object():
    with pytest.raises(Invalid):
        LedgerObject.open(uuid4(), "ada", "contract", [1, 2], AT)


def test_binary_floats_are_refused_so_hashes_verify_anywhere():
    with pytest.raises(Invalid):
        LedgerObject.open(uuid4(), "ada", "invoice", {"lines": [{"amount": 1e-07}]}, AT)
    with pytest.raises(Invalid):
        contract().transact(uuid4(), "pay", {"paid": 0.5}, {}, None, AT)


def test_sealed_digests_are_checked_against_the_chains():
    entries = entries_of(contract())
    first = {"up_to_position": 2, "prev_digest": chain.GENESIS,
             "digest": chain.verify(entries[:2])["digest"]}
    second = {"up_to_position": 3, "prev_digest": first["digest"],
              "digest": chain.digest_hash(first["digest"], [
                  (entries[2]["object_id"], entries[2]["hash"])])}
    result = chain.verify(entries, [first, second])
    assert result["ok"] and result["checked_seals"] == 2
    forged = {**second, "digest": "0" * 64}
    failure = chain.verify(entries, [first, forged])["first_failure"]
    assert "up to position 3 does not match" in failure["reason"]
    unchained = {**second, "prev_digest": "f" * 64}
    assert "does not chain" in chain.verify(entries, [unchained])["first_failure"]["reason"]
