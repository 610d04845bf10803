"""The composition root: applications, read models and services built from Settings."""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from arqium.domain.agents.application import AgentsApplication
from arqium.domain.analytics.application import AnalyticsApplication
from arqium.domain.components.application import ComponentsApplication
from arqium.domain.files.application import FilesApplication
from arqium.domain.identity.application import IdentityApplication
from arqium.domain.identity.domainmodel import EmailAlreadyRegistered
from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication
from arqium.domain.platform.application import PlatformApplication
from arqium.domain.platform.domainmodel import default_config
from arqium.domain.sessions.application import SessionsApplication
from arqium.domain.shared import Cause, Clock, system_clock
from arqium.infra.blobs import BlobStore, open_blobs
from arqium.infra.embeddings import EmbeddingModel
from arqium.infra.eventstore import open_pool, shared_env
from arqium.infra.idempotency import IdempotencyStore
from arqium.infra.keys import MasterKey, OwnerKeys, lazy_master_key
from arqium.infra.llm import ModelProbe
from arqium.infra.nextauth import NextAuthSessions
from arqium.infra.notified_cache import NotifiedCache
from arqium.infra.oidc import OidcVerifier
from arqium.infra.query_embeddings import QueryEmbeddings
from arqium.infra.security import PasswordHashing, TokenService, new_secret
from arqium.infra.settings import Settings
from arqium.infra.worker_failures import WorkerFailures
from arqium.projections.api_keys import CREDENTIALS_ENDED
from arqium.projections.base import ReadModel, open_view
from arqium.projections.document_search import DocumentSearch
from arqium.projections.memory_search import MemorySearch, PostgresMemorySearch
from arqium.system.configuration import CurrentConfig
from arqium.system.knowledge_base import KnowledgeBase
from arqium.system.modules import (
    ELASTICSEARCH_MODULE,
    CachedModules,
    configured_requirements,
    module_defaults,
)
from arqium.system.read_models import ReadModels, open_read_models

log = logging.getLogger(__name__)
APPLICATIONS = (IdentityApplication, MemoryApplication, SessionsApplication,
                LedgerApplication, AnalyticsApplication, PlatformApplication,
                FilesApplication, ComponentsApplication, AgentsApplication)
RELAY_NAME = "nats_relay"
MIGRATION_LOCK = 73000
STARTUP_CONNECT_SECONDS = 10.0  # how long a starting process waits for its first connections
ADMIN_BOOTSTRAP = Cause(actor="system:admin-bootstrap")


@dataclass
class System:
    settings: Settings
    clock: Clock
    env: dict[str, str]
    identity: IdentityApplication
    memory: MemoryApplication
    sessions: SessionsApplication
    ledger: LedgerApplication
    analytics: AnalyticsApplication
    tokens: TokenService
    read_models: ReadModels
    pool: Any  # the process's one connection pool: every application and read model's
    relay_tracking: Any = None
    oidc: OidcVerifier | None = None
    query_embeddings: QueryEmbeddings | None = None
    memory_search: MemorySearch | None = None  # in Elasticsearch when configured
    worker_failures: WorkerFailures | None = None  # failing workers, skipped events
    master_key: Callable[[], MasterKey] | None = None  # wraps data keys, seals responses
    nextauth: NextAuthSessions | None = None  # CEREBRO's session cookies, if configured
    platform: PlatformApplication | None = None  # configuration (and profiles)
    config: CurrentConfig | None = None  # the configuration in force
    modules: CachedModules | None = None  # the modules' states in force
    files: FilesApplication | None = None  # uploaded files (their bytes: `blobs`)
    blobs: BlobStore | None = None
    components: ComponentsApplication | None = None  # saved components (AstralBody)
    knowledge_base: KnowledgeBase | None = None  # the callers' documents (CEREBRO's RAG)
    agents: AgentsApplication | None = None  # agent invocations (AstralBody)
    model_probe: ModelProbe = field(default_factory=ModelProbe)  # is the model up?
    # Active API keys and login sessions as verified, kept until one ends (the API
    # starts it; elsewhere every verification queries).
    credentials: NotifiedCache = field(
        default_factory=lambda: NotifiedCache(CREDENTIALS_ENDED))

    @property
    def views(self) -> dict[str, ReadModel]:
        """Every read model by its projection's name (for those that go through all)."""
        return self.read_models.by_name()

    def applications(self) -> list:
        return [self.identity, self.memory, self.sessions, self.ledger, self.analytics,
                self.platform, self.files, self.components, self.agents]

    def close(self) -> None:
        for app in self.applications():
            app.close()
        if self.memory_search is not None:
            self.memory_search.close()  # e.g. its Elasticsearch client
        self.credentials.close()
        self.pool.close()


