"""Response times of the memory endpoints, kept in process for the metrics endpoint."""

import threading
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from arqium.api.middleware import HttpMiddleware

SAMPLES = 10_000
MEASURED_PREFIXES = ("/api/memory", "/api/v1/memory")


class LatencySamples:
    def __init__(self, size: int = SAMPLES):
        self._samples: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, milliseconds: float) -> None:
        with self._lock:
            self._samples.append(milliseconds)

    def percentile(self, fraction: float) -> float | None:
        with self._lock:
            ordered = sorted(self._samples)
        if not ordered:
            return None
        return round(ordered[min(int(fraction * len(ordered)), len(ordered) - 1)], 2)


class LatencyMiddleware(HttpMiddleware):
    def __init__(self, app: ASGIApp, samples: LatencySamples):
        super().__init__(app)
        self.samples = samples

    def applies_to(self, scope: Scope) -> bool:
        return scope["path"].startswith(MEASURED_PREFIXES)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.samples.add((time.perf_counter() - started) * 1000)
