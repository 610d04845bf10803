"""Event positions as clients see them: X-Event-Position on a command's response, sent
back as X-Min-Position to read one's own writes."""

import re
from typing import Any

import orjson
from fastapi.responses import Response
from pydantic_core import to_json

from arqium.api.common.validation import MAX_INT64
from arqium.domain.shared import Invalid

POSITION_HEADER = "X-Event-Position"
MIN_POSITION_HEADER = "X-Min-Position"
# Reads wait for every earlier write (strong, the default) or not (eventual).
CONSISTENCY_HEADER = "X-Consistency"
STRONG, EVENTUAL = "strong", "eventual"
DIGITS = re.compile("[0-9]{1,19}")  # ASCII only: str.isdigit() takes "²" too


def position_token(application_name: str, notification_id: int) -> str:
    """Opaque to clients: hand it back in X-Min-Position to read your own writes."""
    return f"{application_name}.{notification_id}"


def parse_position(token: str) -> tuple[str, int]:
    # A push's stream id (`memory:42`) names the same position as `memory.42`.
    application_name, _, number = token.strip().replace(":", ".").rpartition(".")
    if not application_name or not DIGITS.fullmatch(number) or int(number) > MAX_INT64:
        raise Invalid(f"{MIN_POSITION_HEADER} must be a value taken from an "
                      f"{POSITION_HEADER} response header", field=MIN_POSITION_HEADER)
    return application_name, int(number)


def bare(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A compatibility face's bare body, as JSON (bare_json)."""
    return Response(bare_json(body), status_code=status, media_type="application/json",
                    headers=headers)


def bare_json(body: Any) -> bytes:
    """JSON written by orjson, three times faster than pydantic-core (which FastAPI
    encodes typed responses with, itself several times faster than json) and the same
    bytes but for NaN and infinities (null, where pydantic-core writes invalid JSON).
    What orjson cannot write (an integer past 64 bits, a Decimal) pydantic-core does."""
    try:
        return orjson.dumps(body, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return to_json(body)


def with_position(body: Any, application_name: str, notification_id: int,
                  status: int = 200) -> Response:
    """A compatibility face's bare body, with the command's X-Event-Position."""
    return bare(body, status,
                {POSITION_HEADER: position_token(application_name, notification_id)})
