"""Field checks shared by the request models of several faces."""

import json
import math
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictInt,
    ValidationInfo,
)

from arqium.domain.memory.domainmodel import MAX_CONTENT_BYTES

# PostgreSQL's bigint: a larger integer in a query or a path cannot reach the database
# (it would fail there, as a 500); the boundary refuses it as a 400.
MAX_INT64 = 2**63 - 1


def whole(value: Any) -> Any:
    """A whole number written with a fraction (3.0; a decimal where the body keeps its
    numbers exact) as the integer it is: JSON Schema's integer admits it, and some
    clients' JSON writes it so. 3.5, true and "3" stay refused."""
    if isinstance(value, float | Decimal) and math.isfinite(value) \
            and abs(value) <= MAX_INT64 and value == int(value):
        return int(value)
    return value


def bounded_whole_int(**bounds: int) -> Any:
    """A WholeInt within bounds, the bounds applied to the integer itself: so that the
    document states them as minimum and maximum even when the field is optional."""
    return Annotated[StrictInt, Field(**bounds), BeforeValidator(whole)]


WholeInt = bounded_whole_int()

Version = bounded_whole_int(ge=1, le=MAX_INT64)  # an aggregate's, as a client states it


def content_within_limit(content: Any) -> Any:
    """Memory content is at most 1 MB of JSON (seed 001), in UTF-8 as the ledger's data
    is measured: with `\\uXXXX` escapes, 600 KB of Chinese counted as 1.2 MB."""
    size = len(json.dumps(content, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_CONTENT_BYTES:
        raise ValueError(f"content must be at most {MAX_CONTENT_BYTES} bytes of JSON")
    return content



def not_blank(text: str, info: ValidationInfo) -> str:
    """A text field holding more than white space."""
    if not text.strip():
        raise ValueError(f"{info.field_name} must not be blank")
    return text


def in_utc(moment: datetime) -> datetime:
    """The time in UTC (one without a zone is UTC already); refused if, in UTC, it falls
    outside the years 1 to 9999 (as 9999-12-31T23:00:00-05:00 does)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the time must fall within the years 1 to 9999 in UTC") from None


NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def written_as_a_time(value: Any) -> Any:
    """Refuses a number (or a text holding one), which pydantic would read as a Unix
    time: the faces document ISO 8601, and `to=0.5` meaning 1970 helps nobody."""
    if isinstance(value, int | float) or isinstance(value, str) and NUMBER.fullmatch(value):
        raise ValueError("give the time in ISO 8601, such as 2026-01-31T12:00:00Z")
    return value


# A time a client gives: in ISO 8601, taken to UTC at the boundary, so that no later
# step (storing it, showing it, counting from it) meets one that UTC cannot hold.
UtcTime = Annotated[datetime, BeforeValidator(written_as_a_time), AfterValidator(in_utc)]
# The same, whose time zone must be given
AwareUtcTime = Annotated[AwareDatetime, BeforeValidator(written_as_a_time),
                         AfterValidator(in_utc)]