def open_system(settings: Settings, clock: Clock = system_clock,
                create_tables: bool = False) -> System:
    pool = open_pool(settings)
    # A request waits ARQIUM_DB_POOL_TIMEOUT_SECONDS for a connection; the first ones,
    # to a database just started or created (its caches cold), may take longer.
    pool.pool.open(wait=True, timeout=max(STARTUP_CONNECT_SECONDS,
                                          settings.db_pool_timeout_seconds))
    env = shared_env(settings, pool, create_tables)
    passwords = PasswordHashing(settings.password_hash_time_cost,
                                settings.password_hash_memory_kib)
    identity = IdentityApplication(env, clock=clock, passwords=passwords)
    memory = MemoryApplication(env, clock=clock, default_ttls={
        "context": settings.context_ttl_minutes,
        "temporary": settings.temporary_ttl_minutes},
        promotion_threshold=settings.promotion_threshold)
    sessions = SessionsApplication(env, clock=clock)
    ledger = LedgerApplication(env, clock=clock)
    master = master_key(settings)
    identity.keys = memory.keys = OwnerKeys(identity.recorder.datastore.get_connection,
                                            master)
    if create_tables:
        identity.keys.create_table()
        identity.keys.wrap_raw_keys()
        IdempotencyStore(identity.recorder.datastore.get_connection, master).create_table()
    query_embeddings = QueryEmbeddings(identity.recorder.datastore.get_connection,
                                       EmbeddingModel.of(settings))
    worker_failures = WorkerFailures(identity.recorder.datastore.get_connection)
    if create_tables:
        query_embeddings.create_table()
        worker_failures.create_tables()
    tokens = TokenService(
        secret=jwt_secret(settings), issuer=settings.jwt_issuer,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(hours=settings.refresh_token_hours),
        remember_me_ttl=timedelta(days=settings.remember_me_days), clock=clock)
    oidc = None
    if settings.oidc_issuer and settings.oidc_jwks_url:
        oidc = OidcVerifier(settings.oidc_issuer, settings.oidc_jwks_url,
                            settings.oidc_audience, clock)
    nextauth = None
    if settings.nextauth_secret:
        nextauth = NextAuthSessions(settings.nextauth_secret.get_secret_value(), clock)
    read_models = open_read_models(env)
    read_models.memory_items.keys = identity.keys  # opens sealed content for its owner
    configured = configured_requirements(settings)
    platform = PlatformApplication(env, clock=clock, configured=configured)
    modules = CachedModules(read_models.platform_modules, configured,
                            module_defaults(settings))
    config = CurrentConfig(platform, read_models.platform_config,
                           default_config(settings.password_min_length),
                           settings.read_wait_seconds)
    identity.security_policy = config.security_policy
    memory_search = open_memory_search(settings, env, read_models, query_embeddings,
                                       modules)
    analytics = AnalyticsApplication(env, clock=clock)
    return System(settings, clock, env, identity, memory, sessions, ledger, analytics,
                  tokens, read_models, pool,
                  open_relay_tracking(env), oidc, query_embeddings, memory_search,
                  worker_failures, master, nextauth, platform, config, modules,
                  FilesApplication(env, clock=clock), open_blobs(settings),
                  ComponentsApplication(env, clock=clock),
                  open_knowledge_base(settings, read_models, query_embeddings),
                  AgentsApplication(env, clock=clock))


