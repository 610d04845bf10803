"""Who calls the Memory Service's current dialect: `Authorization: Bearer <api key>` (an
ARQIUM API key), checked before anything reads the body; with ARQIUM_V0_AUTH=open, the
SDK's fixed development key acts as the local account `mycelian-dev`."""

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from arqium.api.common.deps import SystemDep
from arqium.api.errors import (
    DATABASE_UNAVAILABLE,
    database_unavailable,
    documented_methods,
    error_response,
)
from arqium.api.memory_v0.access import V0User
from arqium.api.middleware import HttpMiddleware
from arqium.api.principals import AUTHENTICATED_ACTOR, verified_api_key
from arqium.api.requestinfo import request_id_var
from arqium.domain.shared import AuthenticationFailed, Cause
from arqium.system.bootstrap import System

DEV_KEY = "LOCAL_DEV_MODE_NOT_FOR_PRODUCTION"  # what client.NewWithDevMode sends
DEV_ACTOR = "mycelian-dev"
DEV_EMAIL = "mycelian-dev@arqium.local"
CURRENT_PATHS = ("/v0/vaults",)  # the dialect's own paths (search is decided by body)
ACCOUNT_KEY = "v0_current_account"
REFUSED = ("send 'Authorization: Bearer <api key>' (an ARQIUM API key: POST "
           "/api/v1/api-keys)")


def bearer_key(request: Request) -> str:
    """The key of `Authorization: Bearer <key>`: exactly two parts, `Bearer` as written."""
    parts = request.headers.get("authorization", "").split(" ")
    if len(parts) != 2 or parts[0] != "Bearer" or not parts[1]:
        raise AuthenticationFailed(f"missing or malformed Authorization header: {REFUSED}")
    return parts[1]


def account(request: Request, system: System) -> V0User:
    """The caller as a v0 user: `handle` is the actorId its answers show."""
    state = request.scope.setdefault("state", {})
    if ACCOUNT_KEY not in state:
        state[ACCOUNT_KEY] = _account(request, system, bearer_key(request))
        state[AUTHENTICATED_ACTOR] = state[ACCOUNT_KEY].cause.actor
    return state[ACCOUNT_KEY]


def _account(request: Request, system: System, key: str) -> V0User:
    if key == DEV_KEY:
        return _dev_account(system)
    principal = verified_api_key(request, key)
    return V0User(principal.user_id, principal.user_id,
                  Cause(actor=principal.actor, correlation_id=request_id_var.get()))


def _dev_account(system: System) -> V0User:
    """The local development account, registered (without a password) on first use;
    refused unless v0 is served open, whatever else is configured."""
    if system.settings.v0_auth != "open":
        raise AuthenticationFailed(f"the development key is refused here: {REFUSED}")
    cause = Cause(actor=DEV_ACTOR, correlation_id=request_id_var.get())
    user = system.identity.provision_external(DEV_EMAIL, DEV_ACTOR, cause=cause)
    return V0User(DEV_ACTOR, str(user.id), Cause(actor=f"user:{user.id}",
                                                 correlation_id=cause.correlation_id))


def account_dependency(request: Request, system: SystemDep) -> V0User:
    return account(request, system)


AccountDep = Annotated[V0User, Depends(account_dependency)]


def served(request: Request) -> bool:
    """Whether a route serves the request's method at its path, or no route has the path
    (each route checks the key again, whatever this says)."""
    methods = documented_methods(request).at(request.url.path)[1]
    return not methods or request.method in methods


class BearerKeyMiddleware(HttpMiddleware):
    """Refuses a request to the dialect's paths without a valid bearer key (401 in the
    dialect's shape) before the input limits, idempotency or the route read its body."""

    def applies_to(self, scope: Scope) -> bool:
        return any(scope["path"] == path or scope["path"].startswith(path + "/")
                   for path in CURRENT_PATHS)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        if not served(request):  # the router's 405, as on every face: it tells no secret
            await self.app(scope, receive, send)
            return
        try:
            await run_in_threadpool(account, request, request.app.state.system)
        except AuthenticationFailed as refusal:
            await error_response(request, 401, "unauthenticated", refusal.message
                                 )(scope, receive, send)
            return
        except DATABASE_UNAVAILABLE as error:
            await database_unavailable(request, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)
