"""The compatibility faces' bare bodies: written by orjson, the same bytes as
pydantic-core writes (as FastAPI writes typed responses), whatever the values."""

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic_core import to_json

from arqium.api.common.positions import bare_json


class Colour(str, enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: float


@pytest.mark.parametrize("body", [
    {"memories": [{"id": str(uuid.uuid4()), "content": {"nested": [1, 2.5, None, True]},
                   "createdAt": "2026-01-02T03:04:05Z", "tokens": 40}], "count": 1},
    {"at": datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=timezone.utc),
     "whole": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
     "offset": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
     "naive": datetime(2026, 1, 2, 3, 4, 5), "day": date(2026, 1, 2)},
    {"floats": [0.1, 1e-7, 1e16, 1.0, -0.0, 123456789.123, 2.5e-308]},
    {"id": uuid.UUID(int=7), "colour": Colour.RED, "point": Point(1, 2.5), "t": (1, "a")},
    {"text": "café \u2028 \x00 \"quoted\" \\ \U0001f600", "empty": {}, "none": None},
    {1: "an integer key", "n": 9_223_372_036_854_775_807},
    {"big": 2**64 + 1, "amount": Decimal("12.50")},  # past orjson: pydantic-core writes
])
def test_bare_json_is_what_pydantic_core_writes(body):
    assert bare_json(body) == to_json(body)


def test_nan_and_infinities_are_null_not_invalid_json():
    assert bare_json({"x": float("nan"), "y": float("inf")}) == b'{"x":null,"y":null}'
