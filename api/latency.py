"""Response times kept in process: the memory endpoints' for the metrics endpoint, every
request's over the last minute for the Admin API's status."""

import threading
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from arqium.api.middleware import HttpMiddleware

SAMPLES = 10_000
MEASURED_PREFIXES = ("/api/memory", "/api/v1/memory")
RECENT_SECONDS = 60.0


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


class RecentResponseTimes:
    """Every response time of the last minute, and their running sum: the mean costs
    nothing however many requests were answered."""

    def __init__(self, window_seconds: float = RECENT_SECONDS,
                 monotonic=time.monotonic):
        self.window_seconds, self.monotonic = window_seconds, monotonic
        self._samples: deque[tuple[float, float]] = deque()
        self._sum = 0.0
        self._lock = threading.Lock()

    def add(self, milliseconds: float) -> None:
        with self._lock:
            self._samples.append((self.monotonic(), milliseconds))
            self._sum += milliseconds
            self._forget_old()

    def mean(self) -> float:
        """The mean response time of the last minute, in milliseconds (0 without any)."""
        with self._lock:
            self._forget_old()
            return self._sum / len(self._samples) if self._samples else 0.0

    def _forget_old(self) -> None:
        oldest = self.monotonic() - self.window_seconds
        while self._samples and self._samples[0][0] < oldest:
            self._sum -= self._samples.popleft()[1]
        if not self._samples:
            self._sum = 0.0  # no rounding drift left over


class ResponseTimesMiddleware(HttpMiddleware):
    """Times every HTTP request, to the end of its response."""

    def __init__(self, app: ASGIApp, recent: RecentResponseTimes):
        super().__init__(app)
        self.recent = recent

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.recent.add((time.perf_counter() - started) * 1000)
