"""Seals a ledger digest every ARQIUM_LEDGER_DIGEST_SECONDS when the ledger moved since
the last seal (see domain/ledger/digest.py); a second copy is a hot standby."""

import logging
import threading
from collections.abc import Callable

from eventsourcing.persistence import IntegrityError

from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.ledger.digest import (
    LedgerDamaged,
    LedgerDigest,
    LedgerHeads,
    seal_digest,
)
from arqium.domain.shared import Cause, Clock, system_clock
from arqium.infra.locks import ACTIVE, worker_lock_name
from arqium.infra.settings import Settings
from arqium.workers.resources import WorkerResources

log = logging.getLogger("arqium.ledger_digest")

LEDGER_DIGEST_NAME = "ledger_digest"
SEALER = Cause(actor=f"worker:{LEDGER_DIGEST_NAME}")


class DigestSealer:
    """The digest worker. It keeps every object's head between rounds, so a round reads
    only the events stored since the previous one."""

    def __init__(self, settings: Settings, stopping: threading.Event,
                 clock: Clock = system_clock):
        self.settings = settings
        self.stopping = stopping
        self.clock = clock
        self.heads = LedgerHeads()

    def run(self, shared: WorkerResources, progressed: Callable[[], None] = lambda: None
            ) -> None:
        app = LedgerApplication(shared.env, clock=self.clock)
        locks = shared.locks.of(worker_lock_name(LEDGER_DIGEST_NAME, app.name))
        while not self.stopping.is_set():
            if locks.try_acquire(ACTIVE):
                try:
                    self.seal(app)
                finally:
                    locks.release(ACTIVE)
                progressed()
            self.stopping.wait(self.settings.ledger_digest_seconds)

    def seal(self, app: LedgerApplication) -> LedgerDigest | None:
        """Seal what is new, if anything; the digest sealed."""
        try:
            digest = seal_digest(app, self.clock(), self.heads, cause=SEALER)
        except LedgerDamaged as error:  # verification reports it too; no seal over it
            log.error("not sealing: the ledger does not verify (%s)", error)
            return None
        except IntegrityError:  # sealed meanwhile by a standby that took over
            return None
        if digest:
            log.info("ledger sealed up to position %d: %s", digest.up_to_position,
                     digest.digest)
        return digest
