"""Who is calling: an X-API-Key, a bearer access token (of a live session, or of the
configured OIDC issuer) or, on CEREBRO's paths, its session cookie; and the cause the
caller's commands record."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from arqium.api.common.deps import SystemDep
from arqium.api.principals import (
    NotKept,
    access_principal,
    api_key_principal,
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
        principal = caller_principal(request, system, kept_only=True)
    except NotKept:
        principal = await run_in_threadpool(caller_principal, request, system)
    return _caller(principal)


CurrentCaller = Annotated[Caller, Depends(verified_caller)]


def _caller(principal: Principal) -> Caller:
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=request_id_var.get()))


def caller_principal(request: Request, system: System, kept_only: bool = False
                     ) -> Principal:
    """With `kept_only`, NotKept wherever verifying needs a query: a key or login
    session this process does not keep, a session cookie, an external identity."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        return verified_api_key(request, api_key, _api_key_check(kept_only))
    cookie = None if "authorization" in request.headers else session_cookie(request)
    if cookie:
        if kept_only:
            raise NotKept
        return verified_session_cookie(request, cookie)
    token = bearer_token(request)
    if is_api_key(token):
        return verified_api_key(request, token, _api_key_check(kept_only))
    return bearer_principal(request, system, token, kept_only)


def _api_key_check(kept_only: bool) -> Callable[[System, str], Principal]:
    return kept_api_key_principal if kept_only else api_key_principal


def has_credentials(request: Request) -> bool:
    """Whether the request carries credentials the routes would check."""
    return ("x-api-key" in request.headers or "authorization" in request.headers
            or session_cookie(request) is not None)


def bearer_principal(request: Request, system: System, token: str,
                     kept_only: bool = False) -> Principal:
    """Our own access token of a live session, or the configured OIDC issuer's token."""
    if system.oidc and system.oidc.names_issuer(token):
        if kept_only:
            raise NotKept
        return external_principal(system, system.oidc.verify(token), "oidc")
    return verified_access(request, token,
                           kept_access_principal if kept_only else access_principal)


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
        raise Forbidden("this needs the admin role" + role_of_keys(caller.principal))


def role_of_keys(principal: Principal) -> str:
    """What to add to a refusal for want of a role, when the caller sent an API key."""
    return ("; an API key acts with the user role only: send an access token instead"
            if principal.api_key_id else "")


def anonymous_cause() -> Cause:
    return Cause(actor="anonymous", correlation_id=request_id_var.get())
