"""The memory context's service layer."""

from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.memory.domainmodel import MemoryItem, check_layer, expiry_for, memory_id_for
from domain.shared import Clock, Conflict, system_clock


@dataclass
class MemoryDraft:
    """What a caller asks to store under a key."""

    key: str
    content: Any
    layer: str = "temporary"
    confidence: float | None = None
    sensitivity: str = "public"
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    session_id: str | None = None
    context_id: str | None = None
    ttl_seconds: int | None = None


class MemoryApplication(Application):
    name = "memory"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 default_ttls: dict[str, int] | None = None):
        super().__init__(env)
        self.clock = clock
        self.default_ttls = default_ttls or {"context": 15, "temporary": 10080}

    def upsert(self, owner_id: str, draft: MemoryDraft) -> tuple[MemoryItem, int]:
        """Create the memory under (owner, key), or supersede its content."""
        check_layer(draft.layer)
        now = self.clock()
        expires_at = expiry_for(draft.layer, now, draft.ttl_seconds, self.default_ttls)
        try:
            item: MemoryItem = self.repository.get(memory_id_for(owner_id, draft.key))
        except AggregateNotFoundError:
            item = MemoryItem(
                owner_id=owner_id, key=draft.key, content=draft.content, layer=draft.layer,
                confidence=draft.confidence, sensitivity=draft.sensitivity,
                tags=draft.tags, metadata=draft.metadata, session_id=draft.session_id,
                context_id=draft.context_id, expires_at=expires_at, at=now)
        else:
            item.revise(content=draft.content, layer=draft.layer,
                        confidence=draft.confidence, sensitivity=draft.sensitivity,
                        tags=draft.tags, metadata=draft.metadata,
                        expires_at=expires_at, at=now)
        try:
            recordings = self.save(item)
        except IntegrityError:
            raise Conflict(f"memory {draft.key!r} was changed by a concurrent request; "
                           "retry the request", key=draft.key) from None
        return item, recordings[-1].notification.id
