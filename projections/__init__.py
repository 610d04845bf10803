"""Read models, each in one module with its projection, view and SQL."""

from infra.settings import Settings
from projections.api_keys import ApiKeysProjection
from projections.chat_sessions import ChatSessionsProjection
from projections.contexts import ContextsProjection
from projections.ledger_objects import LedgerObjectsProjection
from projections.login_sessions import LoginSessionsProjection
from projections.memory_embeddings import MemoryEmbeddingsProjection
from projections.memory_items import MemoryItemsProjection
from projections.session_messages import SessionMessagesProjection
from projections.users import UsersProjection
from projections.vaults import VaultsProjection

PROJECTIONS = (MemoryItemsProjection, MemoryEmbeddingsProjection, ContextsProjection,
               UsersProjection, LoginSessionsProjection, ApiKeysProjection,
               ChatSessionsProjection, SessionMessagesProjection, LedgerObjectsProjection,
               VaultsProjection)


def active_projections(settings: Settings) -> tuple[type, ...]:
    """The projections workers run: PROJECTIONS, and the Elasticsearch memory search
    when a cluster is configured (only then is its client imported)."""
    if not settings.elasticsearch_url:
        return PROJECTIONS
    from projections.memory_search_es import projection_for
    return (*PROJECTIONS, projection_for(settings))


def projection_named(name: str) -> type:
    for projection in PROJECTIONS:
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in PROJECTIONS)
    raise SystemExit(f"unknown projection {name!r}; known projections: {known}")
