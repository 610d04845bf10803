"""Who is asking /graphql: the REST credentials, read per HTTP request or once per
socket (connection_init payload, else the socket's headers or `?token=`)."""

import asyncio
import uuid
from contextlib import suppress
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response
from strawberry.fastapi import BaseContext

from arqium.api.common.caller import Caller, bearer_principal, current_caller
from arqium.api.common.deps import ReadModelWaits, caught_up
from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.api.common.socket_credentials import Ending, Watched
from arqium.api.principals import api_key_principal
from arqium.api.ratelimit import limited
from arqium.domain.shared import AuthenticationFailed, Cause
from arqium.projections.base import BatchProjection, ReadModel
from arqium.system.bootstrap import System

NO_CREDENTIALS = ("authentication required: send 'Authorization: Bearer <access_token>' "
                  "or 'X-API-Key: <key>' (over WebSocket: in the connection_init payload "
                  "as {\"Authorization\": \"Bearer ...\"} or {\"token\": ...}, or ?token=)")


class GraphQLContext(BaseContext):
    """The request or socket, with its caller authenticated when a field first asks."""

    def __init__(self) -> None:
        super().__init__()
        self._caller: Caller | None = None
        self._authenticating = asyncio.Lock()
        # A socket's: its subscriptions' queues on the sync hub, and its credentials.
        self.listening: set[tuple[str, str | None, asyncio.Queue]] = set()
        self._watched: Watched | None = None
        self.credentials_ended: Ending | None = None

    @property
    def system(self) -> System:
        return self.request.app.state.system

    async def caller(self) -> Caller:
        async with self._authenticating:
            if self._caller is None:
                self._caller = await asyncio.to_thread(current_caller, self.request,
                                                       self.system)
        return self._caller

    async def authenticate_socket(self) -> None:
        params = self.connection_params if isinstance(self.connection_params, dict) else {}
        await self.request.app.state.sync_hub.awake()
        self._caller = await asyncio.to_thread(socket_caller, self.request, self.system,
                                               params)
        self._watched = self.request.app.state.socket_credentials.watch(
            self._caller.principal, self._end_socket)

    def stop_watching(self) -> None:
        """The socket closed: its credentials no longer matter."""
        if self._watched is not None:
            self.request.app.state.socket_credentials.forget(self._watched)

    async def _end_socket(self, ending: Ending) -> None:
        """Stop every subscription, then close the socket: 4401 when logging in again
        helps (expired, logged out), 4403 when the rights are gone (user deleted, API key
        revoked)."""
        self.credentials_ended = ending
        for owner_id, session_id, queue in list(self.listening):
            self.request.app.state.sync_hub.leave(owner_id, session_id, queue)
        with suppress(RuntimeError):  # the client closed it meanwhile
            await self.request.close(code=ending.code, reason=ending.reason)

    @property
    def waits(self) -> ReadModelWaits:
        return ReadModelWaits(self.system)

    def view(self, *projections: type[BatchProjection]) -> ReadModel:
        """The (last) projection's read model, once every one reached the request's
        X-Min-Position (bounded wait)."""
        return caught_up(*projections)(self.request, self.waits)

    def record_position(self, application_name: str, notification_id: int) -> None:
        """Tell an HTTP client where its write landed (X-Event-Position), as REST does."""
        if isinstance(self.response, Response):
            self.response.headers[POSITION_HEADER] = position_token(application_name,
                                                                    notification_id)


count_request = limited("arqium_user", "arqium_api_key")


async def graphql_context(connection: HTTPConnection) -> GraphQLContext:
    """Each HTTP request counts against the caller's ARQIUM rate limit."""
    if connection.scope["type"] == "http":
        await count_request(connection)
    return GraphQLContext()


def socket_caller(websocket: HTTPConnection, system: System, params: dict) -> Caller:
    params = {str(name).lower(): value for name, value in params.items()}
    api_key = params.get("x-api-key") or websocket.headers.get("x-api-key")
    if api_key:
        principal = api_key_principal(system, str(api_key))
    else:
        principal = bearer_principal(websocket, system, socket_token(websocket, params))
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=f"ws-{uuid.uuid4()}"))


def socket_token(websocket: HTTPConnection, params: dict[str, Any]) -> str:
    for authorization in (params.get("authorization"),
                          websocket.headers.get("authorization")):
        if isinstance(authorization, str):
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    for token in (params.get("token"), websocket.query_params.get("token")):
        if isinstance(token, str) and token.strip():
            return token.strip()
    raise AuthenticationFailed(NO_CREDENTIALS)
