"""Analyses every uploaded file: `pending` → `processing` → `complete` (with its
figures) or `failed` (with the reason), each step an event.

It takes the oldest files whose analysis has not ended from the files read model, those
left `processing` by a worker that died included, so nothing stays stuck: a file is
analysed again from the start, and the analysis is a pure function of its bytes. Up to
ARQIUM_ANALYSIS_PROCESSES files at a time, each in a child process bounded in time and
memory (infra/analysis_sandbox.py). A file deleted meanwhile, or whose analysis another
copy ended, is skipped."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.persistence import IntegrityError

from arqium.domain.files.application import FilesApplication
from arqium.domain.files.domainmodel import AnalysisEnded, FileNotFound
from arqium.domain.shared import Cause, Clock, system_clock
from arqium.infra.analysis_sandbox import Interrupted, analyse_bounded
from arqium.infra.blobs import BlobNotFound, BlobStore, open_blobs
from arqium.infra.document_text import local_copy
from arqium.infra.file_analysis import Unreadable
from arqium.infra.locks import ACTIVE, worker_lock_name
from arqium.infra.settings import Settings
from arqium.projections.base import open_view
from arqium.projections.files import FilesProjection, FilesView
from arqium.projections.storable import storable
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.file_analysis")

ANALYSIS_NAME = "file_analysis"
ANALYST = Cause(actor=f"worker:{ANALYSIS_NAME}")
BATCH = 20
SKIPPED = (FileNotFound, AnalysisEnded, IntegrityError)  # deleted, ended, or changed


class FileAnalyst:
    """The analysis worker; a second copy is a hot standby."""

    def __init__(self, settings: Settings, stopping: threading.Event,
                 clock: Clock = system_clock):
        self.settings, self.stopping, self.clock = settings, stopping, clock

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        app = FilesApplication(shared.env, clock=self.clock)
        view = open_view(FilesProjection, shared.env)
        blobs = open_blobs(self.settings)
        locks = shared.locks.of(worker_lock_name(ANALYSIS_NAME, app.name))
        channel = app.recorder.channel_name  # type: ignore[attr-defined]
        with shared.listener.wakeups(channel) as wakeup:
            while not self.stopping.is_set():
                wakeup.clear()  # before looking: a commit from now on wakes the wait
                if locks.try_acquire(ACTIVE):
                    try:
                        self.analyse_waiting(app, view, blobs)
                    finally:
                        locks.release(ACTIVE)
                    progressed()
                wakeup.wait(self.settings.analysis_poll_seconds)

    def analyse_waiting(self, app: FilesApplication, view: FilesView,
                        blobs: BlobStore) -> int:
        """Analyse the files waiting, oldest first; how many ended."""
        ended = 0
        while not self.stopping.is_set():
            self._catch_up(app, view)
            waiting = view.unanalysed(BATCH)
            with ThreadPoolExecutor(self.settings.analysis_processes,
                                    thread_name_prefix=ANALYSIS_NAME) as analysts:
                done = sum(analysts.map(lambda row: self.analyse(app, blobs, row),
                                        waiting))
            ended += done
            if len(waiting) < BATCH or not done:  # the rest waits for the read model
                break
        return ended

    def _catch_up(self, app: FilesApplication, view: FilesView) -> None:
        """Give the read model a moment to hold the uploads that woke this round."""
        try:
            view.wait(app.name, app.recorder.max_notification_id(),
                      timeout=self.settings.analysis_poll_seconds)
        except TimeoutError:
            pass  # what it holds is analysed now, the rest in a later round

    def analyse(self, app: FilesApplication, blobs: BlobStore, row: dict) -> bool:
        """Analyse one file and record how it ended; False if it was skipped (or the
        worker is stopping, which leaves it `processing` for the next run)."""
        if self.stopping.is_set():  # the rest of a batch waits for the next run
            return False
        try:
            app.start_analysis(row["id"], cause=ANALYST)
        except SKIPPED:
            return False
        try:
            outcome: dict[str, Any] = {"result": storable(self.figures(blobs, row))}
        except Unreadable as unreadable:
            outcome = {"reason": str(unreadable)}
        except Interrupted:
            return False
        return self.record(app, row, **outcome)

    def figures(self, blobs: BlobStore, row: dict) -> dict:
        if not blobs.exists(row["sha256"]):
            raise Unreadable("the file's bytes are missing from the blob store")
        try:
            with local_copy(blobs, row["sha256"]) as path:
                return analyse_bounded(path, row["content_type"],
                                       self.settings.analysis_cpu_seconds,
                                       self.settings.analysis_memory_mb, self.stopping)
        except BlobNotFound:  # removed between the two looks
            raise Unreadable("the file's bytes are missing from the blob store") from None

    @staticmethod
    def record(app: FilesApplication, row: dict, result: dict | None = None,
               reason: str | None = None) -> bool:
        try:
            if reason is None:
                app.complete_analysis(row["id"], result or {}, cause=ANALYST)
            else:
                log.info("file %s (%s) could not be analysed: %s", row["id"],
                         row["content_type"], reason)
                app.fail_analysis(row["id"], reason, cause=ANALYST)
        except SKIPPED:
            return False
        return True
