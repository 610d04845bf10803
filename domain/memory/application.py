"""The memory context's service layer."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from cachetools import LRUCache
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from arqium.domain.journal import Saved
from arqium.domain.memory.contexts import (
    Context,
    ContextNotFound,
    ContextSyncConflict,
    StaleVersion,
    diff_patch,
    overlapping,
)
from arqium.domain.memory.domainmodel import (
    SEALED_SENSITIVITIES,
    MemoryItem,
    MemoryNotFound,
    MemoryOwner,
    WorkingSet,
    check_layer,
    check_not_seemingly_sealed,
    expiry_for,
    memory_id_for,
)
from arqium.domain.memory.vault_commands import VaultCommands
from arqium.domain.shared import (
    Clock,
    Conflict,
    command,
    get_aggregate,
    merge_patch,
    system_clock,
)

# Ids remembered as stored (~10 MB at most), as the integers of their UUIDs: each full
# garbage collection walks every UUID object that lives on (one a write, 65,536 once
# the cache is full), never an integer.
SEEN_MEMORIES = 65_536


def _changed_meanwhile(key: str) -> Conflict:
    return Conflict(f"memory {key!r} was changed by a concurrent request; retry the "
                    "request", key=key)


# What `clear` and `record_working_set` returned, for a retry after a crash
# (domain/journal.py).

def _cleared(app: Any, saved: Saved) -> tuple[int, int]:
    return len(saved.aggregates), saved.position  # one save per memory deleted


def _working_set_recorded(app: Any, saved: Saved) -> tuple[int, int]:
    return saved.last(WorkingSet).total_tokens, saved.position


@dataclass
class MemoryDraft:
    """What a caller asks to store under a key (None: a new memory under a fresh one)."""

    key: str | None
    content: Any
    layer: str = "temporary"
    confidence: float | None = None
    sensitivity: str = "public"
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    session_id: str | None = None
    context_id: str | None = None
    ttl_seconds: int | None = None


class MemoryApplication(VaultCommands, Application):
    name = "memory"

    def __init__(self, env: Any = None, *, clock: Clock = system_clock,
                 default_ttls: dict[str, int] | None = None, keys: Any = None,
                 promotion_threshold: float = 0.8, new_id: Callable[[], UUID] = uuid4):
        super().__init__(env)
        self.clock = clock
        self.new_id = new_id  # vaults', v0 memories', their contexts' and entries' ids
        self.promotion_threshold = promotion_threshold
        self.default_ttls = default_ttls or {"context": 15, "temporary": 10080}
        self.keys = keys  # owners' data-encryption keys, kept apart from the events
        # Memories this process saw stored: a hint only (another process may store any
        # key), so that updating a known key does not first try to create it.
        self._seen_memories: LRUCache[int, bool] = LRUCache(maxsize=SEEN_MEMORIES)
        self._seen_lock = threading.Lock()

    @command
    def upsert(self, owner_id: str, draft: MemoryDraft) -> tuple[MemoryItem, int]:
        """Create the memory under (owner, key), or supersede its content. A key this
        process has not seen stored is created without reading the store first (most
        stores name a new key); should it be stored after all, that save conflicts and
        the memory is loaded and superseded. Without a key, a new memory under a fresh
        one: should that key exist, the save conflicts rather than supersede it."""
        check_layer(draft.layer)
        content = self._protected(owner_id, draft)
        now = self.clock()
        expires_at = expiry_for(draft.layer, now, draft.ttl_seconds, self.default_ttls)
        key = str(self.new_id()) if draft.key is None else draft.key
        known = draft.key is not None and self._seen(owner_id, key)
        item = self._stored(owner_id, key) if known else None
        if item is None:
            item = MemoryItem(
                owner_id=owner_id, content=content, key=key,
                layer=draft.layer, confidence=draft.confidence,
                sensitivity=draft.sensitivity, tags=draft.tags, metadata=draft.metadata,
                session_id=draft.session_id, context_id=draft.context_id,
                expires_at=expires_at, at=now)
            try:
                return item, self._saved_memory(item)
            except IntegrityError:
                item = None if draft.key is None else self._stored(owner_id, key)
                if item is None:
                    raise _changed_meanwhile(key) from None
        if item.is_live(now):
            item.revise(content=content, layer=draft.layer, confidence=draft.confidence,
                        sensitivity=draft.sensitivity, tags=draft.tags,
                        metadata=draft.metadata, expires_at=expires_at, at=now)
        else:
            item.recreate(content=content, layer=draft.layer, confidence=draft.confidence,
                          sensitivity=draft.sensitivity, tags=draft.tags,
                          metadata=draft.metadata, session_id=draft.session_id,
                          context_id=draft.context_id, expires_at=expires_at, at=now)
        try:
            return item, self._saved_memory(item)
        except IntegrityError:
            raise _changed_meanwhile(key) from None

    def _seen(self, owner_id: str, key: str) -> bool:
        with self._seen_lock:
            return self._seen_memories.get(memory_id_for(owner_id, key).int, False)

    def _saved_memory(self, item: MemoryItem) -> int:
        """Save the memory, remembered as stored; its position."""
        recordings = self.save(item)
        with self._seen_lock:
            self._seen_memories[item.id.int] = True
        return recordings[-1].notification.id

    def _stored(self, owner_id: str, key: str) -> MemoryItem | None:
        try:
            return self.repository.get(memory_id_for(owner_id, key))
        except AggregateNotFoundError:
            return None

    @command
    def promote(self, owner_id: str, key: str, force: bool = False, merge: bool = False,
                reason: str = "requested") -> tuple[MemoryItem, int]:
        """Promote the owner's memory one layer up. With merge, its content is merged
        (JSON merge patch) onto what the memory held when it was last in the target
        layer, if it ever was; the event records whether a merge happened."""
        item = self.owned_item(owner_id, memory_id_for(owner_id, key))
        to_layer = item.check_promotable(self.promotion_threshold, force)
        base = item.content_in_layer(to_layer) if merge else None
        content, merged = item.content, False
        if base is not None:
            current = self.keys.readable(owner_id, item.content)
            merged_content = merge_patch(self.keys.readable(owner_id, base), current)
            content, merged = self._protected(owner_id, MemoryDraft(
                key=key, content=merged_content, sensitivity=item.sensitivity)), True
        now = self.clock()
        item.promote(threshold=self.promotion_threshold, force=force, reason=reason,
                     content=content, merged=merged,
                     expires_at=expiry_for(to_layer, now, None, self.default_ttls), at=now)
        return item, self.save(item)[-1].notification.id

    @command
    def delete(self, owner_id: str, item_id: UUID, reason: str = "deleted"
               ) -> tuple[MemoryItem, int]:
        """Delete one of the owner's live memories (by id; see memory_id_for for keys)."""
        item = self.owned_item(owner_id, item_id)
        item.delete(reason=reason, at=self.clock())
        return item, self.save(item)[-1].notification.id

    @command(replay=_cleared)
    def clear(self, owner_id: str, item_ids: list[UUID]) -> tuple[int, int | None]:
        """Delete each of these memories that is still live, each with its own event;
        how many were deleted and the last position."""
        now, position, cleared = self.clock(), None, 0
        for item_id in item_ids:
            item = self.repository.get(item_id)
            if item.owner_id == owner_id and item.is_live(now):
                item.delete(reason="cleared", at=now)
                position, cleared = self.save(item)[-1].notification.id, cleared + 1
        return cleared, position

    @command
    def expire(self, item_id: UUID) -> int | None:
        """Record a due expiry (the expiry worker's command); None if none was due."""
        item: MemoryItem = self.repository.get(item_id)
        if not item.expire(self.clock()):
            return None
        return self.save(item)[-1].notification.id

    def owned_item(self, owner_id: str, item_id: UUID) -> MemoryItem:
        """The owner's live memory with that id; anyone else's is not found."""
        item = get_aggregate(self.repository, item_id, MemoryItem,
                             MemoryNotFound("no such memory"))
        if item.owner_id != owner_id:
            raise MemoryNotFound("no such memory")
        item.check_live(self.clock())
        return item

    @command(replay=_working_set_recorded)
    def record_working_set(self, owner_id: str, chat_id: str, shown: list[dict],
                           max_tokens: int) -> tuple[int, int]:
        """Record which memories (`id`, `version`, `tokens`) a model is shown for a
        chat; their exact token total and the record's position."""
        total = sum(memory["tokens"] for memory in shown)
        working_set = WorkingSet(
            owner_id=owner_id, chat_id=chat_id,
            memory_ids=[str(memory["id"]) for memory in shown],
            memory_versions=[memory["version"] for memory in shown],
            total_tokens=total, max_tokens=max_tokens, at=self.clock())
        return total, self.save(working_set)[-1].notification.id

    # --- contexts ------------------------------------------------------------------

    @command
    def create_context(self, owner_id: str, name: str, state: dict,
                       session_id: str | None) -> tuple[Context, int]:
        context = Context(owner_id=owner_id, name=name, state=state, session_id=session_id,
                          at=self.clock())
        return context, self.save(context)[-1].notification.id

    @command
    def replace_context(self, owner_id: str, context_id: UUID, name: str | None,
                        state: dict | None, expected_version: int | None
                        ) -> tuple[Context, int]:
        context = self.owned_context(owner_id, context_id)
        context.replace(name, state, expected_version, self.clock())
        return context, self._save_context(context)

    @command
    def sync_context(self, owner_id: str, context_id: UUID, client_state: dict,
                     base_version: int) -> tuple[Context, int]:
        """Merge the client's changes since `base_version` unless they touch what
        changed on the server since then (ContextSyncConflict, with the current state)."""
        context = self.owned_context(owner_id, context_id)
        context.check_base_version(base_version)
        base = self.repository.get(context.id, version=base_version)
        changes = diff_patch(base.state, client_state)
        clashes = overlapping(changes, diff_patch(base.state, context.state))
        if clashes:
            raise ContextSyncConflict(
                "the context changed since base_version in the same places: "
                + ", ".join(sorted(clashes)), state=context.state, version=context.version,
                conflicts=sorted(clashes))
        context.sync(changes=changes, base_version=base_version, at=self.clock())
        return context, self._save_context(context)

    @command
    def delete_context(self, owner_id: str, context_id: UUID) -> int:
        context = self.owned_context(owner_id, context_id)
        context.delete(at=self.clock())
        return self._save_context(context)

    def owned_context(self, owner_id: str, context_id: UUID) -> Context:
        context = get_aggregate(self.repository, context_id, Context,
                                ContextNotFound("no such context"))
        if context.owner_id != owner_id or context.deleted:
            raise ContextNotFound("no such context")
        return context

    def _save_context(self, context: Context) -> int:
        try:
            return self.save(context)[-1].notification.id
        except IntegrityError:
            raise StaleVersion("the context was changed by a concurrent request; "
                               "read it again and retry") from None

    def history(self, owner_id: str, item_id: UUID) -> list[dict]:
        """Every version of the owner's memory, oldest first, read from its events. Any
        other id, whatever it names (another owner's memory, a v0 title claim), is not
        found alike: the answer must not tell what exists."""
        versions, layer = [], None
        for domain_event in self.events.get(item_id):
            if not isinstance(domain_event, MemoryItem.Event) or getattr(
                    domain_event, "owner_id", owner_id) != owner_id:
                raise MemoryNotFound("no such memory")
            layer = getattr(domain_event, "layer", layer)
            versions.append({
                "version": domain_event.originator_version,
                "type": type(domain_event).__name__, "layer": layer,
                "content": self.keys.readable(owner_id, getattr(domain_event, "content",
                                                                None)),
                "confidence": getattr(domain_event, "confidence", None),
                "actor": domain_event.actor, "correlation_id": domain_event.correlation_id,
                "at": domain_event.at})
        if not versions:
            raise MemoryNotFound("no such memory")
        return versions

    def readable_content(self, item: MemoryItem) -> Any:
        """The item's content as its owner wrote it (None once crypto-shredded)."""
        return self.keys.readable(item.owner_id, item.content)

    @command
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
        check_not_seemingly_sealed(draft.content)
        return draft.content
