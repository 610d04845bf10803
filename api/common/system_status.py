"""Seed 003's SystemStatus, as this API process sees the system: whether the read models
are initialized, how many modules run, and this process's own load.

`initialization` compares each projection with a goal: the head of its application when
this process started, raised to the highest position this process has seen the
projection reach. A projection behind its goal is catching up (a read model reset by
hand is noticed so: behind a head it had once reached); one that
`arqium projections rebuild` replays beside the live one counts as catching up from the
first event to the head. Normal lag behind new writes is not initialization."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psutil

from arqium.api.common.shapes import iso
from arqium.api.latency import RecentResponseTimes
from arqium.system.bootstrap import System
from arqium.system.status import projection_positions

CACHE_SECONDS = 1.0  # one computation a second at most, however many ask
CPU_WINDOW_SECONDS = 60.0
READY = "ready"


@dataclass
class CatchUp:
    """One projection's way to its goal, as this process watched it."""

    goal: int
    start: int  # where it stood when it was last seen caught up (or reset)

    def follow(self, position: int) -> None:
        self.goal = max(self.goal, position)
        if position < self.start or position >= self.goal:
            self.start = position


def initialization(rows: list[dict], catch_ups: dict[str, CatchUp]) -> dict:
    """SystemStatus.initialization from the projections' positions (updates catch_ups)."""
    todo = done = 0
    furthest: tuple[int, dict] | None = None
    for row in rows:
        if row["rebuild_position"] is not None:
            start, position, goal = 0, row["rebuild_position"], row["head"]
        else:
            catch_up = catch_ups[row["projection"]]
            catch_up.follow(row["position"])
            start, position, goal = catch_up.start, row["position"], catch_up.goal
        todo += max(goal - start, 0)
        done += max(min(position, goal) - start, 0)
        behind = goal - position
        if behind > 0 and (furthest is None or behind > furthest[0]):
            furthest = (behind, row)
    if furthest is None:
        return {"status": "completed", "progress": 1.0, "current_step": READY}
    row = furthest[1]
    step = ("rebuild " if row["rebuild_position"] is not None else "catch up ") + \
        row["projection"]
    return {"status": "failed" if row["failing"] else "in_progress",
            "progress": round(done / todo, 4) if todo else 0.0, "current_step": step}


def module_counts(states: dict[str, Any], rows: list[dict]) -> dict:
    """Installed modules, those running, and those with an unmet requirement or whose
    worker (a projection of theirs) is failing."""
    failing = {row["module"] for row in rows if row["failing"] and row["module"]}
    installed = [state for state in states.values() if state.installed]
    return {"total": len(installed), "active": sum(state.on for state in installed),
            "errors": sum(bool(state.errors) or state.module.id in failing
                          for state in installed)}


@dataclass
class ProcessLoad:
    """This process's memory and CPU: CPU as the share of one core used over the last
    minute (of the samples this status took; since the process started at first)."""

    process: psutil.Process = field(default_factory=psutil.Process)
    samples: deque = field(default_factory=deque)

    def memory_mb(self) -> float:
        return round(self.process.memory_info().rss / 2**20, 1)

    def cpu_percent(self) -> float:
        now, used = time.monotonic(), sum(self.process.cpu_times()[:2])
        self.samples.append((now, used))
        while len(self.samples) > 1 and self.samples[1][0] <= now - CPU_WINDOW_SECONDS:
            self.samples.popleft()
        then, used_then = self.samples[0]
        if then == now:  # the first sample: since the process started
            then = now - (time.time() - self.process.create_time())
            used_then = 0.0
        return round(100 * (used - used_then) / max(now - then, 1e-3), 1)


class StatusReport:
    """The status, computed at most once a second (safe from several threads)."""

    def __init__(self, system: System, response_times: RecentResponseTimes):
        self.system, self.response_times = system, response_times
        rows = projection_positions(system)
        # The heads this process saw at its start: every projection's first goal.
        self.catch_ups = {row["projection"]: CatchUp(row["head"], row["position"])
                          for row in rows}
        self.load = ProcessLoad()
        self._lock = threading.Lock()
        self._last: tuple[float, dict, datetime] | None = None

    def current(self) -> tuple[dict, datetime]:
        """(SystemStatus, when it was computed)."""
        with self._lock:
            if self._last is None or time.monotonic() - self._last[0] >= CACHE_SECONDS:
                self._last = (time.monotonic(), self._compute(), self.system.clock())
            return self._last[1], self._last[2]

    def body(self) -> dict:
        """StatusResponse."""
        status, at = self.current()
        return {"status": status, "last_updated": iso(at)}

    def _compute(self) -> dict:
        rows = projection_positions(self.system)
        return {"initialization": initialization(rows, self.catch_ups),
                "modules": module_counts(self.system.modules.states(), rows),
                "performance": {
                    "memory_usage": self.load.memory_mb(),
                    "cpu_usage": self.load.cpu_percent(),
                    "response_time": round(self.response_times.mean(), 2)}}
