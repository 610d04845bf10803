"""Who is calling: an X-API-Key, a bearer access token (of a live session, or of the
configured OIDC issuer) or, on CEREBRO's paths, its session cookie; and the cause the
caller's commands record."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from arqium.api.common.deps import SystemDep
from arqium.api.principals import (
    NotKept,
    external_principal,
    is_api_key,
    kept_access_principal,
    kept_api_key_principal,
    session_cookie,
    verified_access,
    verified_api_key,
    verified_session_cookie,
)
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


def current_caller(request: Request, system: System) -> Caller:
    """The caller of an X-API-Key, else of a bearer token (an API key as the bearer
    token too), else (on CEREBRO's paths) of the session cookie."""
    return _caller(caller_principal(request, system))


async def verified_caller(request: Request, system: SystemDep) -> Caller:
    """current_caller, verified on the event loop when that needs no query (this
    process keeps the caller's API key or login session: most requests), else in a
    worker thread."""
    try:
        principal = kept_principal(request, system)
    except NotKept:
        principal = await run_in_threadpool(caller_principal, request, system)
    return _caller(principal)


CurrentCaller = Annotated[Caller, Depends(verified_caller)]


def _caller(principal: Principal) -> Caller:
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=request_id_var.get()))


def kept_principal(request: Request, system: System) -> Principal:
    """caller_principal, if it needs no query (NotKept otherwise): cookies and external
    identities always do."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        return verified_api_key(request, api_key, kept_api_key_principal)
    if "authorization" not in request.headers:
        raise NotKept  # a session cookie, or no credentials: caller_principal says which
    token = bearer_token(request)
    if is_api_key(token):
        return verified_api_key(request, token, kept_api_key_principal)
    if system.oidc and system.oidc.names_issuer(token):
        raise NotKept
    return verified_access(request, token, kept_access_principal)


def caller_principal(request: Request, system: System) -> Principal:
    api_key = request.headers.get("x-api-key")
    if api_key:
        return verified_api_key(request, api_key)
    cookie = None if "authorization" in request.headers else session_cookie(request)
    if cookie:
        return verified_session_cookie(request, cookie)
    token = bearer_token(request)
    if is_api_key(token):
        return verified_api_key(request, token)
    return bearer_principal(request, system, token)


def has_credentials(request: Request) -> bool:
    """Whether the request carries credentials the routes would check."""
    return ("x-api-key" in request.headers or "authorization" in request.headers
            or session_cookie(request) is not None)


def bearer_principal(request: Request, system: System, token: str) -> Principal:
    """Our own access token of a live session, or the configured OIDC issuer's token."""
    if system.oidc and system.oidc.names_issuer(token):
        return external_principal(system, system.oidc.verify(token), "oidc")
    return verified_access(request, token)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "authentication required: send 'Authorization: Bearer <access_token>' "
            "(get one from POST /api/v1/auth/login) or 'X-API-Key: <key>' (CEREBRO's "
            "routes also take the next-auth.session-token cookie)")
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
