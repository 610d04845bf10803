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
    if os.getpriority(os.PRIO_PROCESS, thread) >= niceness:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, thread, niceness)
    except OSError as error:  # a container may forbid it: run as before
        log.warning("could not lower thread %s's priority to nice %d: %s", thread,
                    niceness, error)
