"""Request and response bodies whose numbers stay exactly as sent (the ledger's amounts):
parsed to decimals, never floats, and written back digit for digit."""

from collections.abc import Callable
from typing import Any, TypeVar

import simplejson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.domain.ledger.chain import exact_json

MAX_DATA_BYTES = 1_000_000  # seed 001: data is a JSON object of at most 1 MB
Model = TypeVar("Model", bound=BaseModel)


def exact_body(model: type[Model]) -> Callable[..., Any]:
    """A dependency reading the body as `model`, with its numbers as decimals."""
    return exact_body_of(lambda parsed: model)


def exact_body_of(choose: Callable[[Any], type[Model]]) -> Callable[..., Any]:
    """A dependency reading the body, numbers as decimals, as the model `choose` picks
    for it (a route whose body has two uses)."""

    async def dependency(request: Request) -> Model:
        raw = await request.body()
        try:
            parsed = exact_json(raw)
        except ValueError as error:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body",),
                                           "msg": str(error), "input": None}]) from None
        try:
            return choose(parsed).model_validate(parsed)
        except ValidationError as error:
            raise RequestValidationError(
                [{**problem, "loc": ("body", *problem["loc"])}
                 for problem in error.errors(include_url=False)]) from None

    return dependency


def body_schema(*models: type[BaseModel]) -> dict:
    """OpenAPI for a body read by exact_body (FastAPI cannot see it): any of `models`."""
    schemas = [model.model_json_schema() for model in models]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema}}}}


def within_limit(value: Any, field: str) -> Any:
    if len(exact_dumps(value).encode()) > MAX_DATA_BYTES:
        raise ValueError(f"{field} must be at most {MAX_DATA_BYTES} bytes of JSON")
    return value


def exact_dumps(value: Any) -> str:
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False)


def exact_response(body: Any, status: int = 200,
                   position: tuple[str, int] | None = None) -> Response:
    headers = {POSITION_HEADER: position_token(*position)} if position else None
    return Response(exact_dumps(body), status_code=status, media_type="application/json",
                    headers=headers)
