"""Work that can wait (embedding) paced so that it leaves a share of the machine's
processor idle, and the rest to other processes when they are busy.

Running only on idle processor (nice 19, SCHED_IDLE) yields to every other process,
but it keeps every CPU busy: a virtual machine whose CPUs are all busy is held back by
its host, the whole machine at once, about 100 ms at a time (`steal` in /proc/stat).
Under the write benchmark on a 2-CPU virtual machine, the embeddings catching up on
idle processor saw the host take 1.0-1.1 s of processor in 12 s and every request
stall 100-140 ms at a time; with the embeddings stopped, 0-10 ms (README,
"Performance")."""

import os
import threading
import time
from functools import lru_cache
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# How often the machine's processor use is read again (its counters tick every 10 ms:
# over 0.2 s on 2 CPUs that is 40 ticks, 2.5 % of the machine a tick).
READ_EVERY_SECONDS = 0.2
# The least share of its time a paced thread still works, however busy the machine:
# the work must go on, however slowly, under a load that never ends.
LEAST_DUTY = 0.05
# The longest one call's work (a batch of texts to embed) is paced in all: a worker
# asked to stop, or to step aside for a rebuild, finishes its batch at full speed after
# that.
PAUSE_BUDGET_SECONDS = 2.0


def pause_after(cpu_seconds: float, wall_seconds: float, others_share: float,
                headroom: float, cores: int, threads: int) -> float:
    """How long a thread that has just worked `cpu_seconds` of processor in
    `wall_seconds` (one of `threads` doing such work at once) waits, so that with the
    other processes using `others_share` of the machine (0..1) the machine stays
    `headroom` idle: the threads' duty (processor over time) is what is left to them,
    between LEAST_DUTY and 1. The time the work already waited for a processor counts."""
    left_in_cores = (1.0 - headroom - others_share) * cores
    duty = min(max(left_in_cores / threads, LEAST_DUTY), 1.0)
    return max(cpu_seconds / duty - wall_seconds, 0.0)


class Headroom:
    """Paces the work of a process's threads by the processor the rest of the machine
    used lately (Linux: /proc/stat; elsewhere no pacing)."""

    def __init__(self, headroom: float, cores: int | None = None):
        self.headroom = headroom
        self.cores = cores or usable_cores()
        self._lock = threading.Lock()
        # (when, the machine's busy processor seconds, this process's) at the last reading
        self._last: tuple[float, float, float] | None = None
        self._others_share = 0.0
        self.enabled = headroom > 0 and PROC_STAT.exists()

    def pacing(self, threads: int) -> "Pace":
        """The pace of one call's work, done by up to `threads` threads at once."""
        return Pace(self, threads)

    def pause(self, started: float, cpu_started: float, threads: int) -> float:
        """The pause after a piece of work begun at `started` (time.monotonic()) and
        `cpu_started` (time.thread_time()) on the calling thread."""
        if not self.enabled:
            return 0.0
        worked, cpu = time.monotonic() - started, time.thread_time() - cpu_started
        with self._lock:
            others = self._read_others_share()
        return pause_after(cpu, worked, others, self.headroom, self.cores, threads)

    def _read_others_share(self) -> float:
        """The share of the machine's processor (0..1) the rest of it (all but this
        process) used since the last reading, read at most every READ_EVERY_SECONDS; the
        last one meanwhile. The paced work runs in a process of its own under `arqium
        up`; where it shares one, the others' work in it is not counted."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < READ_EVERY_SECONDS:
            return self._others_share
        reading = (now, machine_busy_seconds(), time.process_time())
        if self._last is not None:
            elapsed = (now - self._last[0]) * self.cores
            others = (reading[1] - self._last[1]) - (reading[2] - self._last[2])
            self._others_share = min(max(others / elapsed, 0.0), 1.0)
        self._last = reading
        return self._others_share


class Pace:
    """One call's pacing: each piece of its work is followed by the pause its Headroom
    asks for, until the call has paused PAUSE_BUDGET_SECONDS in all."""

    def __init__(self, headroom: Headroom, threads: int):
        self.headroom, self.threads = headroom, threads
        self._lock = threading.Lock()
        self._budget = PAUSE_BUDGET_SECONDS

    def __call__(self, started: float, cpu_started: float) -> None:
        wanted = self.headroom.pause(started, cpu_started, self.threads)
        with self._lock:
            wait = min(wanted, self._budget)
            self._budget -= wait
        if wait > 0:
            time.sleep(wait)


def usable_cores() -> int:
    """The CPUs this process may run on (all of the machine's where that is not told)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# The first fields of /proc/stat's `cpu` line: processor seconds of all CPUs since boot.
PROCESSOR_TIMES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
BUSY = ("user", "nice", "system", "irq", "softirq")


def processor_times() -> dict[str, float]:
    """The machine's processor seconds since boot by kind (PROCESSOR_TIMES); `steal` is
    the time its host took from it."""
    ticks = PROC_STAT.read_text().split("\n", 1)[0].split()[1:]
    per_second = os.sysconf("SC_CLK_TCK")
    return {kind: int(value) / per_second for kind, value in zip(PROCESSOR_TIMES, ticks)}


def machine_busy_seconds() -> float:
    """Processor seconds all CPUs spent at work since boot: all but idle, I/O wait and
    the time the host took (steal)."""
    times = processor_times()
    return sum(times[kind] for kind in BUSY)


@lru_cache(maxsize=4)
def processor_headroom(headroom: float) -> Headroom:
    """One Headroom a process (for a share): its readings leave the process's own
    processor out, whichever of its threads is paced."""
    return Headroom(headroom)
