"""Read models hold whatever the write side accepted: what PostgreSQL cannot hold is
changed on the way in, never refused (a refused event would stop its projection, and
every worker with it, for good). The boundary refuses such input first; this is the
defence behind it, for events stored before it or by other means."""

import json
import math
import re
from typing import Any

from psycopg import Cursor
from psycopg.types.json import set_json_dumps
from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

# text and jsonb cannot hold NUL; UTF-8 cannot encode a lone surrogate
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """`text` without NUL, each lone surrogate replaced by U+FFFD."""
    if not UNSTORABLE.search(text):
        return text
    return UNSTORABLE.sub(lambda found: "" if found.group() == "\x00" else REPLACEMENT,
                          text)


def storable(value: Any) -> Any:
    """A JSON value jsonb can hold: its strings and keys storable, and no NaN or
    infinity (JSON has none; Python's parser lets them in), which become null."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {storable_text(str(key)): storable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [storable(item) for item in value]
    return value


def storable_json(value: Any) -> str:
    """`value` as JSON that jsonb can hold. Almost every value needs no change, which one
    look at its JSON text tells (json's C encoder is many times faster than the walk)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or infinity
        return json.dumps(storable(value), allow_nan=False)
    # The encoder escapes NUL (a false alarm for an escaped backslash before "u0000"
    # only costs the walk) and leaves lone surrogates as they are.
    if "\\u0000" in text or UNSTORABLE.search(text):
        return json.dumps(storable(value), allow_nan=False)
    return text


class StorableStrDumper(StrDumperUnknown):
    def dump(self, obj: str) -> Any:
        return super().dump(storable_text(obj))


class StorableStrBinaryDumper(StrBinaryDumper):
    def dump(self, obj: str) -> Any:
        return super().dump(storable_text(obj))


def hold_only_storable(curs: Cursor) -> None:
    """Make every string and every Jsonb this cursor writes storable."""
    curs.adapters.register_dumper(str, StorableStrBinaryDumper)
    curs.adapters.register_dumper(str, StorableStrDumper)  # last: the default format
    set_json_dumps(storable_json, curs)
