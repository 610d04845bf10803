"""Field checks shared by the request models of several faces."""

import json
from typing import Any

from pydantic import ValidationInfo

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
