"""Starts workers by name, each in its own thread, sharing one process's connections;
one crash stops them all (so a supervisor restarts the process and every worker resumes
from its tracked position), except the server refusing connections for lack of slots:
then they release theirs, wait and start again."""

import logging
import threading
from collections.abc import Callable

import psycopg

from arqium.domain.shared import Clock, system_clock
from arqium.infra.connections import refusal_behind
from arqium.infra.settings import Settings
from arqium.projections import active_projections
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME
from arqium.workers.expiry import EXPIRY_NAME, Expirer
from arqium.workers.ledger_digest import LEDGER_DIGEST_NAME, DigestSealer
from arqium.workers.projector import Projector
from arqium.workers.relay import Relay
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.workers")

Worker = Callable[[WorkerResources], None]
EXTRA_CONNECTIONS = 2  # the worker process's advisory-lock and LISTEN connections


def worker_names(settings: Settings | None = None) -> list[str]:
    """Every worker `all` starts, for `settings` (default: from the environment)."""
    projections = active_projections(settings or Settings())
    return [p.name for p in projections] + [RELAY_NAME, EXPIRY_NAME, LEDGER_DIGEST_NAME]


def build_workers(names: list[str], settings: Settings, stopping: threading.Event,
                  clock: Clock = system_clock) -> dict[str, Worker]:
    known = worker_names(settings)
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"unknown worker {', '.join(sorted(unknown))}; "
                         f"known workers: {', '.join(known)}, all")
    workers: dict[str, Worker] = {}
    for projection in active_projections(settings):
        if projection.name in names:
            workers[projection.name] = Projector(projection, stopping).run
    if EXPIRY_NAME in names:
        workers[EXPIRY_NAME] = Expirer(settings, stopping, clock).run
    if LEDGER_DIGEST_NAME in names:
        workers[LEDGER_DIGEST_NAME] = DigestSealer(settings, stopping, clock).run
    if RELAY_NAME in names:
        for application in APPLICATIONS:
            workers[f"{RELAY_NAME}:{application.name}"] = Relay(
                application, settings, stopping).run
    return workers


class Backoff:
    """Capped exponential waits (first, twice that, ... at most `cap` seconds); `delays`
    holds the waits of the current spell."""

    def __init__(self, first: float = 1.0, cap: float = 30.0):
        self.first = first
        self.cap = cap
        self.delays: list[float] = []

    def next(self) -> float:
        delay = min(self.cap, self.first * 2 ** len(self.delays))
        self.delays.append(delay)
        return delay

    def reset(self) -> None:
        self.delays = []


class WorkerGroup:
    """Runs workers in threads until stopped or until one of them fails."""

    def __init__(self, names: list[str], settings: Settings, clock: Clock = system_clock,
                 backoff: Backoff | None = None):
        build_workers(names, settings, threading.Event(), clock)  # unknown names fail now
        self.names = names
        self.settings = settings
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.stopping = threading.Event()
        self.failures: list[tuple[str, BaseException]] = []
        self._halt = threading.Event()  # stops the current round of threads
        self._supervisor = threading.Thread(target=self._supervise, name="workers",
                                            daemon=True)

    def start(self) -> None:
        self._supervisor.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self._halt.set()
        if self._supervisor.ident is not None:  # started
            self._supervisor.join(timeout)

    def wait(self) -> None:
        """Block until stopped; raise if a worker failed."""
        while not self.stopping.wait(0.5):
            pass
        self.stop()
        if self.failures:
            name, error = self.failures[0]
            raise RuntimeError(f"worker {name} failed: {error!r}") from error

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            failure = self._run_round()
            if failure is None:
                return
            name, error = failure
            refusal = refusal_behind(error, self.settings.database_url or "")
            if refusal is None:
                log.error("worker %s failed; stopping all workers", name, exc_info=error)
                self.failures.append(failure)
                self.stopping.set()
                return
            self._wait_for_slots(refusal)

    def _run_round(self) -> tuple[str, BaseException] | None:
        """Run every worker until stopped (None) or until one fails (its failure)."""
        self._halt = halt = threading.Event()
        if self.stopping.is_set():  # set before this round's halt existed
            return None
        try:
            shared = WorkerResources(self.settings)
        except psycopg.Error as error:  # e.g. refused: judged like a worker's failure
            return "workers", error
        failures: list[tuple[str, BaseException]] = []
        with shared:
            if self.backoff.delays:
                log.info("PostgreSQL accepts connections again; the workers start")
                self.backoff.reset()
            threads = [threading.Thread(target=self._guard, name=name, daemon=True,
                                        args=(name, run, shared, halt, failures))
                       for name, run in build_workers(self.names, self.settings, halt,
                                                      self.clock).items()]
            for thread in threads:
                thread.start()
            halt.wait()
            for thread in threads:
                thread.join(10.0)
        return failures[0] if failures else None

    def _wait_for_slots(self, refusal: str) -> None:
        """One line per spell of refusals, naming what to change; then a growing wait."""
        delay = self.backoff.next()
        if len(self.backoff.delays) == 1:
            most = (self.settings.db_pool_size + self.settings.db_pool_max_overflow
                    + EXTRA_CONNECTIONS)
            log.error("PostgreSQL refuses connections (%s): the workers release theirs and "
                      "retry in %g s, then less and less often (every %g s at most). This "
                      "process opens at most %d: lower ARQIUM_DB_POOL_SIZE and "
                      "ARQIUM_DB_POOL_MAX_OVERFLOW, or raise the server's max_connections",
                      refusal, delay, self.backoff.cap, most)
        else:
            log.debug("PostgreSQL still refuses connections; retrying in %g s", delay)
        self.stopping.wait(delay)

    @staticmethod
    def _guard(name: str, run: Worker, shared: WorkerResources, halt: threading.Event,
               failures: list[tuple[str, BaseException]]) -> None:
        try:
            run(shared)
        except BaseException as error:
            if not halt.is_set():
                failures.append((name, error))
            halt.set()
