"""What routes are handed (as `Annotated` dependencies, so a misspelt one fails at import
time): the applications, the read models once they hold the caller's writes, the
settings, the tokens, the time."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Callable, TypeVar

from eventsourcing.application import Application
from fastapi import Depends, Request

from arqium.api.common.positions import MIN_POSITION_HEADER, parse_position
from arqium.api.errors import ReadModelBehind
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.sessions.application import SessionsApplication
from arqium.infra.query_embeddings import QueryEmbeddings
from arqium.infra.security import TokenService
from arqium.infra.settings import Settings
from arqium.projections.api_keys import ApiKeysProjection, ApiKeysView
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.chat_sessions import ChatSessionsProjection, ChatSessionsView
from arqium.projections.contexts import ContextsProjection, ContextsView
from arqium.projections.ledger_objects import LedgerObjectsProjection, LedgerObjectsView
from arqium.projections.login_sessions import LoginSessionsView
from arqium.projections.memory_items import MemoryItemsProjection, MemoryItemsView
from arqium.projections.session_messages import (
    SessionMessagesProjection,
    SessionMessagesView,
)
from arqium.projections.users import UsersProjection, UsersView
from arqium.system.bootstrap import System

Part = TypeVar("Part")


def get_system(request: Request) -> System:
    return request.app.state.system


SystemDep = Annotated[System, Depends(get_system)]  # for the few that need many parts


def part_of_system(part: Callable[[System], Part]) -> Callable[[System], Part]:
    """A dependency handing a route one part of the system."""

    def dependency(system: SystemDep) -> Part:
        return part(system)

    return dependency


IdentityApp = Annotated[IdentityApplication, Depends(part_of_system(lambda s: s.identity))]
MemoryApp = Annotated[MemoryApplication, Depends(part_of_system(lambda s: s.memory))]
SessionsApp = Annotated[SessionsApplication, Depends(part_of_system(lambda s: s.sessions))]
LedgerApp = Annotated[LedgerApplication, Depends(part_of_system(lambda s: s.ledger))]
PlatformApp = Annotated[PlatformApplication, Depends(part_of_system(lambda s: s.platform))]
AppSettings = Annotated[Settings, Depends(part_of_system(lambda s: s.settings))]
Tokens = Annotated[TokenService, Depends(part_of_system(lambda s: s.tokens))]
QueryEmbedder = Annotated[QueryEmbeddings,
                          Depends(part_of_system(lambda s: s.query_embeddings))]
# The system clock's time when the request asked for it.
Now = Annotated[datetime, Depends(part_of_system(lambda s: s.clock()))]
# Which sessions have ended, as the token checks see it: never waits for X-Min-Position.
LoginSessionsNow = Annotated[
    LoginSessionsView, Depends(part_of_system(lambda s: s.read_models.login_sessions))]


@dataclass(frozen=True)
class ReadModelWaits:
    """Bounded waits until a read model has applied given events: what lets a client
    read its own writes."""

    system: System

    def reached(self, projection: type[BatchProjection], position: int | None) -> bool:
        """Give the projection's read model a moment to reach `position`; True if it did."""
        if position is None:
            return True
        try:
            self.system.read_models.of(projection).wait(
                projection.application.name, position,
                self.system.settings.read_wait_seconds)
        except TimeoutError:
            return False
        return True

    def at_head(self, projection: type[BatchProjection]) -> ReadModel:
        """The projection's read model once it holds every event its application stored
        so far (ReadModelBehind if it does not in time)."""
        head = self.application_of(projection).recorder.max_notification_id()
        if head and not self.reached(projection, head):
            raise ReadModelBehind(f"read model {projection.name!r} is catching up; "
                                  "retry shortly")
        return self.system.read_models.of(projection)

    def application_of(self, projection: type[BatchProjection]) -> Application:
        return next(application for application in self.system.applications()
                    if isinstance(application, projection.application))


Waits = Annotated[ReadModelWaits, Depends(part_of_system(ReadModelWaits))]


def caught_up(*projections: type[BatchProjection]) -> Callable[..., ReadModel]:
    """A dependency: the (last) projection's read model, once every one has reached the
    caller's X-Min-Position (bounded wait)."""

    def dependency(request: Request, waits: Waits) -> ReadModel:
        token = request.headers.get(MIN_POSITION_HEADER)
        if token:
            wanted_app, position = parse_position(token)
            for projection in projections:
                if (wanted_app == projection.application.name
                        and not waits.reached(projection, position)):
                    raise ReadModelBehind(f"read model {projection.name!r} has not reached "
                                          f"position {token} yet; retry shortly")
        return waits.system.read_models.of(projections[-1])

    return dependency


MemoryItems = Annotated[MemoryItemsView, Depends(caught_up(MemoryItemsProjection))]
Contexts = Annotated[ContextsView, Depends(caught_up(ContextsProjection))]
Users = Annotated[UsersView, Depends(caught_up(UsersProjection))]
ApiKeys = Annotated[ApiKeysView, Depends(caught_up(ApiKeysProjection))]
ChatSessions = Annotated[ChatSessionsView, Depends(caught_up(ChatSessionsProjection))]
SessionMessages = Annotated[SessionMessagesView,
                            Depends(caught_up(SessionMessagesProjection))]
LedgerObjects = Annotated[LedgerObjectsView, Depends(caught_up(LedgerObjectsProjection))]
