"""Dependencies handed to routes: the system, the caller, read models caught up."""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic_core import to_json

from arqium.api.errors import ReadModelBehind
from arqium.api.principals import verified_access
from arqium.api.requestinfo import request_id_var
from arqium.domain.identity.application import hash_api_key
from arqium.domain.shared import AuthenticationFailed, Cause, Forbidden, Invalid, acting
from arqium.infra.security import Principal
from arqium.projections import projection_named
from arqium.projections.api_keys import ApiKeysView
from arqium.projections.base import ReadModel
from arqium.projections.chat_sessions import ChatSessionsView
from arqium.projections.contexts import ContextsView
from arqium.projections.ledger_objects import LedgerObjectsView
from arqium.projections.memory_items import MemoryItemsView
from arqium.projections.session_messages import SessionMessagesView
from arqium.projections.users import UsersView
from arqium.system.bootstrap import System

POSITION_HEADER = "X-Event-Position"
MIN_POSITION_HEADER = "X-Min-Position"


def get_system(request: Request) -> System:
    return request.app.state.system


SystemDep = Annotated[System, Depends(get_system)]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and the cause its commands record."""

    principal: Principal
    cause: Cause

    @property
    def user_id(self) -> str:
        return self.principal.user_id


def current_caller(request: Request, system: SystemDep) -> Caller:
    """The caller of a bearer access token (of a live session) or of an X-API-Key."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        principal = api_key_principal(system, api_key)
    else:
        principal = bearer_principal(request, system, bearer_token(request))
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=request_id_var.get()))


def bearer_principal(request: Request, system: System, token: str) -> Principal:
    """Our own access token of a live session, or the configured OIDC issuer's token."""
    if system.oidc and system.oidc.names_issuer(token):
        identity = system.oidc.verify(token)
        with acting(Cause(actor=f"oidc:{identity.subject}",
                          correlation_id=request_id_var.get())):
            user = system.identity.provision_external(identity.email, identity.name)
        return Principal(user_id=str(user.id), roles=tuple(user.roles),
                         expires_at=datetime.fromtimestamp(identity.expires_at, timezone.utc))
    principal = verified_access(request, token)
    if system.views["login_sessions"].has_ended(principal.session_id):
        raise AuthenticationFailed("this login session has ended; log in again")
    return principal


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "authentication required: send 'Authorization: Bearer <access_token>' "
            "(get one from POST /api/v1/auth/login) or 'X-API-Key: <key>'")
    return token.strip()


def api_key_principal(system: System, api_key: str) -> Principal:
    """API keys act as their owner with the plain user role, whatever the owner's roles."""
    row = system.views["api_keys"].active_by_hash(hash_api_key(api_key))
    if row is None:
        raise AuthenticationFailed("unknown or revoked API key")
    return Principal(user_id=row["user_id"], roles=("user",), expires_at=None,
                     api_key_id=str(row["id"]))


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def client_of(request: Request) -> tuple[str, str]:
    """The client's address and user agent, as a login session records them."""
    address = request.client.host if request.client else ""
    return address, request.headers.get("user-agent", "")


def require_admin(caller: Caller) -> None:
    if not caller.principal.is_admin:
        raise Forbidden("this needs the admin role")


def wait_for(system: System, projection_name: str, position: int | None) -> bool:
    """Give a read model that a command depends on a moment to catch up; True if it did."""
    if position is None:
        return True
    application_name = projection_named(projection_name).application.name
    try:
        system.views[projection_name].wait(application_name, position,
                                           system.settings.read_wait_seconds)
    except TimeoutError:
        return False
    return True


def anonymous_cause() -> Cause:
    return Cause(actor="anonymous", correlation_id=request_id_var.get())


def position_token(application_name: str, notification_id: int) -> str:
    """Opaque to clients: hand it back in X-Min-Position to read your own writes."""
    return f"{application_name}.{notification_id}"


def with_position(body: Any, application_name: str, notification_id: int,
                  status: int = 200) -> Response:
    """A compatibility face's bare body, with the command's X-Event-Position (encoded by
    pydantic-core, as FastAPI encodes typed responses: several times faster than json)."""
    return Response(to_json(body), status_code=status, media_type="application/json",
                    headers={
        POSITION_HEADER: position_token(application_name, notification_id)})


def parse_position(token: str) -> tuple[str, int]:
    application_name, _, number = token.strip().rpartition(".")
    if not application_name or not number.isdigit():
        raise Invalid(f"{MIN_POSITION_HEADER} must be a value taken from an "
                      f"{POSITION_HEADER} response header", field=MIN_POSITION_HEADER)
    return application_name, int(number)


def caught_up(*projection_names: str) -> Callable[..., ReadModel]:
    """The (last named) read model, once all named have reached the caller's
    X-Min-Position (bounded wait)."""

    def dependency(request: Request, system: SystemDep) -> ReadModel:
        token = request.headers.get(MIN_POSITION_HEADER)
        if token:
            wanted_app, position = parse_position(token)
            for name in projection_names:
                if (wanted_app == projection_named(name).application.name
                        and not wait_for(system, name, position)):
                    raise ReadModelBehind(f"read model {name!r} has not reached "
                                          f"position {token} yet; retry shortly")
        return system.views[projection_names[-1]]

    return dependency


MemoryItems = Annotated[MemoryItemsView, Depends(caught_up("memory_items"))]
Contexts = Annotated[ContextsView, Depends(caught_up("contexts"))]
Users = Annotated[UsersView, Depends(caught_up("users"))]
ApiKeys = Annotated[ApiKeysView, Depends(caught_up("api_keys"))]
ChatSessions = Annotated[ChatSessionsView, Depends(caught_up("chat_sessions"))]
SessionMessages = Annotated[SessionMessagesView, Depends(caught_up("session_messages"))]
LedgerObjects = Annotated[LedgerObjectsView, Depends(caught_up("ledger_objects"))]
