"""The memory application's commands for vaults, their memories, contexts and entries
(the Memory Service v0 face). Cascades (a vault's memories, a memory's entries) are
saved in one atomic write with the deletion that causes them."""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from arqium.domain.journal import Saved, remember
from arqium.domain.memory.domainmodel import MemoryItem, memory_id_for
from arqium.domain.memory.vaults import (
    DEFAULT_CONTEXT,
    CollectionNotFound,
    MemoryCollection,
    TitleClaim,
    TitleTaken,
    Vault,
    VaultNotFound,
    check_raw_entry,
    entry_key,
    memory_scope,
    tag_names,
    vault_scope,
)
from arqium.domain.shared import Cause, command, get_aggregate


def _context_put(app: Any, saved: Saved) -> tuple[str, datetime, int]:
    """What `put_memory_context` returned, for a retry after a crash (domain/journal.py)."""
    return (saved.notes["context_id"], datetime.fromisoformat(saved.notes["at"]),
            saved.position)


ENTRY_LAYER = "permanent"  # entries live until deleted or their expirationTime


class VaultCommands:
    """Mixed into MemoryApplication: uses its repository, save, clock, ids and items."""

    repository: Any
    recorder: Any
    clock: Any
    new_id: Callable[[], UUID]
    save: Any
    delete: Any
    owned_item: Any

    @command
    def create_vault(self, owner_id: str, title: str, description: str
                     ) -> tuple[Vault, int]:
        vault = Vault(id=self.new_id(), owner_id=owner_id, title=title,
                      description=description, at=self.clock())
        claim = self._claim(vault_scope(owner_id), title, str(vault.id))
        return vault, self._save_titled(title, vault, claim)

    @command
    def delete_vault(self, owner_id: str, vault_id: str, memory_ids: list[str],
                     entry_ids: list[Any]) -> int:
        """Delete the vault with its memories and their entries (ids from the read
        models, which the caller has let catch up)."""
        vault = self.owned_vault(owner_id, vault_id)
        now = self.clock()
        vault.delete(at=now)
        released = [self._released(vault_scope(owner_id), vault.title)]
        for memory_id in memory_ids:
            collection = self._collection(memory_id)
            if collection.is_in_vault(owner_id, vault_id):
                collection.delete(at=now)
                released += [collection, self._released(memory_scope(vault_id),
                                                        collection.title)]
        gone = self._deleted_entries(owner_id, entry_ids, now)
        return self.save(vault, *released, *gone)[-1].notification.id

    @command
    def create_memory(self, owner_id: str, vault_id: str, title: str, memory_type: str,
                      description: str) -> tuple[MemoryCollection, int]:
        """A new memory in the vault, with a first (empty) context."""
        self.owned_vault(owner_id, vault_id)
        collection = MemoryCollection(
            id=self.new_id(), owner_id=owner_id, vault_id=vault_id, title=title,
            memory_type=memory_type, description=description,
            context_id=str(self.new_id()), context=DEFAULT_CONTEXT,
            at=self.clock())
        claim = self._claim(memory_scope(vault_id), title, str(collection.id))
        return collection, self._save_titled(title, collection, claim)

    @command
    def attach_memory(self, owner_id: str, vault_id: str, memory_id: str
                      ) -> tuple[MemoryCollection, int]:
        """Move one of the owner's memories into this vault (its title moves along)."""
        self.owned_vault(owner_id, vault_id)
        collection = self._collection(memory_id)
        if collection.owner_id != owner_id or collection.deleted:
            raise CollectionNotFound("memory not found")
        if collection.vault_id == vault_id:
            return collection, self.recorder.max_notification_id() or 0
        released = self._released(memory_scope(collection.vault_id), collection.title)
        claim = self._claim(memory_scope(vault_id), collection.title, memory_id)
        collection.attach(vault_id=vault_id, at=self.clock())
        return collection, self._save_titled(collection.title, collection, released, claim)

    @command
    def delete_memory(self, owner_id: str, vault_id: str, memory_id: str,
                      entry_ids: list[Any]) -> int:
        collection = self.memory_in_vault(owner_id, vault_id, memory_id)
        now = self.clock()
        collection.delete(at=now)
        released = self._released(memory_scope(vault_id), collection.title)
        gone = self._deleted_entries(owner_id, entry_ids, now)
        return self.save(collection, released, *gone)[-1].notification.id

    @command(replay=_context_put)
    def put_memory_context(self, owner_id: str, vault_id: str, memory_id: str, context: Any
                    ) -> tuple[str, datetime, int]:
        """A new latest context of the memory (earlier ones stay in its history)."""
        collection = self.memory_in_vault(owner_id, vault_id, memory_id)
        context_id, now = str(self.new_id()), self.clock()
        remember("context_id", context_id)
        remember("at", now.isoformat())
        collection.put_context(context_id=context_id, context=context, at=now)
        return context_id, now, self.save(collection)[-1].notification.id

    @command
    def delete_memory_context(self, owner_id: str, vault_id: str, memory_id: str,
                       context_id: str) -> int:
        collection = self.memory_in_vault(owner_id, vault_id, memory_id)
        collection.delete_context(context_id, at=self.clock())
        return self.save(collection)[-1].notification.id

    @command
    def add_entry(self, owner_id: str, vault_id: str, memory_id: str, raw_entry: str,
                  tags: list[str] | dict[str, str] | None, summary: str | None, metadata: dict,
                  expires_at: datetime | None) -> tuple[MemoryItem, int]:
        collection = self.memory_in_vault(owner_id, vault_id, memory_id)
        check_raw_entry(raw_entry)
        entry_id = str(self.new_id())
        item = MemoryItem(
            owner_id=owner_id, key=entry_key(memory_id, entry_id), content=raw_entry,
            layer=ENTRY_LAYER, confidence=None, sensitivity="public",
            tags=tag_names(tags), metadata=entry_metadata(
                entry_id, memory_id, collection.memory_type, summary, tags, metadata),
            session_id=None, context_id=None, expires_at=expires_at, at=self.clock())
        return item, self.save(item)[-1].notification.id

    @command
    def retag_entry(self, owner_id: str, vault_id: str, memory_id: str, entry_id: str,
                    tags: list[str] | dict[str, str] | None) -> tuple[MemoryItem, int]:
        self.memory_in_vault(owner_id, vault_id, memory_id)
        item = self.owned_item(owner_id, memory_id_for(owner_id, entry_key(memory_id,
                                                                           entry_id)))
        v0 = {**item.metadata["v0"], "tags": tags}
        item.revise(content=item.content, layer=item.layer, confidence=item.confidence,
                    sensitivity=item.sensitivity, tags=tag_names(tags),
                    metadata={**item.metadata, "v0": v0}, expires_at=item.expires_at,
                    at=self.clock())
        return item, self.save(item)[-1].notification.id

    @command
    def delete_entry(self, owner_id: str, vault_id: str, memory_id: str,
                     entry_id: str, *, cause: Cause) -> int:
        self.memory_in_vault(owner_id, vault_id, memory_id)
        item_id = memory_id_for(owner_id, entry_key(memory_id, entry_id))
        return self.delete(owner_id, item_id, reason="entry deleted", cause=cause)[1]

    @command
    def discard_entry(self, owner_id: str, vault_id: str, memory_id: str,
                      entry_id: str) -> int | None:
        """Delete the entry if it is live; None if it is not (deleted, expired, never
        stored): a client that deletes twice is told nothing new."""
        self.memory_in_vault(owner_id, vault_id, memory_id)
        item_id = memory_id_for(owner_id, entry_key(memory_id, entry_id))
        if item_id not in self.repository:
            return None
        item: MemoryItem = self.repository.get(item_id)
        now = self.clock()
        if item.owner_id != owner_id or not item.is_live(now):
            return None
        item.delete(reason="entry deleted", at=now)
        return self.save(item)[-1].notification.id

    def owned_vault(self, owner_id: str, vault_id: str) -> Vault:
        vault = get_aggregate(self.repository, vault_id, Vault,
                              VaultNotFound("vault not found"))
        vault.check_owned_by(owner_id)
        return vault

    def memory_in_vault(self, owner_id: str, vault_id: str, memory_id: str
                        ) -> MemoryCollection:
        self.owned_vault(owner_id, vault_id)
        collection = self._collection(memory_id)
        collection.check_in_vault(owner_id, vault_id)
        return collection

    def _collection(self, memory_id: str) -> MemoryCollection:
        return get_aggregate(self.repository, memory_id, MemoryCollection,
                             CollectionNotFound("memory not found"))

    def _claim(self, scope: str, title: str, holder_id: str) -> TitleClaim:
        claim_id = TitleClaim.create_id(scope, title)
        if claim_id not in self.repository:
            return TitleClaim(scope=scope, title=title, holder_id=holder_id)
        claim: TitleClaim = self.repository.get(claim_id)
        claim.claim(holder_id, title)
        return claim

    def _released(self, scope: str, title: str) -> TitleClaim:
        claim: TitleClaim = self.repository.get(TitleClaim.create_id(scope, title))
        claim.release()
        return claim

    def _deleted_entries(self, owner_id: str, entry_ids: list[Any], now: datetime
                         ) -> list[MemoryItem]:
        items = [self.repository.get(item_id) for item_id in entry_ids]
        live = [item for item in items if item.owner_id == owner_id and item.is_live(now)]
        for item in live:
            item.delete(reason="memory deleted", at=now)
        return live

    def _save_titled(self, title: str, *aggregates: Any) -> int:
        """Save a titled aggregate with its claim; a concurrent claim of the same
        title makes the whole write fail."""
        try:
            return self.save(*aggregates)[-1].notification.id
        except IntegrityError:
            raise TitleTaken(f"the title {title!r} is already taken", field="title"
                             ) from None


def entry_metadata(entry_id: str, memory_id: str, memory_type: str, summary: str | None,
                   tags: list[str] | dict[str, str] | None, metadata: dict) -> dict:
    """What an entry's memory item keeps for the v0 face, under `v0`: its ids, its
    memory's type, its summary, its tags in the shape the client sent (None: sent
    none), its metadata."""
    return {"v0": {"entryId": entry_id, "memoryId": memory_id, "memoryType": memory_type,
                   "summary": summary, "tags": tags, "metadata": metadata}}
