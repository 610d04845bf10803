"""GraphQL errors carry the ARQIUM error codes in `extensions.code` (and `details`);
an unexpected failure is logged and reaches the client only as SERVER_ERROR."""

import logging
from typing import Any

import strawberry
from eventsourcing.persistence import IntegrityError
from graphql import GraphQLError
from pydantic import ValidationError
from starlette.responses import Response
from strawberry.utils.str_converters import to_camel_case

from arqium.api.common.shapes import ARQIUM
from arqium.api.errors import (
    CONCURRENT_WRITE,
    DATABASE_DOWN,
    DATABASE_READ_ONLY,
    DATABASE_UNAVAILABLE,
    RETRY_AFTER,
    ReadModelBehind,
    describe_problem,
    domain_kind,
    field_details,
    is_read_only,
)
from arqium.domain.shared import DomainError

log = logging.getLogger("arqium.graphql")


class ArqiumSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None
                       ) -> None:
        for error in errors:
            explain(error)
        unavailable = any((error.extensions or {}).get("code") == ARQIUM.codes["unavailable"]
                          for error in errors)
        response = getattr(getattr(execution_context, "context", None), "response", None)
        if unavailable and isinstance(response, Response):
            response.headers.update(RETRY_AFTER)  # as a REST 503 says when to retry


def explain(error: GraphQLError) -> None:
    """Give the error its code, details and a message fit for the client (once)."""
    if error.extensions and "code" in error.extensions:
        return
    original = error.original_error
    details: dict = {}
    if isinstance(original, DomainError):
        kind = domain_kind(original)[1]
        code = original.code or ARQIUM.codes[kind]
        details = dict(original.details)
        if "field" in details:
            details.update(field_details(to_camel_case(details.pop("field")),
                                         original.message))
    elif isinstance(original, ValidationError):
        problems = [camel(describe_problem(problem)) for problem in original.errors()]
        code, details = ARQIUM.codes["validation"], {"errors": problems}
        error.message = f"{problems[0]['field'] or 'input'}: {problems[0]['message']}"
    elif isinstance(original, ReadModelBehind):
        code = ARQIUM.codes["unavailable"]
    elif isinstance(original, IntegrityError):
        code = ARQIUM.codes["conflict"]
        error.message = CONCURRENT_WRITE
    elif isinstance(original, DATABASE_UNAVAILABLE):
        code = ARQIUM.codes["unavailable"]
        error.message = DATABASE_DOWN
    elif original is not None and is_read_only(original):
        code = ARQIUM.codes["unavailable"]
        error.message = DATABASE_READ_ONLY
    elif original is None or isinstance(original, GraphQLError) or error.path is None:
        code = ARQIUM.codes["validation"]  # the document, its variables or arguments
    else:
        log.error("unexpected error in GraphQL field %s", error.path, exc_info=original)
        code = ARQIUM.codes["internal"]
        error.message = "internal error"
    error.extensions = {**(error.extensions or {}), "code": code,
                        **({"details": details} if details else {})}


def camel(problem: dict[str, str]) -> dict[str, str]:
    """A validation problem naming the argument as GraphQL spells it."""
    return {**problem, "field": ".".join(to_camel_case(part)
                                         for part in problem["field"].split("."))}
