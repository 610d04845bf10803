"""Runs one projection: elected by advisory lock, batched, stepping aside for rebuilds."""

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Tracking

from arqium.infra.connections import connection_lost
from arqium.infra.locks import ACTIVE, REBUILD, WorkerLocks, worker_lock_name
from arqium.infra.priority import run_this_thread_at
from arqium.projections.base import BatchProjection, hurry_channel, open_view
from arqium.projections.platform_modules import PlatformModulesProjection
from arqium.system.modules import CachedModules, configured_requirements
from arqium.workers.feed import BATCH_SIZE, EventFailed, EventFeed
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.projector")

STANDBY_POLL_SECONDS = 0.5
# An embedding worker's batches: its inferences are paced while the machine is busy
# (ARQIUM_EMBEDDING_HEADROOM), and a batch is what it finishes before it stops or steps
# aside for a rebuild.
EMBEDDING_BATCH_SIZE = 32


class Projector:
    """The projection worker for `projection_class`; a second copy is a hot standby."""

    def __init__(self, projection_class: type[BatchProjection], stopping: threading.Event):
        self.projection_class = projection_class
        self.stopping = stopping
        self.name = projection_class.name
        self.application_name = projection_class.application.name
        self.paused = False  # its module is off: it waits, at its tracking position

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        if self.projection_class.embeds:
            run_this_thread_at(shared.settings.embedding_niceness)
        app = self.projection_class.application(shared.env)
        view = open_view(self.projection_class, shared.env)
        locks = shared.locks.of(worker_lock_name(self.name, app.name))
        switched_on = self._switch(shared)
        while not self.stopping.is_set():
            if not self._on(switched_on):
                self.stopping.wait(STANDBY_POLL_SECONDS)
                continue
            if locks.held_elsewhere(REBUILD) or not locks.try_acquire(ACTIVE):
                self.stopping.wait(STANDBY_POLL_SECONDS)
                continue
            try:
                # A projection of its own per turn as the active copy: what it remembers
                # of the read model is only true while no other copy writes to it.
                projection = self.projection_class.for_worker(view, shared.settings)
                self._project(app, view, projection, locks, shared, progressed,
                              switched_on)
            finally:
                locks.release(ACTIVE)

    def _switch(self, shared: WorkerResources) -> Callable[[], bool]:
        """Whether the projection's module is on (read at most once a second)."""
        module = self.projection_class.module
        if module is None:
            return lambda: True
        modules = CachedModules(open_view(PlatformModulesProjection, shared.env),
                                configured_requirements(shared.settings))
        return lambda: modules.is_on(module)

    def _on(self, switched_on: Callable[[], bool]) -> bool:
        """Whether to project now; says so when the module turns off or on again."""
        on = switched_on()
        if on == self.paused:
            log.info("projector %s %s", self.name,
                     "resumes" if on else f"paused: module {self.projection_class.module!r} "
                     "is off")
            self.paused = not on
        return on

    def _project(self, app, view, projection, locks: WorkerLocks,
                 shared: WorkerResources, progressed: Callable[[], None],
                 switched_on: Callable[[], bool]) -> None:
        log.info("projector %s active from position %s", self.name, view.position(app.name))
        feed = EventFeed(app, view.position(app.name),
                         lambda: (self.stopping.is_set() or locks.held_elsewhere(REBUILD)
                                  or not self._on(switched_on)), shared.listener,
                         topics=self.projection_class.topics(),
                         gather_seconds=shared.settings.worker_gather_seconds,
                         hurried_by=hurry_channel(self.name),
                         batch_size=(EMBEDDING_BATCH_SIZE if self.projection_class.embeds
                                     else BATCH_SIZE))
        for batch in feed.batches():
            apply_batch(projection, batch)
            progressed()
        if not self.stopping.is_set() and not self.paused:
            log.info("projector %s steps aside for a rebuild", self.name)


def apply_batch(projection: BatchProjection, batch: Sequence[tuple[Any, Tracking]]) -> None:
    """Apply a batch in one transaction; if that fails for any reason but a lost
    connection, apply its events one at a time, so that those before the one that fails
    are kept and the failure names the event the projection is stuck on."""
    try:
        projection.process_batch(batch)
    except Exception as error:
        if connection_lost(error):
            raise
        for event in batch:
            try:
                projection.process_batch([event])
            except Exception as event_error:
                if connection_lost(event_error):
                    raise
                raise EventFailed(event[1].notification_id, event_error) from event_error
