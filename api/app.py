"""The FastAPI application: every face mounted on one core, built in the lifespan."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from arqium.api.admin import activity as admin_activity
from arqium.api.admin import auth as admin_auth
from arqium.api.admin import config as admin_config
from arqium.api.admin import status as admin_status
from arqium.api.admin import ws as admin_ws
from arqium.api.admin import modules as admin_modules
from arqium.api.astralbody import profile as astralbody
from arqium.api.cerebro import chat as cerebro_chat
from arqium.api.cerebro import files as cerebro_files
from arqium.api.cerebro import ledger as cerebro_ledger
from arqium.api.cerebro import memory as cerebro_memory
from arqium.api.cerebro import rag as cerebro_rag
from arqium.api.common.console import Console
from arqium.api.common.health import VERSION
from arqium.api.common.pushes import PushContents
from arqium.api.common.socket_credentials import SocketCredentials
from arqium.api.common.sync_hub import SyncHub
from arqium.api.common.system_status import StatusReport
from arqium.api.cors import allow_browsers
from arqium.api.errors import DatabaseErrorsMiddleware, install_error_handlers
from arqium.api.graphql import graphql_router
from arqium.api.idempotency import IdempotencyMiddleware
from arqium.api.input_limits import InputLimitsMiddleware
from arqium.api.latency import (
    LatencyMiddleware,
    LatencySamples,
    RecentResponseTimes,
    ResponseTimesMiddleware,
)
from arqium.api.memory_v0 import entries as memory_v0_entries
from arqium.api.memory_v0.current import contexts as current_contexts
from arqium.api.memory_v0.current import entries as current_entries
from arqium.api.memory_v0.current import vaults as current_vaults
from arqium.api.memory_v0.current.auth import BearerKeyMiddleware
from arqium.api.memory_v0 import vaults as memory_v0_vaults
from arqium.api.module_gate import ModuleGate
from arqium.api.openapi import truthful_openapi
from arqium.api.ratelimit import RateLimitHeadersMiddleware, RateLimits, limited
from arqium.api.requestinfo import RequestIdMiddleware
from arqium.api.usage import UsageMiddleware, flushing
from arqium.api.v1 import (
    analytics,
    api_keys,
    auth,
    chat_sessions,
    contexts,
    health,
    ledger,
    memory,
    plugins,
    sync,
    users,
)
from arqium.infra.heap import start_up_objects_frozen
from arqium.infra.idempotency import IdempotencyStore
from arqium.infra.lifeline import end_with_parent
from arqium.infra.settings import Settings
from arqium.system.bootstrap import System, ensure_admin, open_system
from arqium.system.usage import UsageCounter

DOCS_ASSETS = "/docs-assets"

DESCRIPTION = """Event-sourced backend for AI applications. One core, five faces:
ARQIUM (`/api/v1`), CEREBRO (`/api/memory`, `/ping`), Memory Service v0 (`/v0`),
Admin API (`/api/auth`, ...) and AstralBody (`/health`, ...). Command responses carry
`X-Event-Position`; send it back as `X-Min-Position` on a query to read your own write.
Credentials: `Authorization: Bearer <access token>` or `X-API-Key`; CEREBRO's routes also
take NextAuth's session cookie (`next-auth.session-token`), as seed 001's clients send it."""


def create_app(settings: Settings, open_system: Callable[[Settings], System] = open_system
               ) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.system = open_system(settings)
        app.state.system.credentials.start(settings.database_url or "")
        app.state.rate_limits = RateLimits(settings)
        app.state.idempotency = IdempotencyStore(
            app.state.system.memory.recorder.datastore.get_connection,
            app.state.system.master_key, settings.idempotency_lease_seconds)
        ensure_admin(app.state.system)
        # Before the server reports it started: the first search must not load the model.
        await asyncio.to_thread(app.state.system.query_embeddings.load_model)
        app.state.socket_credentials = SocketCredentials(
            app.state.system.read_models, app.state.system.clock,
            settings.socket_credential_check_seconds)
        app.state.socket_credentials.start()
        # The heads the read models must reach to be initialized: those of this start.
        app.state.status_report = await asyncio.to_thread(
            StatusReport, app.state.system, app.state.response_times)
        app.state.console = Console(app.state.system, app.state.status_report,
                                    settings.read_wait_seconds)
        app.state.sync_hub = await start_sync_hub(settings, app.state.system,
                                                  app.state.socket_credentials,
                                                  app.state.console)
        app.state.usage = UsageCounter(app.state.system.analytics, app.state.system.clock,
                                       settings.usage_max_pending_hours)
        try:
            with start_up_objects_frozen():
                async with flushing(app.state.usage, settings.usage_flush_seconds):
                    yield
        finally:
            await app.state.sync_hub.stop()
            await app.state.console.stop()
            await app.state.socket_credentials.stop()
            app.state.system.close()

    # /docs and /redoc with Swagger UI and ReDoc served from the package, not a CDN
    app = FastAPIOffline(title="ARQIUM", version=VERSION, description=DESCRIPTION,
                         lifespan=lifespan, static_url=DOCS_ASSETS)
    install_error_handlers(app)
    per_user = [Depends(limited("arqium_user", "arqium_api_key"))]
    for router in (auth.router, users.router, api_keys.router, memory.router,
                   contexts.router, chat_sessions.router, ledger.router, admin_auth.router,
                   analytics.router, admin_activity.router, admin_config.router,
                   admin_modules.router, plugins.router, admin_status.router):
        app.include_router(router, dependencies=per_user)
    # Seed 002 states no limit for /v0: ARQIUM's per-user and per-key ones, its own count.
    per_v0_user = [Depends(limited("v0_user", "v0_api_key"))]
    for router in (memory_v0_vaults.router, memory_v0_entries.router,
                   current_vaults.router, current_entries.router, current_contexts.router):
        app.include_router(router, dependencies=per_v0_user)
    for router in (health.router, cerebro_memory.router, cerebro_chat.router,
                   cerebro_ledger.router, cerebro_files.router, cerebro_rag.router,
                   memory_v0_vaults.health_router, astralbody.router,
                   sync.router, admin_ws.router):
        app.include_router(router)  # these faces limit route by route, as their seeds say
    # Counted per request in its context; its limits are the graphql module's settings.
    app.include_router(graphql_router(settings, lambda: graphql_settings(app)))
    app.openapi = truthful_openapi(app)
    app.state.latency = LatencySamples()
    app.add_middleware(LatencyMiddleware, samples=app.state.latency)
    app.state.response_times = RecentResponseTimes()
    app.add_middleware(ResponseTimesMiddleware, recent=app.state.response_times)
    # Inside the Idempotency-Key middleware (a key's retry is answered as the first
    # time, even by a module switched off since) and inside the request ids, so its
    # 503s carry them.
    app.add_middleware(ModuleGate)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(DatabaseErrorsMiddleware)
    # Outside the Idempotency-Key middleware: it reads whole bodies, so the size limit
    # must apply before it does.
    app.add_middleware(InputLimitsMiddleware, max_bytes=settings.max_body_bytes,
                       max_depth=settings.max_json_depth)
    # Outside the input limits: the current v0 dialect refuses a missing or unknown
    # bearer key before anything reads the body.
    app.add_middleware(BearerKeyMiddleware)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(UsageMiddleware)  # sees the caller every inner step identified
    app.add_middleware(RequestIdMiddleware)
    # Outside the rate limits and credentials: a preflight carries neither.
    allow_browsers(app, settings.cors_origins)
    # Outermost: every part of the app sees the client a trusted proxy names.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app


def graphql_settings(app: FastAPI) -> dict:
    """The graphql module's settings in force (none before the app started)."""
    system = getattr(app.state, "system", None)
    return system.modules.state_of("graphql").settings if system else {}


async def start_sync_hub(settings: Settings, system: System,
                         credentials: SocketCredentials, console: Console) -> SyncHub:
    """The stream subscription behind /ws/sync and GraphQL subscriptions; without NATS
    the API still serves the rest (health reports NATS down), sockets are told their
    updates are delayed, and the hub connects once NATS answers."""
    contents = PushContents(system.read_models.memory_items, system.read_models.contexts,
                            system.clock, settings.read_wait_seconds)
    hub = SyncHub(settings.nats_url, settings.nats_stream, contents, credentials,
                  settings.nats_creds, console)
    if settings.nats_url:
        await hub.start()
    return hub


def app_from_environment() -> FastAPI:
    """The app of one of several API processes (`ARQIUM_API_PROCESSES`), configured from
    the environment its parent exported. It ends with that parent."""
    end_with_parent()
    return create_app(Settings())
