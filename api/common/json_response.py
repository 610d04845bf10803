"""JSON responses rendered by orjson: the standard library's encoder took ~5 % of the
API's time on a page of recent memories (py-spy), and orjson renders one in an eighth
of its time."""

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse

from arqium.infra.json_reading import json_loads


class JsonText:
    """JSON text a read model wrote, rendered as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def as_json(value: Any) -> Any:
    """A value to render, where a str is JSON text a read model wrote."""
    return JsonText(value) if isinstance(value, str) else value


def with_member(shown: str | dict, name: str, value: Any) -> Any:
    """An object to render, given as JSON text a read model wrote or as a dict, with one
    more member: the text is not read for it, only closed later."""
    if isinstance(shown, dict):
        return {**shown, name: value}
    member = orjson.dumps(name) + b":" + orjson.dumps(value)
    return JsonText(f"{shown.rstrip()[:-1]},{member.decode()}}}")


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered by orjson, the same JSON but for its spacing."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=fragment, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:
            # What orjson refuses (an integer past 64 bits in a client's content, which
            # PostgreSQL keeps exactly): the standard library renders it.
            return json.dumps(content, ensure_ascii=False, allow_nan=False,
                              separators=(",", ":"), default=fragment_read).encode()


def fragment(value: Any) -> orjson.Fragment:
    """JSON text as orjson inserts it."""
    if isinstance(value, JsonText):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def fragment_read(value: Any) -> Any:
    """JSON text as a value the standard library renders."""
    if isinstance(value, JsonText):
        return json_loads(value.text.encode())
    raise TypeError(f"{type(value).__name__} is not JSON")
