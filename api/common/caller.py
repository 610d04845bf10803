"""Who is calling: a bearer access token (of a live session, or of the configured OIDC
issuer) or an X-API-Key, and the cause the caller's commands record."""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated

from fastapi import Depends, Request

from arqium.api.common.deps import SystemDep
from arqium.api.principals import is_api_key, verified_access, verified_api_key
from arqium.api.requestinfo import request_id_var
from arqium.domain.shared import AuthenticationFailed, Cause, Forbidden
from arqium.infra.security import Principal
from arqium.system.bootstrap import System


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and the cause its commands record."""

    principal: Principal
    cause: Cause

    @property
    def user_id(self) -> str:
        return self.principal.user_id


def current_caller(request: Request, system: SystemDep) -> Caller:
    """The caller of a bearer access token (of a live session) or of an API key (in
    X-API-Key, or as the bearer token)."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        principal = verified_api_key(request, api_key)
    elif is_api_key(token := bearer_token(request)):
        principal = verified_api_key(request, token)
    else:
        principal = bearer_principal(request, system, token)
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=request_id_var.get()))


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def bearer_principal(request: Request, system: System, token: str) -> Principal:
    """Our own access token of a live session, or the configured OIDC issuer's token."""
    if system.oidc and system.oidc.names_issuer(token):
        identity = system.oidc.verify(token)
        provisioner = Cause(actor=f"oidc:{identity.subject}",
                            correlation_id=request_id_var.get())
        user = system.identity.provision_external(identity.email, identity.name,
                                                  cause=provisioner)
        return Principal(user_id=str(user.id), roles=tuple(user.roles),
                         expires_at=datetime.fromtimestamp(identity.expires_at, timezone.utc))
    return verified_access(request, token)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "authentication required: send 'Authorization: Bearer <access_token>' "
            "(get one from POST /api/v1/auth/login) or 'X-API-Key: <key>'")
    return token.strip()


def client_of(request: Request) -> tuple[str, str]:
    """The client's address and user agent, as a login session records them."""
    address = request.client.host if request.client else ""
    return address, request.headers.get("user-agent", "")


def require_admin(caller: Caller) -> None:
    if not caller.principal.is_admin:
        raise Forbidden("this needs the admin role")


def anonymous_cause() -> Cause:
    return Cause(actor="anonymous", correlation_id=request_id_var.get())
