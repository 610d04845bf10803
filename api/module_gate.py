"""A disabled or uninstalled module's routes answer 503 in their face's error shape,
saying how to turn the module on; its WebSockets open and close at once with 1013 (try
again later) and the same words. The states come from the process's CachedModules: a
clock reading per request, the read model at most once a second. Health checks are not
gated: they report on the process, which probes restart when it fails them."""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from arqium.api.common.shapes import ARQIUM
from arqium.api.errors import error_response
from arqium.system.modules import CachedModules, ModuleState

TRY_AGAIN_LATER = 1013
RETRY_AFTER = {"Retry-After": "1"}  # a module may be switched on at any moment
MAX_REASON_BYTES = 123  # what a close frame's reason holds

GRAPHQL = "/graphql"
HEALTH_CHECKS = {"/health", "/v0/health", "/ping"}
ASTRALBODY_PATHS = ("/auth", "/sessions", "/components", "/user")
ASTRALBODY_FILES = ("/upload", "/download", "/files")
Gates = tuple[tuple[str, tuple[str, ...]], ...]
# Each path prefix and the modules its routes need.
HTTP_GATES: Gates = (
    (GRAPHQL, ("graphql",)),
    ("/api/v1/analytics", ("analytics",)),
    ("/api/chat", ("cerebro", "chat")),
    ("/api/history", ("cerebro", "chat")),
    ("/api/memory/rag", ("cerebro", "rag")),  # before /api/memory: the first match counts
    ("/api/files", ("cerebro", "files")),
    *((prefix, ("cerebro",)) for prefix in ("/api/memory", "/api/ledger")),
    ("/v0", ("memory-service-v0",)),
    *((prefix, ("astralbody", "files")) for prefix in ASTRALBODY_FILES),
    ("/agents", ("astralbody", "agents")),
    *((prefix, ("astralbody",)) for prefix in ASTRALBODY_PATHS),
)
SOCKET_GATES: Gates = (
    ("/ws/sync", ("realtime-sync",)),
    (GRAPHQL, ("graphql", "realtime-sync")),  # GraphQL subscriptions
)


def modules_for(path: str, gates: Gates) -> tuple[str, ...]:
    for prefix, modules in gates:
        if path == prefix or path.startswith(prefix + "/"):
            return modules
    return ()


def unavailable(scope: Scope, reason: str, module_id: str) -> Response:
    """The 503 in the shape of the face: GraphQL answers GraphQL errors, the others
    their seed's error body."""
    path = scope["path"]
    if not (path == GRAPHQL or path.startswith(GRAPHQL + "/")):
        return error_response(Request(scope), 503, "unavailable", reason,
                              {"module": module_id}, headers=RETRY_AFTER)
    return JSONResponse({"data": None, "errors": [{"message": reason, "extensions": {
        "code": ARQIUM.codes["unavailable"], "module": module_id}}]}, status_code=503,
        headers=RETRY_AFTER)


class ModuleGate:
    """Answers a request for a switched-off module's route itself (pure ASGI)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gates = {"http": HTTP_GATES, "websocket": SOCKET_GATES}.get(scope["type"])
        needed = (modules_for(scope["path"], gates)
                  if gates and scope["path"] not in HEALTH_CHECKS else ())
        off = await self._off(scope, needed) if needed else None
        if off is None:
            await self.app(scope, receive, send)
            return
        reason = off.why_off() or ""
        if scope["type"] == "http":
            await unavailable(scope, reason, off.module.id)(scope, receive, send)
        else:
            await receive()  # websocket.connect
            # With the client's protocol: a browser drops a socket accepted without
            # it, before the close's reason could say which module to enable.
            protocols = scope.get("subprotocols") or [None]
            await send({"type": "websocket.accept", "subprotocol": protocols[0]})
            await send({"type": "websocket.close", "code": TRY_AGAIN_LATER,
                        "reason": reason.encode()[:MAX_REASON_BYTES].decode(
                            errors="ignore")})

    @staticmethod
    async def _off(scope: Scope, needed: tuple[str, ...]) -> ModuleState | None:
        """The first needed module an admin turned off, if any."""
        modules: CachedModules | None = getattr(
            getattr(scope["app"].state, "system", None), "modules", None)
        if modules is None:  # not started yet
            return None
        if modules.stale():  # a query, at most once a second: off the event loop
            states = await asyncio.to_thread(modules.states)
        else:  # not modules.states(): it could turn stale meanwhile and query here
            states = modules.last_read()
        # None known (the database out of reach since the start): the route answers.
        return next((states[module_id] for module_id in needed
                     if module_id in states and states[module_id].why_off()), None)
