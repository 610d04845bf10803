"""Credentials (our access tokens and API keys, external identities, CEREBRO's session
cookie), verified once per request however many steps ask (rate limiter, idempotency,
the caller dependency)."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from starlette.requests import HTTPConnection

from arqium.api.common.shapes import CEREBRO, face_for
from arqium.api.requestinfo import request_id_var
from arqium.domain.identity.application import API_KEY_PREFIX, hash_api_key
from arqium.domain.shared import AuthenticationFailed, Cause, InvalidToken
from arqium.infra.oidc import ExternalIdentity
from arqium.infra.security import Principal
from arqium.system.bootstrap import System

ACCESS_KEY = "verified_access_token"
API_KEY_KEY = "verified_api_key"
SESSION_COOKIE_KEY = "verified_session_cookie"
# NextAuth's session cookie, the secure one (set over HTTPS) first.
SESSION_COOKIES = ("__Secure-next-auth.session-token", "next-auth.session-token")
# The actor a face's own authentication (one that runs before the routes) found.
AUTHENTICATED_ACTOR = "authenticated_actor"
UNKNOWN_SESSION = "this token's login session is unknown; log in again"
KEY_WAIT_SECONDS = 1.0


def verified_access(request: HTTPConnection, token: str,
                    verify: Callable[[System, str], Principal] | None = None
                    ) -> Principal:
    """The principal of an access token of a live login session (AuthenticationFailed
    otherwise)."""
    return _once(request, ACCESS_KEY, token, verify or access_principal)


def verified_api_key(request: HTTPConnection, api_key: str,
                     verify: Callable[[System, str], Principal] | None = None
                     ) -> Principal:
    """The principal of an active API key (AuthenticationFailed otherwise)."""
    return _once(request, API_KEY_KEY, api_key, verify or api_key_principal)


def verified_session_cookie(request: HTTPConnection, token: str) -> Principal:
    """The principal of a session cookie's token (see session_cookie)."""
    return _once(request, SESSION_COOKIE_KEY, token, session_cookie_principal)


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
        raise type(cached[1])(cached[1].message)  # its kind decides the error code
    return cached[1]


class NotKept(Exception):
    """Verifying these credentials needs a query: not on the event loop."""


def access_principal(system: System, token: str) -> Principal:
    principal = system.tokens.verify_access(token)
    check_login_session(system, principal)
    return principal


def kept_access_principal(system: System, token: str) -> Principal:
    """access_principal, if this process keeps the token's login session (NotKept)."""
    principal = system.tokens.verify_access(token)
    session = system.credentials.cached(_session_key(principal))
    if session is None:
        raise NotKept
    check_session_row(session, principal)
    return principal


def check_login_session(system: System, principal: Principal) -> None:
    """The token's login session must be live and its user's (a deleted user's sessions
    count as ended): one lookup by primary key in the login sessions read model, kept
    until a session ends. Only a session it does not know yet (a token used right after
    its login) is looked up in the event store."""
    key = _session_key(principal)
    session = system.credentials.lookup(
        key, lambda: system.read_models.login_sessions.session(key[1]))
    if session is None:
        system.identity.check_live_session(principal.session_id, principal.user_id)
    else:
        check_session_row(session, principal)


def check_session_row(session: dict, principal: Principal) -> None:
    if session["ended"]:
        raise InvalidToken("this login session has ended; log in again")
    elif session["user_id"] != principal.user_id:
        raise InvalidToken(UNKNOWN_SESSION)


def _session_key(principal: Principal) -> tuple[str, str]:
    return ("login session", _uuid(principal.session_id))


def _uuid(session_id: str | None) -> str:
    try:
        return str(UUID(str(session_id)))
    except ValueError:
        raise InvalidToken(UNKNOWN_SESSION) from None


def is_api_key(token: str) -> bool:
    """An API key sent where a token is expected (`Authorization: Bearer arq_...`)."""
    return token.startswith(API_KEY_PREFIX)


def api_key_principal(system: System, api_key: str) -> Principal:
    """API keys act as their owner with the plain user role, whatever the owner's roles.
    An active key's row is kept until a key is revoked or a user deleted."""
    key_hash = hash_api_key(api_key)
    row = system.credentials.lookup(
        ("api key", key_hash), lambda: system.read_models.api_keys.active_by_hash(key_hash))
    if row is None and api_keys_caught_up(system):
        row = system.read_models.api_keys.active_by_hash(key_hash)
    if row is None:
        raise InvalidToken("unknown or revoked API key")
    return _key_principal(row)


def kept_api_key_principal(system: System, api_key: str) -> Principal:
    """api_key_principal, if this process keeps the key's row (NotKept otherwise)."""
    row = system.credentials.cached(("api key", hash_api_key(api_key)))
    if row is None:
        raise NotKept
    return _key_principal(row)


def _key_principal(row: dict) -> Principal:
    return Principal(user_id=row["user_id"], roles=("user",), expires_at=None,
                     api_key_id=str(row["id"]))


def api_keys_caught_up(system: System) -> bool:
    """Whether the API-key read model, behind a moment ago, now holds every key issued
    so far (a key used the instant it was issued). Waits a second at most: unknown keys
    are cheap to send."""
    head = system.identity.recorder.max_notification_id()
    view = system.read_models.api_keys
    if head is None or view.has_tracking_id(system.identity.name, head):
        return False  # nothing to wait for: the key is unknown
    try:
        view.wait(system.identity.name, head, min(system.settings.read_wait_seconds,
                                                  KEY_WAIT_SECONDS))
    except TimeoutError:
        return False
    return True


def session_cookie(request: HTTPConnection) -> str | None:
    """The token of CEREBRO's session cookie, on CEREBRO's paths only (seed 001's clients
    send it; no other face takes cookies): an access token of ours, or a NextAuth
    session token when ARQIUM_NEXTAUTH_SECRET is set (else ignored, as if absent)."""
    if face_for(request.url.path) is not CEREBRO:
        return None
    token = next(filter(None, (cookie_value(request.cookies, name)
                               for name in SESSION_COOKIES)), None)
    if token is None or (request.app.state.system.nextauth is None and not is_jws(token)):
        return None
    return token


def cookie_value(cookies: dict[str, str], name: str) -> str | None:
    """The cookie, or its chunks `name.0`, `name.1`, ... joined in order (NextAuth
    splits a session token over 4 KB that way)."""
    if name in cookies:
        return cookies[name]
    chunk = re.compile(rf"{re.escape(name)}\.([0-9]{{1,3}})")
    chunks = sorted((int(found[1]), value) for key, value in cookies.items()
                    if (found := chunk.fullmatch(key)))
    return "".join(value for _, value in chunks) or None


def is_jws(token: str) -> bool:
    """Whether the token has a JWS's three parts (ours), not a JWE's five (NextAuth's)."""
    return token.count(".") == 2


def session_cookie_principal(system: System, token: str) -> Principal:
    if is_jws(token) or system.nextauth is None:
        return access_principal(system, token)
    return external_principal(system, system.nextauth.verify(token), "nextauth")


def external_principal(system: System, identity: ExternalIdentity, provider: str
                       ) -> Principal:
    """The user an external identity provider vouches for, by e-mail address (registered
    on first sight), with that user's own roles."""
    provisioner = Cause(actor=f"{provider}:{identity.subject}",
                        correlation_id=request_id_var.get())
    user = system.identity.provision_external(identity.email, identity.name,
                                              cause=provisioner)
    return Principal(user_id=str(user.id), roles=tuple(user.roles),
                     expires_at=datetime.fromtimestamp(identity.expires_at, UTC))
