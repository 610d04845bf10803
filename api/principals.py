"""Our own credentials (access tokens, API keys), verified once per request however many
steps ask (rate limiter, idempotency, the caller dependency)."""

from collections.abc import Callable
from uuid import UUID

from starlette.requests import HTTPConnection

from arqium.domain.identity.application import API_KEY_PREFIX, hash_api_key
from arqium.domain.shared import AuthenticationFailed
from arqium.infra.security import Principal
from arqium.system.bootstrap import System

ACCESS_KEY = "verified_access_token"
API_KEY_KEY = "verified_api_key"
# The actor a face's own authentication (one that runs before the routes) found.
AUTHENTICATED_ACTOR = "authenticated_actor"
UNKNOWN_SESSION = "this token's login session is unknown; log in again"


def verified_access(request: HTTPConnection, token: str) -> Principal:
    """The principal of an access token of a live login session (AuthenticationFailed
    otherwise)."""
    return _once(request, ACCESS_KEY, token, access_principal)


def verified_api_key(request: HTTPConnection, api_key: str) -> Principal:
    """The principal of an active API key (AuthenticationFailed otherwise)."""
    return _once(request, API_KEY_KEY, api_key, api_key_principal)


def _once(request: HTTPConnection, key: str, credential: str,
          verify: Callable[[System, str], Principal]) -> Principal:
    """`verify(system, credential)`, its principal or refusal kept on the request."""
    state = request.scope.setdefault("state", {})
    cached = state.get(key)
    if cached is None or cached[0] != credential:
        try:
            cached = (credential, verify(request.app.state.system, credential))
        except AuthenticationFailed as refusal:
            cached = (credential, refusal)
        state[key] = cached
    if isinstance(cached[1], AuthenticationFailed):
        raise AuthenticationFailed(cached[1].message)
    return cached[1]


def access_principal(system: System, token: str) -> Principal:
    principal = system.tokens.verify_access(token)
    check_login_session(system, principal)
    return principal


def check_login_session(system: System, principal: Principal) -> None:
    """The token's login session must be live and its user's (a deleted user's sessions
    count as ended): one lookup by primary key in the login sessions read model. Only a
    session it does not know yet (a token used right after its login) is looked up in
    the event store."""
    session = system.read_models.login_sessions.session(_uuid(principal.session_id))
    if session is None:
        system.identity.check_live_session(principal.session_id, principal.user_id)
    elif session["ended"]:
        raise AuthenticationFailed("this login session has ended; log in again")
    elif session["user_id"] != principal.user_id:
        raise AuthenticationFailed(UNKNOWN_SESSION)


def _uuid(session_id: str | None) -> str:
    try:
        return str(UUID(str(session_id)))
    except ValueError:
        raise AuthenticationFailed(UNKNOWN_SESSION) from None


def is_api_key(token: str) -> bool:
    """An API key sent where a token is expected (`Authorization: Bearer arq_...`)."""
    return token.startswith(API_KEY_PREFIX)


def api_key_principal(system: System, api_key: str) -> Principal:
    """API keys act as their owner with the plain user role, whatever the owner's roles."""
    row = system.read_models.api_keys.active_by_hash(hash_api_key(api_key))
    if row is None:
        raise AuthenticationFailed("unknown or revoked API key")
    return Principal(user_id=row["user_id"], roles=("user",), expires_at=None,
                     api_key_id=str(row["id"]))
