"""Every read model a process queries, one typed attribute per projection."""

from dataclasses import dataclass, fields

from arqium.projections.activity import ActivityView
from arqium.projections.activity_figures import ActivityFigures
from arqium.projections.agent_invocations import AgentInvocationsView
from arqium.projections.api_keys import ApiKeysView
from arqium.projections.base import BatchProjection, ReadModel, open_view
from arqium.projections.catalog import PROJECTIONS
from arqium.projections.chat_sessions import ChatSessionsView
from arqium.projections.components import ComponentsView
from arqium.projections.contexts import ContextsView
from arqium.projections.document_chunk_embeddings import DocumentChunkEmbeddingsView
from arqium.projections.document_chunks import DocumentChunksView
from arqium.projections.files import FilesView
from arqium.projections.ledger_objects import LedgerObjectsView
from arqium.projections.login_sessions import LoginSessionsView
from arqium.projections.memory_embeddings import MemoryEmbeddingsView
from arqium.projections.memory_items import MemoryItemsView
from arqium.projections.platform_config import PlatformConfigView
from arqium.projections.platform_modules import PlatformModulesView
from arqium.projections.session_messages import SessionMessagesView
from arqium.projections.users import UsersView
from arqium.projections.vaults import VaultsView


@dataclass(frozen=True)
class ReadModels:
    """Named after the projections that write them (a missing or unknown one fails at
    start-up)."""

    memory_items: MemoryItemsView
    memory_embeddings: MemoryEmbeddingsView
    contexts: ContextsView
    users: UsersView
    login_sessions: LoginSessionsView
    api_keys: ApiKeysView
    chat_sessions: ChatSessionsView
    session_messages: SessionMessagesView
    ledger_objects: LedgerObjectsView
    vaults: VaultsView
    identity_activity: ActivityView
    memory_activity: ActivityView
    ledger_activity: ActivityView
    sessions_activity: ActivityView
    tracked_events: ActivityView
    platform_activity: ActivityView
    usage: ActivityView
    platform_config: PlatformConfigView
    platform_modules: PlatformModulesView
    files: FilesView
    components: ComponentsView
    document_chunks: DocumentChunksView
    document_chunk_embeddings: DocumentChunkEmbeddingsView
    agent_invocations: AgentInvocationsView

    def of(self, projection: type[BatchProjection]) -> ReadModel:
        """The read model `projection` writes."""
        return getattr(self, projection.name)

    def activity(self) -> ActivityFigures:
        """The activity read models, read as one."""
        return ActivityFigures((self.identity_activity, self.memory_activity,
                                self.ledger_activity, self.sessions_activity,
                                self.tracked_events, self.platform_activity,
                                self.usage))

    def by_name(self) -> dict[str, ReadModel]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def open_read_models(env: dict[str, str]) -> ReadModels:
    """Every read model, on the env's connection pool."""
    return ReadModels(**{projection.name: open_view(projection, env)
                         for projection in PROJECTIONS})
