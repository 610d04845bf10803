"""Removes the blobs no file holds any more (deleted files' bytes, and those of uploads
that failed between storing their bytes and recording them).

Deleting a file records an event only; this sweep is what frees its bytes, so a crash
anywhere leaves at most a blob for the next round, never a file without its bytes: a
blob goes only when the files read model has every event stored before the round began
and names no live file holding it, and it was last stored longer ago than
ARQIUM_BLOB_GRACE_SECONDS (an upload refreshes an existing blob before it is
recorded, so one under way keeps its bytes)."""

import itertools
import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from arqium.domain.files.application import FilesApplication
from arqium.domain.shared import Clock, system_clock
from arqium.infra.blobs import BlobNotFound, BlobStore, open_blobs
from arqium.infra.locks import ACTIVE, worker_lock_name
from arqium.infra.settings import Settings
from arqium.projections.base import open_view
from arqium.projections.files import FilesProjection, FilesView
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.blob_sweep")

BLOB_SWEEP_NAME = "blob_sweep"
BATCH = 500


def sweep(blobs: BlobStore, view: FilesView, head: int | None, clock: Clock,
          grace: timedelta) -> list[str]:
    """Remove the blobs no live file holds, old enough; their addresses. Nothing while
    the read model has not reached `head` (the files application's last position)."""
    if head is not None and not view.has_tracking_id(FilesProjection.application.name,
                                                     head):
        return []
    removed: list[str] = []
    addresses = blobs.addresses()
    while batch := list(itertools.islice(addresses, BATCH)):
        held = view.referenced(batch)
        removed += [address for address in batch
                    if address not in held and _stale(blobs, address, clock, grace)]
    for address in removed:
        blobs.delete(address)
    return removed


def _stale(blobs: BlobStore, address: str, clock: Clock, grace: timedelta) -> bool:
    try:
        return blobs.modified(address) < clock() - grace
    except BlobNotFound:  # removed meanwhile (another sweeper)
        return False


class BlobSweeper:
    """The sweep worker; a second copy is a hot standby."""

    def __init__(self, settings: Settings, stopping: threading.Event,
                 clock: Clock = system_clock):
        self.settings, self.stopping, self.clock = settings, stopping, clock

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        app = FilesApplication(shared.env, clock=self.clock)
        view = open_view(FilesProjection, shared.env)
        blobs = open_blobs(self.settings)
        grace = timedelta(seconds=self.settings.blob_grace_seconds)
        locks = shared.locks.of(worker_lock_name(BLOB_SWEEP_NAME, app.name))
        while not self.stopping.is_set():
            if locks.try_acquire(ACTIVE):
                try:
                    removed = sweep(blobs, view, app.recorder.max_notification_id(),
                                    self.clock, grace)
                finally:
                    locks.release(ACTIVE)
                if removed:
                    log.info("removed %d blobs no file holds", len(removed))
                progressed()
            self.stopping.wait(self.settings.blob_sweep_seconds)
