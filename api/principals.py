"""Our own access tokens, verified once per request however many steps ask."""

from starlette.requests import Request

from arqium.infra.security import Principal

STATE_KEY = "verified_access_token"


def verified_access(request: Request, token: str) -> Principal:
    """The token's principal (AuthenticationFailed if it is not valid), kept on the
    request so the rate limiter and the caller dependency share one verification."""
    state = request.scope.setdefault("state", {})
    cached = state.get(STATE_KEY)
    if cached and cached[0] == token:
        return cached[1]
    principal = request.app.state.system.tokens.verify_access(token)
    state[STATE_KEY] = (token, principal)
    return principal
