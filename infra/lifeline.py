"""Child processes that end with the process that started them: a `kill -9` of
`arqium up` must not leave its worker, API or NATS processes running.

On Linux the kernel signals a child when its parent dies (prctl PR_SET_PDEATHSIG); a
watchdog thread that notices the parent's pid change covers other systems and a parent
that died before the child asked the kernel. The kernel's signal follows the parent
*thread* that started the child, so start tied children from a thread that lives as
long as the process (the main thread)."""

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

log = logging.getLogger("arqium.lifeline")

# Set by a parent in its children's environment: "end when the process with this pid
# is no longer your parent". A process run by hand has no such tie.
PARENT_PID_VARIABLE = "ARQIUM_END_WITH_PARENT"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
CHECK_SECONDS = 0.5
GRACE_SECONDS = 10  # for a clean stop, before the watchdog ends the process outright


def tie_to_this_process() -> dict[str, str]:
    """The environment a child needs to end with this process (see end_with_parent)."""
    return {PARENT_PID_VARIABLE: str(os.getpid())}


def end_with_parent() -> None:
    """If this process's parent tied it to itself, end (SIGTERM, the usual clean stop)
    when that parent dies. The tie is not passed on to this process's own children."""
    tied_to = os.environ.pop(PARENT_PID_VARIABLE, None)
    if not tied_to:
        return
    signal_on_parent_death = kernel_signal_on_parent_death()
    if signal_on_parent_death:
        signal_on_parent_death()
    threading.Thread(target=_stop_when_orphaned, args=(int(tied_to),), daemon=True,
                     name="lifeline").start()


def end_with_this_process() -> Callable[[], None] | None:
    """For a child that is not ours to change (nats-server): a `preexec_fn` that makes
    the kernel stop it (SIGTERM) when this process dies; None where the kernel cannot."""
    signal_on_parent_death = kernel_signal_on_parent_death()
    if signal_on_parent_death is None:
        return None
    parent = os.getpid()

    def in_the_child() -> None:
        signal_on_parent_death()
        if os.getppid() != parent:  # the parent died before the kernel was asked
            os._exit(1)

    return in_the_child


def kernel_signal_on_parent_death() -> Callable[[], None] | None:
    """A call that asks the Linux kernel for SIGTERM when this process's parent dies
    (prepared here, so that a child between fork and exec only makes the system call)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


def _stop_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(CHECK_SECONDS)
    log.warning("the process that started this one (pid %s) is gone; stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)