def open_knowledge_base(settings: Settings, read_models: ReadModels,
                        query_embeddings: QueryEmbeddings) -> KnowledgeBase:
    search = DocumentSearch(read_models.document_chunks,
                            read_models.document_chunk_embeddings,
                            settings.rag_timeout_seconds)
    return KnowledgeBase(search, query_embeddings.vector, settings)


def master_key(settings: Settings) -> Callable[[], MasterKey]:
    """The master key every process loads the same way (see infra/keys.py)."""
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    return lazy_master_key(secret, settings.master_key_file, settings.data_dir)


def open_memory_search(settings: Settings, env: dict[str, str],
                       read_models: ReadModels, query_embeddings: QueryEmbeddings,
                       modules: CachedModules) -> MemorySearch:
    """The memory search every face uses: in Elasticsearch when a cluster is configured
    (its index is created by the indexer's worker, which starts once the cluster is up)
    and the elasticsearch-search module is on, else in PostgreSQL."""
    postgres = PostgresMemorySearch(read_models.memory_items, read_models.memory_embeddings,
                                    query_embeddings.vector)
    if not settings.elasticsearch_url:
        return postgres
    # Imported here: without a cluster the Elasticsearch client is never loaded.
    from arqium.projections.memory_search_es import (
        ElasticsearchMemorySearch,
        EsMemorySearchProjection,
        open_client,
    )

    view = open_view(EsMemorySearchProjection, env)
    view.connect(open_client(settings.elasticsearch_url), settings.elasticsearch_index)
    return ElasticsearchMemorySearch(view, postgres,
                                     lambda: modules.is_on(ELASTICSEARCH_MODULE))


def open_relay_tracking(env: dict[str, str]) -> Any:
    """Where the NATS relay records, per application, the last position JetStream acked."""
    factory = InfrastructureFactory.construct(env=Environment(RELAY_NAME, env))
    return factory.tracking_recorder()


def jwt_secret(settings: Settings) -> str:
    """The configured secret, or (local only) one kept in the data directory."""
    if settings.jwt_secret:
        return settings.jwt_secret.get_secret_value()
    path = Path(settings.data_dir) / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".jwt_secret.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(new_secret())
        try:
            os.link(draft, path)  # atomic: a concurrent process's secret wins, once
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def migrate(settings: Settings) -> None:
    """Create the extensions, the event store and every read model's tables; one
    process at a time."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        for extension in ("vector", "pg_trgm", "btree_gin"):
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        system = open_system(settings, create_tables=True)
        try:
            warn_of_opened_secrets(system)
        finally:
            system.close()


def warn_of_opened_secrets(system: System) -> None:
    """Say so when read models an earlier version wrote hold sensitive plaintext."""
    opened = system.read_models.memory_items.opened_sensitive()
    if opened:
        log.warning("%d secret or pii memories are held in clear by read models an "
                    "earlier version wrote: run `arqium projections rebuild memory_items` "
                    "and `arqium projections rebuild memory_embeddings` (and the "
                    "Elasticsearch index, if any: `memory_search_es`)", opened)


def ensure_admin(system: System) -> None:
    """Make ARQIUM_ADMIN_EMAIL an admin (registering it with ARQIUM_ADMIN_PASSWORD)."""
    settings = system.settings
    if settings.admin_email and settings.admin_password:
        make_admin(system, settings.admin_email, settings.admin_password.get_secret_value(),
                   cause=ADMIN_BOOTSTRAP)


def make_admin(system: System, email: str, password: str, name: str = "Administrator",
               *, cause: Cause) -> None:
    try:
        system.identity.register(email, name, password, roles=("user", "admin"),
                                 cause=cause)
    except EmailAlreadyRegistered:
        system.identity.grant_role(email, "admin", cause=cause)
