"""What routes are handed (as `Annotated` dependencies, so a misspelt one fails at import
time): the applications, the read models once they hold the caller's writes, the
settings, the tokens, the time."""

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Callable, TypeVar

from fastapi import Depends, Request

from arqium.api.common.positions import (
    CONSISTENCY_HEADER,
    EVENTUAL,
    MIN_POSITION_HEADER,
    STRONG,
    parse_position,
)
from arqium.api.errors import ReadModelBehind
from arqium.domain.agents.application import AgentsApplication
from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.components.application import ComponentsApplication
from arqium.domain.files.application import FilesApplication
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.shared import Invalid
from arqium.infra.blobs import BlobStore
from arqium.infra.eventstore import check_before_connecting
from arqium.infra.query_embeddings import QueryEmbeddings
from arqium.infra.security import TokenService
from arqium.infra.settings import Settings
from arqium.infra.signed_urls import UrlSigner
from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.projections.activity_figures import ActivityFigures
from arqium.projections.agent_invocations import (
    AgentInvocationsProjection,
    AgentInvocationsView,
)
from arqium.projections.api_keys import ApiKeysProjection, ApiKeysView
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.chat_sessions import ChatSessionsProjection, ChatSessionsView
from arqium.projections.components import ComponentsProjection, ComponentsView
from arqium.projections.contexts import ContextsProjection, ContextsView
from arqium.projections.files import FilesProjection, FilesView
from arqium.projections.ledger_objects import LedgerObjectsProjection, LedgerObjectsView
from arqium.projections.login_sessions import LoginSessionsProjection, LoginSessionsView
from arqium.projections.memory_items import MemoryItemsProjection, MemoryItemsView
from arqium.projections.session_messages import (
    SessionMessagesProjection,
    SessionMessagesView,
)
from arqium.projections.users import UsersProjection, UsersView
from arqium.system.agents import Agents
from arqium.system.bootstrap import System

Part = TypeVar("Part")
# The read models whose rows the API keeps to verify credentials (system.credentials).
CREDENTIAL_READ_MODELS = (ApiKeysProjection.name, LoginSessionsProjection.name)


async def get_system(request: Request) -> System:
    # Async: FastAPI runs a plain function in a worker thread, a hop that costs more
    # than the lookup (so does every trivial dependency here).
    return request.app.state.system


SystemDep = Annotated[System, Depends(get_system)]  # for the few that need many parts


def part_of_system(part: Callable[[System], Part]) -> Callable[[System], Part]:
    """A dependency handing a route one part of the system."""

    async def dependency(system: SystemDep) -> Part:
        return part(system)

    return dependency


IdentityApp = Annotated[IdentityApplication, Depends(part_of_system(lambda s: s.identity))]
MemoryApp = Annotated[MemoryApplication, Depends(part_of_system(lambda s: s.memory))]
SessionsApp = Annotated[SessionsApplication, Depends(part_of_system(lambda s: s.sessions))]
LedgerApp = Annotated[LedgerApplication, Depends(part_of_system(lambda s: s.ledger))]
AgentsApp = Annotated[AgentsApplication, Depends(part_of_system(lambda s: s.agents))]
AnalyticsApp = Annotated[AnalyticsApplication,
                         Depends(part_of_system(lambda s: s.analytics))]
ComponentsApp = Annotated[ComponentsApplication,
                          Depends(part_of_system(lambda s: s.components))]
PlatformApp = Annotated[PlatformApplication, Depends(part_of_system(lambda s: s.platform))]
FilesApp = Annotated[FilesApplication, Depends(part_of_system(lambda s: s.files))]
Blobs = Annotated[BlobStore, Depends(part_of_system(lambda s: s.blobs))]


async def built_in_agents(system: SystemDep) -> Agents:
    return Agents(system.agents, system.read_models.agent_invocations, system.ledger,
                  system.settings, system.worker_failures, system.model_probe,
                  system.clock)


AgentsDep = Annotated[Agents, Depends(built_in_agents)]
DOWNLOAD_LINKS = "download-links"  # the purpose of the key signing download links
DownloadLinks = Annotated[UrlSigner, Depends(part_of_system(
    lambda s: UrlSigner(s.master_key().derived(DOWNLOAD_LINKS), s.clock)))]
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
        if projection.name in CREDENTIAL_READ_MODELS:
            # The NOTIFY of these events' commit may not have reached this process yet:
            # what it keeps of them must go now, before this request is answered.
            self.system.credentials.drop_all()
        return True

    def at_head(self, projection: type[BatchProjection]) -> ReadModel:
        """The projection's read model once it holds every event its application stored
        so far (ReadModelBehind if it does not in time)."""
        if not self.reached(projection, self.head_of(projection.application.name)):
            raise ReadModelBehind(f"read model {projection.name!r} is catching up; "
                                  "retry shortly")
        return self.system.read_models.of(projection)

    def for_request(self, request: Request, *projections: type[BatchProjection]) -> None:
        """Wait until the projections hold what the request must see: its X-Min-Position,
        else (unless it asks for eventual consistency) every event stored before it
        began (ReadModelBehind if one does not in time)."""
        wanted = request_positions(request, self)
        for projection in projections:
            if self.holds_the_head(request, projection):
                continue
            if not self.reached(projection, wanted(projection.application.name)):
                raise behind(f"read model {projection.name!r}")

    def holds_the_head(self, request: Request, projection: type[BatchProjection]
                       ) -> bool:
        """Whether the read model holds every event its application stored so far, when
        that is what the request must read and it has not asked yet: the head and the
        read model's position in one round trip (the usual case: it does). The head is
        kept for the request's other reads."""
        heads, name = request_heads(request), projection.application.name
        if heads is None or name in heads:
            return False
        events_table = self._application(name).recorder.events_table_name
        head, position = self.system.read_models.of(projection).head_and_position(
            name, events_table)
        heads[name] = head
        return head is None or (position is not None and position >= head)

    def head_of(self, application_name: str) -> int | None:
        """The position of the application's last stored event (None: none yet)."""
        return self._application(application_name).recorder.max_notification_id()

    def _application(self, name: str) -> Any:
        return next(application for application in self.system.applications()
                    if application.name == name)


