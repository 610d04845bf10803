"""Starts workers by name, each in its own thread, sharing one process's connections.

Each worker is supervised alone: when it fails, it alone stops, reports itself failed
(in PostgreSQL, for every process to see) and starts again after a capped, growing
wait; the others keep moving. Losing the database is no worker's failure: the workers
stop, wait until PostgreSQL answers again (probed every second, or less and less often
while it refuses connections for lack of slots) and start afresh on new connections."""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from arqium.domain.shared import Clock, system_clock
from arqium.infra.connections import (
    connection_lost,
    database_problem,
    database_read_only,
    no_slot_left,
)
from arqium.infra.settings import Settings
from arqium.infra.worker_failures import WorkerFailures, describe
from arqium.projections.catalog import active_projections
from arqium.system.bootstrap import APPLICATIONS, RELAY_NAME
from arqium.workers.blob_sweep import BLOB_SWEEP_NAME, BlobSweeper
from arqium.workers.expiry import EXPIRY_NAME, Expirer
from arqium.workers.feed import EventFailed
from arqium.workers.file_analysis import ANALYSIS_NAME, FileAnalyst
from arqium.workers.ledger_digest import LEDGER_DIGEST_NAME, DigestSealer
from arqium.workers.projector import Projector
from arqium.workers.relay import Relay
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.workers")

EXTRA_CONNECTIONS = 2  # the worker process's advisory-lock and LISTEN connections
LOCK_CHECK_SECONDS = 0.5  # how soon losing the lock connection stops the workers
OUTAGE_PROBE_SECONDS = 1.0  # how often an unreachable database is tried
STOP_SECONDS = 5.0  # how long stopping waits for the workers' threads
RECONNECT_PAUSE_SECONDS = 0.5  # before a worker whose connection alone broke goes on

Progressed = Callable[[], None]


@dataclass(frozen=True)
class Worker:
    """A worker to run: `run(shared, progressed)` works until its stop event is set,
    calling `progressed` each time it moved on."""

    name: str  # its thread's name
    worker: str
    application: str
    run: Callable[[WorkerResources, Progressed], None]


def worker_names(settings: Settings | None = None) -> list[str]:
    """Every worker `all` starts, for `settings` (default: from the environment)."""
    projections = active_projections(settings or Settings())
    return [p.name for p in projections] + [RELAY_NAME, EXPIRY_NAME, LEDGER_DIGEST_NAME,
                                            BLOB_SWEEP_NAME, ANALYSIS_NAME]


def embedding_worker_names(settings: Settings) -> list[str]:
    """The workers that embed texts: the heaviest work there is, and it can wait."""
    return [p.name for p in active_projections(settings) if p.embeds]


