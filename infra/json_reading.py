"""Reading JSON with orjson, as the standard library reads it.

orjson parses JSON several times faster than the standard library, but reads an
integer past 64 bits as a float, silently dropping digits, and refuses NaN and
Infinity. Text that may hold such a number is read by the standard library.
"""

import json
import re
from typing import Any

import orjson

# 19 digits in a row, anywhere (in a string too: then it is only read more slowly): the
# shortest integer orjson may not hold is 19 digits long (-9223372036854775809).
LONG_DIGITS = re.compile(rb"[0-9]{19}")


def may_hold_a_long_integer(data: bytes) -> bool:
    return LONG_DIGITS.search(data) is not None


def json_loads(data: bytes) -> Any:
    """`json.loads(data)`, by orjson wherever that gives the same value."""
    if may_hold_a_long_integer(data):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # NaN, Infinity: what the standard library allows
        return json.loads(data)