Waits = Annotated[ReadModelWaits, Depends(part_of_system(ReadModelWaits))]


def request_positions(request: Request, waits: ReadModelWaits
                      ) -> Callable[[str], int | None]:
    """What a request must read of each application: the position its X-Min-Position
    names (nothing of other applications), nothing with `X-Consistency: eventual`, else
    the application's head when the request first asked (kept for the request's other
    reads, so that one request reads one moment)."""
    token = request.headers.get(MIN_POSITION_HEADER)
    if token:
        wanted_app, position = parse_position(token)
        return lambda name: position if name == wanted_app else None
    heads = request_heads(request)
    if heads is None:
        return lambda name: None

    def head(name: str) -> int | None:
        if name not in heads:
            heads[name] = waits.head_of(name)
        return heads[name]

    return head


def request_heads(request: Request) -> dict[str, int | None] | None:
    """The applications' heads the request must read, as far as it asked (None: it
    names a position, or asks for eventual consistency)."""
    if MIN_POSITION_HEADER in request.headers or eventual(request):
        return None
    # The request's state as a dict: a missing attribute of request.state costs an
    # exception, on every request's first read.
    state = request.scope.setdefault("state", {})
    heads: dict[str, int | None] | None = state.get("read_heads")
    if heads is None:
        heads = {}
        if request.scope["type"] == "http":  # a socket's reads each begin anew
            state["read_heads"] = heads
    return heads


def behind(what: str) -> ReadModelBehind:
    """The 503 of a read that waited in vain for what it must see."""
    return ReadModelBehind(f"{what} has not caught up with the writes this request must "
                           f"see yet; retry shortly, or send '{CONSISTENCY_HEADER}: "
                           "eventual'")


def eventual(request: Request) -> bool:
    """The client prefers speed to reading every earlier write."""
    value = request.headers.get(CONSISTENCY_HEADER, STRONG).strip().lower()
    if value not in (STRONG, EVENTUAL):
        raise Invalid(f"{CONSISTENCY_HEADER} must be '{STRONG}' (the default: read every "
                      f"earlier write) or '{EVENTUAL}' (read at once)",
                      field=CONSISTENCY_HEADER)
    return value == EVENTUAL


def caught_up(*projections: type[BatchProjection]) -> Callable[..., ReadModel]:
    """A dependency: the (last) projection's read model, once every one holds what the
    request must read (ReadModelWaits.for_request)."""

    def dependency(request: Request, waits: Waits) -> ReadModel:
        waits.for_request(request, *projections)
        return waits.system.read_models.of(projections[-1])

    return dependency


def caught_up_when_read(projection: type[BatchProjection]
                        ) -> Callable[..., Awaitable[ReadModel]]:
    """A dependency: the projection's read model, whose caller's first query (in the
    route's worker thread) first waits, as `caught_up`, until it holds what the request
    must read. Waiting here, in a worker thread of its own, would cost every read a hop
    to one more thread."""

    async def dependency(request: Request, waits: Waits) -> ReadModel:
        check_before_connecting(partial(waits.for_request, request, projection))
        return waits.system.read_models.of(projection)

    return dependency


MemoryItems = Annotated[MemoryItemsView,
                        Depends(caught_up_when_read(MemoryItemsProjection))]
Contexts = Annotated[ContextsView, Depends(caught_up_when_read(ContextsProjection))]
Users = Annotated[UsersView, Depends(caught_up_when_read(UsersProjection))]
ApiKeys = Annotated[ApiKeysView, Depends(caught_up_when_read(ApiKeysProjection))]
ChatSessions = Annotated[ChatSessionsView,
                         Depends(caught_up_when_read(ChatSessionsProjection))]
SessionMessages = Annotated[SessionMessagesView,
                            Depends(caught_up_when_read(SessionMessagesProjection))]
Files = Annotated[FilesView, Depends(caught_up_when_read(FilesProjection))]
LedgerObjects = Annotated[LedgerObjectsView,
                          Depends(caught_up_when_read(LedgerObjectsProjection))]
Components = Annotated[ComponentsView, Depends(caught_up_when_read(ComponentsProjection))]
AgentInvocations = Annotated[AgentInvocationsView,
                             Depends(caught_up_when_read(AgentInvocationsProjection))]


def activity_figures(waits: Waits) -> ActivityFigures:
    """Every activity read model, once each holds every event stored before the request
    (they follow five applications: a position names only one). Called by the route
    itself, so a bad parameter is a 400 even while a read model is behind."""
    for projection in ACTIVITY_PROJECTIONS:
        waits.at_head(projection)
    return waits.system.read_models.activity()

