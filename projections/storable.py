"""Read models hold whatever the write side accepted: what PostgreSQL cannot hold is
changed on the way in, never refused (a refused event would stop its projection, and
every worker with it, for good). The boundary refuses such input first; this is the
defence behind it, for events stored before it or by other means."""

import json
import math
import re
from typing import Any

import orjson
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


# orjson writes the plain JSON types itself and refuses the rest (a datetime, a
# dataclass, a subclass): json then raises as it always did.
ORJSON_OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
                  | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)


class StorableJSON(str):
    """JSON text that `storable_json` made: written as it is, not looked at again (a
    batch's rows are one such text; a regular expression over it cost a tenth of a
    ledger rebuild)."""


def storable_json(value: Any) -> StorableJSON:
    """`value` as JSON that jsonb can hold. Almost every value needs no change, which one
    look at its JSON text tells (orjson, several times faster than json's encoder and
    than a walk, writes NaN and infinity as null and refuses lone surrogates)."""
    try:
        text = orjson.dumps(value, option=ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:  # a lone surrogate, an integer past 64 bits ...
        return StorableJSON(_storable_json_by_json(value))
    # A false alarm for an escaped backslash before "u0000" only costs the walk.
    return StorableJSON(_walked_json(value) if "\\u0000" in text else text)


def _storable_json_by_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN or infinity
        return _walked_json(value)
    # The encoder escapes NUL and leaves lone surrogates as they are.
    if "\\u0000" in text or UNSTORABLE.search(text):
        return _walked_json(value)
    return text


def _walked_json(value: Any) -> str:
    """The JSON of the storable value: every string and key looked at."""
    return json.dumps(storable(value), allow_nan=False)


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
    curs.adapters.register_dumper(StorableJSON, StrBinaryDumper)
    curs.adapters.register_dumper(StorableJSON, StrDumperUnknown)
    set_json_dumps(storable_json, curs)
