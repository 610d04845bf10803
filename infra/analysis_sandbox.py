"""Runs a file's analysis in a child process bounded in time and memory, so that a
parser that spins or swells on hostile input (a PDF bomb, a pathological JSON) ends as
a failed analysis with a reason, never as a stuck or crashed worker.

Children are forked by multiprocessing's fork server (started once, with the analysers
already imported), so each costs milliseconds and inherits none of the worker's
threads or connections (as with any multiprocessing start method but fork, a program
embedding the worker keeps its start-up under `if __name__ == "__main__":`; the
`arqium` command and `python -m arqium.cli` do). A child's address space is capped
(RLIMIT_AS): past it, Python raises MemoryError in the child alone. Its time is counted
in processor seconds (RLIMIT_CPU; the kernel stops it past them), so a busy machine
slows an analysis without failing it; a wall-clock bound of WALL_FACTOR times as long
catches a child that waits instead of computing. A child ends within a second of its
worker process, however that ended."""

import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from arqium.infra.file_analysis import Unreadable, analyse

POLL_SECONDS = 0.1
WATCH_SECONDS = 1.0  # how often a child checks that its worker still lives
WALL_FACTOR = 10
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["arqium.infra.file_analysis"])


class Interrupted(Exception):
    """The worker is stopping: the analysis was abandoned, nothing is to be recorded."""


def analyse_bounded(path: Path, content_type: str, seconds: float, memory_mb: int,
                    stopping: threading.Event) -> dict:
    """`analyse(path, content_type)` in a child process; Unreadable (with the reason) if
    it fails, or needs more than `seconds` of processor time or `memory_mb`;
    Interrupted once `stopping` is set."""
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(target=_analyse_in_child,
                             args=(sender, str(path), content_type, seconds, memory_mb,
                                   os.getpid()),
                             name="arqium-file-analysis", daemon=True)
    child.start()
    sender.close()
    try:
        return _outcome(_wait(receiver, child, seconds, stopping))
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def _wait(receiver: Connection, child, seconds: float,
          stopping: threading.Event) -> tuple[str, object]:
    """What the child sent, or why it sent nothing."""
    deadline = time.monotonic() + seconds * WALL_FACTOR
    while True:
        if stopping.is_set():
            raise Interrupted()
        if receiver.poll(max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))):
            break
        if not child.is_alive() and not receiver.poll():
            return "failed", _ended(child, seconds)
        if time.monotonic() >= deadline:
            return "failed", (f"the analysis took longer than {seconds * WALL_FACTOR:g} s "
                              "(waiting, not computing)")
    try:
        return receiver.recv()
    except EOFError:  # it died while sending
        return "failed", _ended(child, seconds)


def _ended(child, seconds: float) -> str:
    """Why a child ended without an answer."""
    child.join()
    if child.exitcode == -signal.SIGXCPU:
        return f"the analysis needed more than {seconds:g} s of processor time"
    return f"the analysis ended abruptly (exit code {child.exitcode})"


def _outcome(message: tuple[str, object]) -> dict:
    status, value = message
    if status != "complete":
        raise Unreadable(str(value))
    return value  # type: ignore[return-value]


def _analyse_in_child(sender: Connection, path: str, content_type: str, seconds: float,
                      memory_mb: int, worker_pid: int) -> None:
    _end_with(worker_pid)
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a broken PDF warns per object
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = max(1, math.ceil(seconds))  # whole seconds; SIGXCPU ends it past them
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        message: tuple[str, object] = ("complete", analyse(Path(path), content_type))
    except Unreadable as error:
        message = ("failed", str(error))
    except MemoryError:
        message = ("failed", f"the analysis needed more than {memory_mb} MB of memory")
    sender.send(message)
    sender.close()


def _end_with(worker_pid: int) -> None:
    """End this child soon after the worker process that asked for it: a worker killed
    -9 leaves no analysis running (its file is taken again by the next run). The fork
    server, this child's parent, outlives the worker as long as a child of it runs."""
    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(worker_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()
