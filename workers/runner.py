"""Starts workers by name, each in its own thread; one crash stops them all (so a
supervisor restarts the process and every worker resumes from its tracked position)."""

import logging
import threading
from collections.abc import Callable

from arqium.domain.shared import Clock, system_clock
from arqium.infra.settings import Settings
from arqium.projections import active_projections
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME
from arqium.workers.expiry import EXPIRY_NAME, Expirer
from arqium.workers.ledger_digest import LEDGER_DIGEST_NAME, DigestSealer
from arqium.workers.projector import Projector
from arqium.workers.relay import Relay

log = logging.getLogger("arqium.workers")


def worker_names(settings: Settings | None = None) -> list[str]:
    """Every worker `all` starts, for `settings` (default: from the environment)."""
    projections = active_projections(settings or Settings())
    return [p.name for p in projections] + [RELAY_NAME, EXPIRY_NAME, LEDGER_DIGEST_NAME]


def build_workers(names: list[str], settings: Settings, stopping: threading.Event,
                  clock: Clock = system_clock) -> dict[str, Callable[[], None]]:
    known = worker_names(settings)
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"unknown worker {', '.join(sorted(unknown))}; "
                         f"known workers: {', '.join(known)}, all")
    workers: dict[str, Callable[[], None]] = {}
    for projection in active_projections(settings):
        if projection.name in names:
            workers[projection.name] = Projector(projection, settings, stopping).run
    if EXPIRY_NAME in names:
        workers[EXPIRY_NAME] = Expirer(settings, stopping, clock).run
    if LEDGER_DIGEST_NAME in names:
        workers[LEDGER_DIGEST_NAME] = DigestSealer(settings, stopping, clock).run
    if RELAY_NAME in names:
        for application in APPLICATIONS:
            workers[f"{RELAY_NAME}:{application.name}"] = Relay(
                application, settings, stopping).run
    return workers


class WorkerGroup:
    """Runs workers in threads until stopped or until one of them fails."""

    def __init__(self, names: list[str], settings: Settings, clock: Clock = system_clock):
        self.stopping = threading.Event()
        self.failures: list[tuple[str, BaseException]] = []
        self._threads = [
            threading.Thread(target=self._guard, args=(name, run), name=name, daemon=True)
            for name, run in build_workers(names, settings, self.stopping, clock).items()]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout)

    def wait(self) -> None:
        """Block until stopped; raise if a worker failed."""
        while not self.stopping.wait(0.5):
            pass
        self.stop()
        if self.failures:
            name, error = self.failures[0]
            raise RuntimeError(f"worker {name} failed: {error!r}") from error

    def _guard(self, name: str, run: Callable[[], None]) -> None:
        try:
            run()
        except BaseException as error:
            if not self.stopping.is_set():
                log.exception("worker %s failed; stopping all workers", name)
                self.failures.append((name, error))
            self.stopping.set()