def build_workers(names: list[str], settings: Settings, stopping: threading.Event,
                  clock: Clock = system_clock) -> list[Worker]:
    known = worker_names(settings)
    unknown = set(names) - set(known)
    if unknown:
        raise SystemExit(f"unknown worker(s): {', '.join(sorted(unknown))}; "
                         f"known workers: {', '.join(known)}, all")
    workers: list[Worker] = []
    for projection in active_projections(settings):
        if projection.name in names:
            projector = Projector(projection, stopping)
            workers.append(Worker(projector.name, projector.name,
                                  projector.application_name, projector.run))
    if EXPIRY_NAME in names:
        workers.append(Worker(EXPIRY_NAME, EXPIRY_NAME, "memory",
                              Expirer(settings, stopping, clock).run))
    if LEDGER_DIGEST_NAME in names:
        workers.append(Worker(LEDGER_DIGEST_NAME, LEDGER_DIGEST_NAME, "ledger",
                              DigestSealer(settings, stopping, clock).run))
    if BLOB_SWEEP_NAME in names:
        workers.append(Worker(BLOB_SWEEP_NAME, BLOB_SWEEP_NAME, "files",
                              BlobSweeper(settings, stopping, clock).run))
    if ANALYSIS_NAME in names:
        workers.append(Worker(ANALYSIS_NAME, ANALYSIS_NAME, "files",
                              FileAnalyst(settings, stopping, clock).run))
    if RELAY_NAME in names:
        for application in APPLICATIONS:
            workers.append(Worker(f"{RELAY_NAME}:{application.name}", RELAY_NAME,
                                  application.name,
                                  Relay(application, settings, stopping).run))
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
    """Runs workers in threads, each supervised alone, until stopped."""

    def __init__(self, names: list[str], settings: Settings, clock: Clock = system_clock,
                 backoff: Backoff | None = None):
        build_workers(names, settings, threading.Event(), clock)  # unknown names fail now
        self.names = names
        self.settings = settings
        self.clock = clock
        self.backoff = backoff or Backoff()  # while the server has no slot for us
        self.stopping = threading.Event()
        # The latest failures (each retried), for tests and debuggers; bounded, as a
        # worker may fail for days.
        self.failures: deque[tuple[str, BaseException]] = deque(maxlen=100)
        self._halt = threading.Event()  # stops the current round of threads
        self._unreachable_since: float | None = None
        self._supervisor = threading.Thread(target=self._supervise, name="workers",
                                            daemon=True)

    def start(self) -> None:
        self._supervisor.start()

    def stop(self, timeout: float = STOP_SECONDS + 2) -> None:
        self.stopping.set()
        self._halt.set()
        if self._supervisor.ident is not None:  # started
            self._supervisor.join(timeout)

    def wait(self) -> None:
        """Block until stopped."""
        while not self.stopping.wait(0.5):
            pass
        self.stop()

    def _supervise(self) -> None:
        while self._database_answers():
            try:
                self._run_round()
            except Exception:  # the supervisor itself must never end
                log.exception("the workers could not be started; trying again")
                self.stopping.wait(OUTAGE_PROBE_SECONDS)

    def _run_round(self) -> None:
        """Run every worker until stopped or until the database is lost."""
        self._halt = halt = threading.Event()
        if self.stopping.is_set():  # set before this round's halt existed
            return
        try:
            shared = WorkerResources(self.settings)
        except psycopg.Error as error:  # lost again already: wait for it once more
            log.warning("PostgreSQL is out of reach again (%s)", describe(error))
            self.stopping.wait(OUTAGE_PROBE_SECONDS)
            return
        with shared:
            reports = WorkerFailures(shared.pool.get_connection)
            threads = [threading.Thread(
                target=Supervised(worker, shared, reports, halt, self).run,
                name=worker.name, daemon=True)
                for worker in build_workers(self.names, self.settings, halt, self.clock)]
            for thread in threads:
                thread.start()
            self._watch_locks(shared, halt)
            shared.listener.wake_all()  # the feeds see the halt now, not after a poll
            deadline = time.monotonic() + STOP_SECONDS
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))

    @staticmethod
    def _watch_locks(shared: WorkerResources, halt: threading.Event) -> None:
        """Until halted; halts when the connection holding the workers' advisory locks is
        lost: they hold none any more, so none may go on as the elected runner."""
        while not halt.wait(LOCK_CHECK_SECONDS):
            try:
                shared.locks.check()
            except psycopg.Error as error:
                log.warning("the workers lost their advisory locks with their connection "
                            "(%s); they stop and start again once PostgreSQL answers",
                            describe(error))
                halt.set()

    def _database_answers(self) -> bool:
        """Wait until PostgreSQL accepts this process's connections; False once stopped."""
        while not self.stopping.is_set():
            problem = database_problem(self.settings.database_url or "")
            if problem is None:
                self._announce_recovery()
                return True
            if refusal := no_slot_left(problem):
                self._wait_for_slots(refusal)
            else:
                self._wait_while_unreachable(problem)
        return False

    def _announce_recovery(self) -> None:
        if self.backoff.delays or self._unreachable_since is not None:
            log.info("PostgreSQL accepts connections again; the workers start")
        self.backoff.reset()
        self._unreachable_since = None

    def _wait_while_unreachable(self, problem: str) -> None:
        """One line per outage; then a probe every second, however long it lasts, so
        that the workers move again within about a second of the database's return."""
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
            log.warning("PostgreSQL is out of reach (%s): the workers wait and start "
                        "again once it answers", problem.splitlines()[0])
        self.stopping.wait(OUTAGE_PROBE_SECONDS)

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


