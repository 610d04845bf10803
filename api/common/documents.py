"""Success bodies as the OpenAPI document describes them: `responses=` entries for
routes that build their answers themselves (the models only document; nothing filters
what a route answers)."""

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, create_model


class Meta(BaseModel):
    timestamp: str
    request_id: str | None
    trace_id: str | None
    pagination: dict[str, int] | None = None


@cache
def envelope_of(data: type[BaseModel]) -> type[BaseModel]:
    """The ARQIUM success envelope (seed 000) around `data`."""
    return create_model(f"{data.__name__}Envelope", status=(Literal["success"], ...),
                        code=(int, ...), data=(data, ...), error=(None, ...),
                        meta=(Meta, ...))


def enveloped(status: int, data: type[BaseModel]) -> dict[int, dict[str, Any]]:
    """A route's `responses=` entry: its success body, `data` in the ARQIUM envelope."""
    return {status: {"model": envelope_of(data)}}


def documented(status: int, body: type[BaseModel]) -> dict[int, dict[str, Any]]:
    """A route's `responses=` entry: its success body, as it is."""
    return {status: {"model": body}}
