"""The check that sends JSON holding a long integer to the standard library's parser."""

import json
import re

from hypothesis import example, given
from hypothesis import strategies as st

from arqium.infra.json_reading import json_loads, may_hold_a_long_integer

NINETEEN_DIGITS = re.compile(rb"[0-9]{19}")
# Digits in runs, between bytes that are not: runs of every length around 19.
digits = st.integers(min_value=15, max_value=21).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n)).map(str.encode)
pieces = st.one_of(st.binary(max_size=4), digits,
                   st.sampled_from([b"\xd9\xa3", b"\xef\xbc\x91", b"-", b"."]))


@given(st.lists(pieces, max_size=12).map(b"".join))
@example(b'{"n":1234567890123456789}')
@example(b'{"n":123456789012345678}')
def test_it_finds_nineteen_digits_in_a_row_exactly_where_a_regular_expression_does(data):
    assert may_hold_a_long_integer(data) is (NINETEEN_DIGITS.search(data) is not None)


@given(st.integers(min_value=-(10**40), max_value=10**40))
@example(-(2**63) - 1)  # 19 digits: the shortest integer orjson reads as a float
@example(2**64)
def test_any_integer_reads_back_exact(number):
    text = json.dumps({"n": [number]}).encode()
    assert json_loads(text) == {"n": [number]}
    assert type(json_loads(text)["n"][0]) is int
