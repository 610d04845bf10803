"""The memory context's service layer."""

import json
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain.memory.domainmodel import (
    SEALED_SENSITIVITIES,
    MemoryItem,
    MemoryOwner,
    check_layer,
    expiry_for,
    memory_id_for,
)
from domain.shared import Clock, Conflict, is_sealed, system_clock


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
                 default_ttls: dict[str, int] | None = None, keys: Any = None):
        super().__init__(env)
        self.clock = clock
        self.default_ttls = default_ttls or {"context": 15, "temporary": 10080}
        self.keys = keys  # owners' data-encryption keys, kept apart from the events

    def upsert(self, owner_id: str, draft: MemoryDraft) -> tuple[MemoryItem, int]:
        """Create the memory under (owner, key), or supersede its content."""
        check_layer(draft.layer)
        content = self._protected(owner_id, draft)
        now = self.clock()
        expires_at = expiry_for(draft.layer, now, draft.ttl_seconds, self.default_ttls)
        try:
            item: MemoryItem = self.repository.get(memory_id_for(owner_id, draft.key))
        except AggregateNotFoundError:
            item = MemoryItem(
                owner_id=owner_id, key=draft.key, content=content, layer=draft.layer,
                confidence=draft.confidence, sensitivity=draft.sensitivity,
                tags=draft.tags, metadata=draft.metadata, session_id=draft.session_id,
                context_id=draft.context_id, expires_at=expires_at, at=now)
        else:
            item.revise(content=content, layer=draft.layer,
                        confidence=draft.confidence, sensitivity=draft.sensitivity,
                        tags=draft.tags, metadata=draft.metadata,
                        expires_at=expires_at, at=now)
        try:
            recordings = self.save(item)
        except IntegrityError:
            raise Conflict(f"memory {draft.key!r} was changed by a concurrent request; "
                           "retry the request", key=draft.key) from None
        return item, recordings[-1].notification.id

    def readable_content(self, item: MemoryItem) -> Any:
        """The item's content as its owner wrote it (sealed content opened)."""
        if is_sealed(item.content):
            return json.loads(self.keys.open(item.owner_id, item.content))
        return item.content

    def forget_owner(self, owner_id: str) -> int | None:
        """Remove the owner's memories from every read model (their history stays)."""
        if MemoryOwner.create_id(owner_id) in self.repository:
            return None
        owner = MemoryOwner(owner_id=owner_id, at=self.clock())
        return self.save(owner)[-1].notification.id

    def _protected(self, owner_id: str, draft: MemoryDraft) -> Any:
        """Sensitive content is sealed with the owner's key before it enters an event."""
        if draft.sensitivity in SEALED_SENSITIVITIES:
            return self.keys.seal(owner_id, json.dumps(draft.content))
        return draft.content
