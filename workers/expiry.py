"""Records an Expired event for every memory whose time is up, so expiry is in the
audit trail and on NATS (queries already hide expired memories before this runs)."""

import logging
import threading
from collections.abc import Callable

from eventsourcing.persistence import IntegrityError

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.shared import Cause, Clock, system_clock
from arqium.infra.locks import ACTIVE, worker_lock_name
from arqium.infra.settings import Settings
from arqium.projections.base import open_view
from arqium.projections.memory_items import MemoryItemsProjection, MemoryItemsView
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.expiry")

EXPIRY_NAME = "memory_expiry"
EXPIRER = Cause(actor=f"worker:{EXPIRY_NAME}")
BATCH = 500


class Expirer:
    """The expiry worker; a second copy is a hot standby."""

    def __init__(self, settings: Settings, stopping: threading.Event,
                 clock: Clock = system_clock):
        self.settings = settings
        self.stopping = stopping
        self.clock = clock

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        app = MemoryApplication(shared.env, clock=self.clock)
        view = open_view(MemoryItemsProjection, shared.env)
        locks = shared.locks.of(worker_lock_name(EXPIRY_NAME, app.name))
        while not self.stopping.is_set():
            if locks.try_acquire(ACTIVE):
                try:
                    self.expire_due(app, view)
                finally:
                    locks.release(ACTIVE)
                progressed()
            self.stopping.wait(self.settings.expiry_interval_seconds)

    def expire_due(self, app: MemoryApplication, view: MemoryItemsView) -> int:
        """Expire what is due now; how many memories expired."""
        expired = 0
        while due := view.due(self.clock(), BATCH):
            done = sum(self._expire(app, item_id) for item_id in due)
            expired += done
            if len(due) < BATCH or not done:  # the rest waits for the read model
                break
        if expired:
            log.info("expired %d memories", expired)
        return expired

    @staticmethod
    def _expire(app: MemoryApplication, item_id) -> bool:
        try:
            return app.expire(item_id, cause=EXPIRER) is not None
        except IntegrityError:  # changed by a concurrent command: looked at again next round
            return False
