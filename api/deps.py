"""Dependencies handed to routes: the system, the caller, read models caught up."""

from dataclasses import dataclass
from typing import Annotated, Callable

from fastapi import Depends, Request

from api.errors import ReadModelBehind
from api.requestinfo import request_id_var
from domain.shared import AuthenticationFailed, Cause, Invalid
from infra.bootstrap import System
from infra.security import Principal
from projections import projection_named
from projections.base import ReadModel

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
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(
            "authentication required: send 'Authorization: Bearer <access_token>' "
            "(get one from POST /api/v1/auth/login)")
    principal = system.tokens.verify_access(token.strip())
    return Caller(principal, Cause(actor=principal.actor,
                                   correlation_id=request_id_var.get()))


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def anonymous_cause() -> Cause:
    return Cause(actor="anonymous", correlation_id=request_id_var.get())


def position_token(application_name: str, notification_id: int) -> str:
    """Opaque to clients: hand it back in X-Min-Position to read your own writes."""
    return f"{application_name}.{notification_id}"


def parse_position(token: str) -> tuple[str, int]:
    application_name, _, number = token.strip().rpartition(".")
    if not application_name or not number.isdigit():
        raise Invalid(f"{MIN_POSITION_HEADER} must be a value taken from an "
                      f"{POSITION_HEADER} response header", field=MIN_POSITION_HEADER)
    return application_name, int(number)


def caught_up(projection_name: str) -> Callable[..., ReadModel]:
    """A read model that has reached the caller's X-Min-Position (bounded wait)."""
    application_name = projection_named(projection_name).application.name

    def dependency(request: Request, system: SystemDep) -> ReadModel:
        view = system.views[projection_name]
        token = request.headers.get(MIN_POSITION_HEADER)
        if token:
            wanted_app, position = parse_position(token)
            if wanted_app == application_name:
                try:
                    view.wait(application_name, position, system.settings.read_wait_seconds)
                except TimeoutError:
                    raise ReadModelBehind(
                        f"read model {projection_name!r} has not reached position "
                        f"{token} yet; retry shortly") from None
        return view

    return dependency
