"""`/graphql`: the ARQIUM queries, mutations and subscriptions (strawberry), over the
same commands, read models and credentials as /api/v1."""

from datetime import timedelta
from collections.abc import Callable
from typing import Any

import strawberry
from cross_web import HTTPException  # what strawberry's views raise
from starlette.responses import JSONResponse
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import AddValidationRules
from strawberry.fastapi import GraphQLRouter
from strawberry.schema.config import StrawberryConfig
from strawberry.types.unset import UNSET

from arqium.api.common.shapes import ARQIUM
from arqium.api.graphql.context import GraphQLContext, graphql_context
from arqium.api.graphql.errors import ArqiumSchema
from arqium.api.graphql.limits import LimitExceeded, document_limits
from arqium.api.graphql.schema import Mutation, Query
from arqium.api.graphql.subscriptions import Subscription
from arqium.api.graphql.types import DATETIME_SCALAR, DateTime
from arqium.api.graphql.unstorable import UnstorableStrings, UnstorableVariables
from arqium.domain.shared import DomainError
from arqium.infra.settings import Settings

CONNECTION_INIT_WAIT = timedelta(seconds=10)
HTTP_KINDS = {404: "not_found", 405: "method_not_allowed"}


class ArqiumGraphQLRouter(GraphQLRouter):
    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET
                  ) -> Any:
        """A request strawberry cannot take (body not JSON, no query, a mutation over
        GET) is answered as a GraphQL error in JSON, not plain text."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as error:
            kind = HTTP_KINDS.get(error.status_code, "validation")
            return JSONResponse({"data": None, "errors": [{
                "message": error.reason, "extensions": {"code": ARQIUM.codes[kind]}}]},
                status_code=error.status_code)
        finally:
            if isinstance(context, GraphQLContext):
                context.stop_watching()

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any,
                             context: Any, root_value: Any, request_data: Any) -> Any:
        """A document over the limits is refused with a 400 (other errors, the
        document's included, are answered 200 with `errors`)."""
        result = await super().execute_single(
            request=request, request_adapter=request_adapter, sub_response=sub_response,
            context=context, root_value=root_value, request_data=request_data)
        if any(isinstance(error, LimitExceeded) for error in result.errors or ()):
            sub_response.status_code = 400
        return result

    def parse_json(self, data: str | bytes) -> Any:
        """JSON the view can take, or a 400: strawberry lets through (as 500s) a body
        that is not UTF-8, a number too long to convert, and JSON that is no object."""
        try:
            parsed = self.decode_json(data)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, the int digits limit
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "The GraphQL request must be a JSON object")
        # Strawberry looks at the name only after parsing the query: a query that does not
        # parse would be answered 200 with its syntax error, whatever the name was.
        if isinstance(parsed, dict) and not isinstance(parsed.get("operationName"),
                                                       (str, type(None))):
            raise HTTPException(400, "The GraphQL operation's `operationName` must be a "
                                     "string or null, if provided.")
        return parsed

    async def on_ws_connect(self, context: GraphQLContext) -> None:
        """A socket's credentials are checked at connection_init (4403 if refused), and
        watched: once they end, the socket is closed (see GraphQLContext._end_socket)."""
        try:
            await context.authenticate_socket()
        except DomainError as error:
            raise ConnectionRejectionError({"message": error.message}) from None


def build_schema(settings: Settings, limits: Callable[[], dict] = dict) -> strawberry.Schema:
    """The schema; `limits()` gives the document limits in force (see limits.py)."""
    return ArqiumSchema(query=Query, mutation=Mutation, subscription=Subscription,
                        config=StrawberryConfig(scalar_map={DateTime: DATETIME_SCALAR}),
                        extensions=[*document_limits(settings, limits),
                                    lambda: AddValidationRules([UnstorableStrings]),
                                    UnstorableVariables])


def graphql_router(settings: Settings, limits: Callable[[], dict] = dict) -> GraphQLRouter:
    return ArqiumGraphQLRouter(build_schema(settings, limits), path="/graphql",
                               context_getter=graphql_context,
                               connection_init_wait_timeout=CONNECTION_INIT_WAIT,
                               tags=["ARQIUM: GraphQL"])
