"""Login sessions as every face opens, refreshes and ends them."""

from fastapi import Request

from arqium.api.common.caller import client_of
from arqium.api.common.deps import ReadModelWaits
from arqium.api.requestinfo import request_id_var
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import RefreshTokenReused, SessionTimedOut, User
from arqium.domain.shared import AuthenticationFailed, Cause
from arqium.infra.security import TokenPair, TokenService
from arqium.projections.login_sessions import LoginSessionsProjection


def open_session(identity: IdentityApplication, tokens: TokenService, user: User,
                 request: Request, remember_me: bool = False) -> tuple[TokenPair, int]:
    """Start a login session; its tokens and the position of its start."""
    address, agent = client_of(request)
    session, position = identity.start_session(user, address, agent, remember_me,
                                               cause=user_cause(str(user.id)))
    pair = tokens.issue(str(user.id), list(user.roles), str(session.id),
                        session.refresh_token_id, remember_me)
    return pair, position


def refresh_session(identity: IdentityApplication, tokens: TokenService,
                    waits: ReadModelWaits, refresh_token: str) -> TokenPair:
    """A new token pair; the presented refresh token is spent."""
    claims = tokens.verify_refresh(refresh_token)
    try:
        session, user, _ = identity.refresh_session(claims.session_id, claims.token_id,
                                                    cause=user_cause(claims.user_id))
    except (RefreshTokenReused, SessionTimedOut) as reuse:
        # The session's access tokens must be refused before the refusal is answered.
        waits.reached(LoginSessionsProjection, reuse.position)
        raise
    return tokens.issue(str(user.id), list(user.roles), str(session.id),
                        session.refresh_token_id, session.remember_me)


def end_session(identity: IdentityApplication, waits: ReadModelWaits, session_id: str,
                user_id: str, reason: str, *, cause: Cause) -> None:
    """End the session and wait (bounded) until its tokens are refused everywhere."""
    position = identity.end_session(session_id, user_id, reason, cause=cause)
    waits.reached(LoginSessionsProjection, position)


def user_cause(user_id: str) -> Cause:
    """The holder of a login session's tokens acts (who sent no access token)."""
    return Cause(actor=f"user:{user_id}", correlation_id=request_id_var.get())


def session_of_any_token(tokens: TokenService, token: str) -> tuple[str, str]:
    """(user id, session id) of an access or a refresh token."""
    try:
        principal = tokens.verify_access(token)
        return principal.user_id, principal.session_id
    except AuthenticationFailed:
        claims = tokens.verify_refresh(token)
        return claims.user_id, claims.session_id