class Supervised:
    """One worker of a round, started again after each of its failures: first after
    1 s, then twice as long each time up to ARQIUM_WORKER_RETRY_MAX_SECONDS (from 1 s
    again once it moves, or ran fine longer than that). A failing event is never
    stepped over here: that is `arqium projections skip`."""

    def __init__(self, worker: Worker, shared: WorkerResources, reports: WorkerFailures,
                 halt: threading.Event, group: WorkerGroup):
        self.worker = worker
        self.shared = shared
        self.reports = reports
        self.halt = halt
        self.group = group
        cap = group.settings.worker_retry_max_seconds
        self.backoff = Backoff(first=min(1.0, cap), cap=cap)
        self.reported = True  # a report left by an earlier process is cleared on progress
        self.waiting_for_writes = False  # the database was read-only at the last attempt

    def run(self) -> None:
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                self.worker.run(self.shared, self.progressed)
            except Exception as error:  # noqa: BLE001 - whatever fails, it alone stops
                if self.halt.is_set():
                    return
                self.handle(error, time.monotonic() - started)
            else:  # a worker ends when halted; just in case, never spin
                self.halt.wait(RECONNECT_PAUSE_SECONDS)

    def handle(self, error: Exception, ran_for: float) -> None:
        """Judge the failure and wait before the next attempt. Nothing raised here may
        end the thread: the worker would stop for good while the process lives on."""
        try:
            if connection_lost(error):
                self.lost_connection(error)
            elif database_read_only(error):
                self.read_only(error)
            else:
                self.failed(error, ran_for)
        except Exception:  # noqa: BLE001 - e.g. the database went away meanwhile
            log.exception("worker %s: handling its failure failed; it starts again in "
                          "%g s", self.worker.name, OUTAGE_PROBE_SECONDS)
            self.halt.wait(OUTAGE_PROBE_SECONDS)

    def progressed(self) -> None:
        """The worker moved on: it is failing no more."""
        self.backoff.reset()
        self.waiting_for_writes = False
        if self.reported:
            self.reports.clear(self.worker.worker, self.worker.application)
            self.reported = False

    def lost_connection(self, error: BaseException) -> None:
        """A broken connection: this worker goes on if the database answers; if it does
        not, every worker stops until it does (the group waits for it)."""
        problem = database_problem(self.group.settings.database_url or "")
        if problem is None:
            log.warning("worker %s lost a database connection (%s); it goes on",
                        self.worker.name, describe(error))
            self.halt.wait(RECONNECT_PAUSE_SECONDS)
        else:
            log.warning("worker %s: PostgreSQL is out of reach (%s)", self.worker.name,
                        describe(error))
            self.halt.set()

    def read_only(self, error: BaseException) -> None:
        """The database takes no writes for now: not this worker's failure. It tries
        again every second, saying so once per spell."""
        if not self.waiting_for_writes:
            log.warning("worker %s: the database takes no writes (%s); it tries again "
                        "every %g s", self.worker.name, describe(error),
                        OUTAGE_PROBE_SECONDS)
            self.waiting_for_writes = True
        self.halt.wait(OUTAGE_PROBE_SECONDS)

    def failed(self, error: BaseException, ran_for: float) -> None:
        if ran_for > self.backoff.cap:  # it ran fine a while: this is a new spell
            self.backoff.reset()
        delay = self.backoff.next()
        position = error.position if isinstance(error, EventFailed) else None
        cause = error.error if isinstance(error, EventFailed) else error
        self.group.failures.append((self.worker.name, error))
        try:
            attempts = self.reports.record(self.worker.worker, self.worker.application,
                                           position, describe(cause), delay)
        except Exception as report_error:
            if connection_lost(report_error):
                self.lost_connection(report_error)
                return
            raise
        self.reported = True
        where = f" on the event at position {position}" if position is not None else ""
        log.error("worker %s failed%s (%d in a row): %s; it starts again in %g s, the "
                  "others go on", self.worker.name, where, attempts, describe(cause), delay,
                  exc_info=cause if attempts == 1 else None)
        self.halt.wait(delay)
