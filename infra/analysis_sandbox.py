"""Runs a file's analysis in a child process bounded in time and memory, so that a
parser that spins or swells on hostile input (a PDF bomb, a pathological JSON) ends as
a failed analysis with a reason, never as a stuck or crashed worker.

Children are forked by multiprocessing's fork server (started once, with the analysers
already imported), so each costs milliseconds and inherits none of the worker's
threads or connections. A child's address space is capped (RLIMIT_AS): past it, Python
raises MemoryError in the child alone."""

import multiprocessing
import resource
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from arqium.infra.file_analysis import Unreadable, analyse

POLL_SECONDS = 0.1
_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["arqium.infra.file_analysis"])


class Interrupted(Exception):
    """The worker is stopping: the analysis was abandoned, nothing is to be recorded."""


def analyse_bounded(path: Path, content_type: str, seconds: float, memory_mb: int,
                    stopping: threading.Event) -> dict:
    """`analyse(path, content_type)` in a child process; Unreadable (with the reason) if
    it fails, or runs past `seconds` or `memory_mb`; Interrupted once `stopping` is set."""
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(target=_analyse_in_child,
                             args=(sender, str(path), content_type, memory_mb),
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
    deadline = time.monotonic() + seconds
    while True:
        if stopping.is_set():
            raise Interrupted()
        if receiver.poll(max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))):
            break
        if not child.is_alive() and not receiver.poll():
            child.join()
            return "failed", f"the analysis ended abruptly (exit code {child.exitcode})"
        if time.monotonic() >= deadline:
            return "failed", f"the analysis took longer than {seconds:g} s"
    try:
        return receiver.recv()
    except EOFError:  # it died while sending
        child.join()
        return "failed", f"the analysis ended abruptly (exit code {child.exitcode})"


def _outcome(message: tuple[str, object]) -> dict:
    status, value = message
    if status != "complete":
        raise Unreadable(str(value))
    return value  # type: ignore[return-value]


def _analyse_in_child(sender: Connection, path: str, content_type: str,
                      memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        message: tuple[str, object] = ("complete", analyse(Path(path), content_type))
    except Unreadable as error:
        message = ("failed", str(error))
    except MemoryError:
        message = ("failed", f"the analysis needed more than {memory_mb} MB of memory")
    sender.send(message)
    sender.close()
