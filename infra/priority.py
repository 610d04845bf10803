"""Processor priority of one thread: on Linux the nice value belongs to each thread,
so a process's heavy background thread can yield to everything else."""

import logging
import os
import sys
import threading

log = logging.getLogger("arqium.priority")


def run_this_thread_at(niceness: int) -> None:
    """Give the calling thread at least `niceness` (raised, never lowered: without
    privileges a nice value cannot be taken back). Elsewhere than Linux, nothing."""
    if niceness <= 0 or sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        _raise_niceness(thread, niceness)
    except OSError as error:  # a container may forbid it: run as before
        log.warning("could not lower thread %s's priority to nice %d: %s", thread,
                    niceness, error)


def this_threads_niceness() -> int:
    """The calling thread's nice value (0 elsewhere than Linux)."""
    if sys.platform != "linux":
        return 0
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _raise_niceness(thread: int, niceness: int) -> None:
    """Raise a thread's nice value to `niceness` unless it is that high already."""
    if os.getpriority(os.PRIO_PROCESS, thread) < niceness:
        os.setpriority(os.PRIO_PROCESS, thread, niceness)


def _schedule_when_idle(thread: int) -> None:
    """Put the thread under SCHED_IDLE: a thread of any other policy that wakes on its
    processor takes it at once, where a nice 19 thread may first run out its slice.
    Under the write benchmark, 13 % more writes a second on average over 17 alternated
    pairs (README, Performance). Any thread may lower itself so; none can come back
    without privileges."""
    os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))


LOWEST = 19
AUTOGROUP = "/proc/self/autogroup"


def run_this_process_at_lowest_priority() -> None:
    """Give this process only the processor time nothing else wants: for each of its
    threads (and so for every thread they start after this), nice 19 and Linux's idle
    scheduling policy; where Linux's autogroup is on, nice 19 for this process's
    scheduling group too. Call it in a session of the process's own (each session is
    one group: the group's nice would lower its whole session's), once it has started:
    at nice 19 on a busy machine, importing and starting took tens of seconds."""
    if sys.platform != "linux":
        return
    for thread in os.listdir("/proc/self/task"):
        try:
            _raise_niceness(int(thread), LOWEST)
            _schedule_when_idle(int(thread))
        except OSError as error:  # the thread ended meanwhile, or a container forbids it
            log.debug("could not lower thread %s's priority: %s", thread, error)
    if not os.path.exists(AUTOGROUP):
        return
    try:
        with open(AUTOGROUP, "w") as group:
            group.write(str(LOWEST))
    except OSError as error:
        log.warning("could not lower this process's scheduling group to nice %d: %s",
                    LOWEST, error)
