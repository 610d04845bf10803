"""The periodic ledger digest: one hash over every object's latest hash up to a position
of the ledger, chained to the previous digest, and recorded as an event of the ledger
itself (so it is on NATS and in the log like any other ledger event).

How an auditor checks a sealed digest against an export, with no server: take the
export's entries whose position is <= the seal's `up_to_position`, keep each object's
last `hash`, and compute `chain.digest_hash(prev_digest, heads)`; it must equal the
seal's `digest`, and `prev_digest` must be the previous seal's `digest` (GENESIS for
the first). `infra.ledger_audit.digest_up_to` does exactly that."""

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import event

from arqium.domain.ledger import chain
from arqium.domain.shared import ArqiumAggregate, Conflict, command

DIGEST_ID = uuid5(NAMESPACE_URL, "arqium:ledger:digest")  # one digest chain per ledger


class LedgerDamaged(Conflict):
    """The stored ledger does not verify: sealing it would vouch for the damage."""


class StaleSeal(Conflict):
    pass


class LedgerDigest(ArqiumAggregate):
    @staticmethod
    def create_id() -> UUID:
        return DIGEST_ID

    @event("Opened")
    def __init__(self) -> None:
        self.up_to_position = 0
        self.digest = chain.GENESIS

    def seal(self, up_to_position: int, heads: dict[str, str], at: datetime) -> None:
        """Seal the ledger up to a position: the digest of every object's latest hash
        there, chained to the previous seal."""
        self.check_moves_on(up_to_position)
        self._sealed(up_to_position=up_to_position, heads_count=len(heads),
                     digest=chain.digest_hash(self.digest, heads.items()),
                     prev_digest=self.digest, at=at)

    @event("Sealed")
    def _sealed(self, up_to_position: int, heads_count: int, digest: str, prev_digest: str,
                at: datetime) -> None:
        self.up_to_position = up_to_position
        self.digest = digest

    def check_moves_on(self, up_to_position: int) -> None:
        if up_to_position <= self.up_to_position:
            raise StaleSeal(f"the ledger is already sealed up to position "
                            f"{self.up_to_position}")


class LedgerHeads:
    """Every object's latest version and hash, each event checked against its chain as
    it is read; a sealer keeps one between seals, so each seal reads only what is new."""

    def __init__(self) -> None:
        self.position = 0  # of the last object event read
        self.latest: dict[str, tuple[int, str]] = {}
        self.type_names: dict[str, str] = {}  # a Transacted event's hash covers it

    def catch_up(self, ledger_app: Application) -> None:
        for item in ledger_app.entries(self.position + 1, type_names=self.type_names):
            previous = self.latest.get(item["object_id"], (0, chain.GENESIS))
            if reason := chain.failure(item, previous):
                raise LedgerDamaged(f"position {item['position']}: {reason}",
                                    object_id=item["object_id"], version=item["version"])
            self.latest[item["object_id"]] = (item["version"], item["hash"])
            self.position = item["position"]

    def hashes(self) -> dict[str, str]:
        return {object_id: head for object_id, (_, head) in self.latest.items()}


@command
def seal_digest(ledger_app: Application, at: datetime, heads: LedgerHeads | None = None
                ) -> LedgerDigest | None:
    """Seal the ledger up to its last object event if it moved since the last seal; the
    digest after sealing, or None when there was nothing new."""
    heads = heads or LedgerHeads()
    heads.catch_up(ledger_app)
    digest = current_digest(ledger_app)
    if heads.position <= digest.up_to_position:
        return None
    digest.seal(heads.position, heads.hashes(), at)
    ledger_app.save(digest)
    return digest


def current_digest(ledger_app: Application) -> LedgerDigest:
    """The ledger's digest chain so far (a fresh one before the first seal)."""
    try:
        return ledger_app.repository.get(DIGEST_ID)
    except AggregateNotFoundError:
        return LedgerDigest()


def sealed(ledger_app: Application) -> list[dict]:
    """Every seal so far, oldest first, as an auditor compares it with an export."""
    return [{"up_to_position": e.up_to_position, "heads_count": e.heads_count,
             "digest": e.digest, "prev_digest": e.prev_digest, "at": e.at.isoformat()}
            for e in ledger_app.events.get(DIGEST_ID) if isinstance(e, LedgerDigest.Sealed)]
