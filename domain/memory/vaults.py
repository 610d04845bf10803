"""Vaults and the memories (collections of entries) they hold, as the Memory Service v0
face shows them. An entry is a MemoryItem of the collection's owner, so it is searched,
expired and forgotten like every other memory."""

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.shared import ArqiumAggregate, Conflict, Invalid, NotFound

MAX_TITLE = 100
MAX_RAW_ENTRY = 9000
ENTRY_KEY_PREFIX = "v0/"  # entries' memory keys: v0/<memory id>/<entry id>
DEFAULT_CONTEXT: dict = {}  # a new memory's first context


class VaultNotFound(NotFound):
    pass


class CollectionNotFound(NotFound):
    pass


class ContextNotFound(NotFound):
    pass


class TitleTaken(Conflict):
    pass


class Vault(ArqiumAggregate):
    @event("Created")
    def __init__(self, id: UUID, owner_id: str, title: str, description: str,
                 at: datetime):
        check_title(title)
        self.owner_id = owner_id
        self.title = title
        self.description = description
        self.created_at = at
        self.deleted = False

    @event("Deleted")
    def delete(self, at: datetime) -> None:
        self.deleted = True

    def check_owned_by(self, owner_id: str) -> None:
        if self.owner_id != owner_id or self.deleted:
            raise VaultNotFound("vault not found")


class MemoryCollection(ArqiumAggregate):
    """A memory of the v0 face: a titled collection of entries with a history of
    contexts (the latest one is current)."""

    @event("Created")
    def __init__(self, id: UUID, owner_id: str, vault_id: str, title: str, memory_type: str,
                 description: str, context_id: str, context: Any, at: datetime):
        check_title(title)
        self.owner_id = owner_id
        self.vault_id = vault_id
        self.title = title
        self.memory_type = memory_type
        self.description = description
        self.created_at = self.updated_at = at
        self.context_ids = [context_id]
        self.deleted = False

    @event("Attached")
    def attach(self, vault_id: str, at: datetime) -> None:
        """Moved into another vault of the same owner."""
        self.vault_id = vault_id
        self.updated_at = at

    @event("ContextPut")
    def put_context(self, context_id: str, context: Any, at: datetime) -> None:
        self.context_ids = [*self.context_ids, context_id]

    def delete_context(self, context_id: str, at: datetime) -> None:
        if context_id not in self.context_ids:
            raise ContextNotFound("context not found")
        self._context_deleted(context_id=context_id, at=at)

    @event("ContextDeleted")
    def _context_deleted(self, context_id: str, at: datetime) -> None:
        self.context_ids = [known for known in self.context_ids if known != context_id]

    @event("Deleted")
    def delete(self, at: datetime) -> None:
        self.deleted = True

    def is_in_vault(self, owner_id: str, vault_id: str) -> bool:
        return self.owner_id == owner_id and self.vault_id == vault_id and not self.deleted

    def check_in_vault(self, owner_id: str, vault_id: str) -> None:
        if not self.is_in_vault(owner_id, vault_id):
            raise CollectionNotFound("memory not found")


class TitleClaim(ArqiumAggregate):
    """Who holds a title within its scope (an owner's vaults, a vault's memories):
    saved with the holder, so two holders can never take one title."""

    @staticmethod
    def create_id(scope: str, title: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:v0-title:{scope}:{title}")

    @event("Claimed")
    def __init__(self, scope: str, title: str, holder_id: str):
        self.holder_id: str | None = holder_id

    def claim(self, holder_id: str, title: str) -> None:
        if self.holder_id is not None:
            raise TitleTaken(f"the title {title!r} is already taken", field="title")
        self._reclaimed(holder_id=holder_id)

    @event("Reclaimed")
    def _reclaimed(self, holder_id: str) -> None:
        self.holder_id = holder_id

    @event("Released")
    def release(self) -> None:
        self.holder_id = None


def check_title(title: str) -> None:
    """1-100 printable characters, not all blank, no '/' (a title is a path segment,
    URL-encoded: 'Vault Title' is 'Vault%20Title')."""
    if not (0 < len(title) <= MAX_TITLE and title.isprintable() and title.strip()
            and "/" not in title):
        raise Invalid(f"title must be 1-{MAX_TITLE} printable characters, not all "
                      "blank, without '/'", field="title")


def check_raw_entry(raw_entry: str) -> None:
    if not raw_entry.strip():
        raise Invalid("rawEntry must not be empty or blank", field="rawEntry")
    if len(raw_entry) > MAX_RAW_ENTRY:
        raise Invalid(f"rawEntry is longer than {MAX_RAW_ENTRY} characters",
                      field="rawEntry")


def vault_scope(owner_id: str) -> str:
    return f"vaults:{owner_id}"


def memory_scope(vault_id: str) -> str:
    return f"memories:{vault_id}"


def entry_key(memory_id: str, entry_id: str) -> str:
    return f"{ENTRY_KEY_PREFIX}{memory_id}/{entry_id}"


def entry_key_prefix(memory_id: str | None) -> str:
    """Keys of one memory's entries (of all entries when memory_id is None)."""
    return ENTRY_KEY_PREFIX if memory_id is None else f"{ENTRY_KEY_PREFIX}{memory_id}/"


def tag_names(tags: list[str] | dict[str, str] | None) -> list[str]:
    """What tag filters match: array items, or object keys (none without tags)."""
    if tags is None:
        return []
    return list(tags) if isinstance(tags, dict) else [str(tag) for tag in tags]
