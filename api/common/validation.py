"""Field checks shared by the request models of several faces."""

import json
from typing import Any

from arqium.domain.memory.domainmodel import MAX_CONTENT_BYTES


def content_within_limit(content: Any) -> Any:
    """Memory content is at most 1 MB of JSON (seed 001)."""
    if len(json.dumps(content).encode()) > MAX_CONTENT_BYTES:
        raise ValueError(f"content must be at most {MAX_CONTENT_BYTES} bytes of JSON")
    return content
