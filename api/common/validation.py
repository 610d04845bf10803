"""Field checks shared by the request models of several faces."""

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationInfo

from arqium.domain.memory.domainmodel import MAX_CONTENT_BYTES

# PostgreSQL's bigint: a larger integer in a query or a path cannot reach the database
# (it would fail there, as a 500); the boundary refuses it as a 400.
MAX_INT64 = 2**63 - 1


def content_within_limit(content: Any) -> Any:
    """Memory content is at most 1 MB of JSON (seed 001)."""
    if len(json.dumps(content).encode()) > MAX_CONTENT_BYTES:
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


# A time a client gives: taken to UTC at the boundary, so that no later step (storing
# it, showing it, counting from it) meets one that UTC cannot hold.
UtcTime = Annotated[datetime, AfterValidator(in_utc)]
