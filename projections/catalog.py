"""Every projection the workers run (importing this imports every read model module)."""

from arqium.infra.settings import Settings
from arqium.projections.activity import ACTIVITY_PROJECTIONS
from arqium.projections.agent_invocations import AgentInvocationsProjection
from arqium.projections.api_keys import ApiKeysProjection
from arqium.projections.chat_sessions import ChatSessionsProjection
from arqium.projections.components import ComponentsProjection
from arqium.projections.contexts import ContextsProjection
from arqium.projections.document_chunk_embeddings import DocumentChunkEmbeddingsProjection
from arqium.projections.document_chunks import DocumentChunksProjection
from arqium.projections.files import FilesProjection
from arqium.projections.ledger_objects import LedgerObjectsProjection
from arqium.projections.login_sessions import LoginSessionsProjection
from arqium.projections.memory_embeddings import MemoryEmbeddingsProjection
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.platform_config import PlatformConfigProjection
from arqium.projections.platform_modules import PlatformModulesProjection
from arqium.projections.session_messages import SessionMessagesProjection
from arqium.projections.users import UsersProjection
from arqium.projections.vaults import VaultsProjection

PROJECTIONS = (MemoryItemsProjection, MemoryEmbeddingsProjection, ContextsProjection,
               UsersProjection, LoginSessionsProjection, ApiKeysProjection,
               ChatSessionsProjection, SessionMessagesProjection, LedgerObjectsProjection,
               VaultsProjection, PlatformConfigProjection, PlatformModulesProjection,
               FilesProjection, ComponentsProjection, DocumentChunksProjection,
               DocumentChunkEmbeddingsProjection, AgentInvocationsProjection,
               *ACTIVITY_PROJECTIONS)


def active_projections(settings: Settings) -> tuple[type, ...]:
    """The projections workers run: PROJECTIONS, and the Elasticsearch memory search
    when a cluster is configured (only then is its client imported)."""
    if not settings.elasticsearch_url:
        return PROJECTIONS
    from arqium.projections.memory_search_es import projection_for
    return (*PROJECTIONS, projection_for(settings))
