"""Memory items: owned by a user, identified by their key within that owner."""

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from arqium.domain.memory.vaults import ENTRY_KEY_PREFIX
from arqium.domain.shared import (
    SEALED,
    ArqiumAggregate,
    Conflict,
    Invalid,
    NotFound,
    is_sealed,
)

LAYERS = ("context", "temporary", "permanent")
SEALED_SENSITIVITIES = ("secret", "pii")  # stored encrypted with the owner's data key
MAX_KEY_LENGTH = 255
MAX_TTL_SECONDS = 100 * 366 * 86400  # an expiry 100 years on at most
MAX_CONTENT_BYTES = 1024 * 1024


class LayerConflict(Conflict):
    pass


class MemoryNotFound(NotFound):
    pass


class PromotionRefused(Invalid):
    pass


PROMOTIONS = {"context": "temporary", "temporary": "permanent"}


class MemoryItem(ArqiumAggregate):
    """A memory. Upserting it again supersedes its content; the old stays in history."""

    @staticmethod
    def create_id(owner_id: str, key: str) -> UUID:
        return memory_id_for(owner_id, key)

    @event("Upserted")
    def __init__(self, owner_id: str, key: str, content: Any, layer: str,
                 confidence: float | None, sensitivity: str, tags: list[str],
                 metadata: dict, session_id: str | None, context_id: str | None,
                 expires_at: datetime | None, at: datetime):
        self.owner_id = owner_id
        self.key = key
        self.layer = layer
        self.session_id = session_id
        self.context_id = context_id
        self.created_at = at
        self.gone = False
        self.promoted_at: datetime | None = None
        self.contents_by_layer: dict[str, Any] = {}
        self._apply_revision(content, confidence, sensitivity, tags, metadata, expires_at, at)

    def is_live(self, now: datetime) -> bool:
        """Neither deleted nor expired (an expiry is due from its time on, even before
        the expiry worker records it)."""
        return not self.gone and (self.expires_at is None or self.expires_at > now)

    @event("Recreated")
    def recreate(self, content: Any, layer: str, confidence: float | None,
                 sensitivity: str, tags: list[str], metadata: dict,
                 session_id: str | None, context_id: str | None,
                 expires_at: datetime | None, at: datetime) -> None:
        """A new life under the same key after the memory was deleted or expired."""
        self.layer = layer
        self.session_id = session_id
        self.context_id = context_id
        self.created_at = at
        self.gone = False
        self._apply_revision(content, confidence, sensitivity, tags, metadata, expires_at, at)

    def delete(self, reason: str, at: datetime) -> None:
        self.check_live(at)
        self._deleted(reason=reason, at=at)

    @event("Deleted")
    def _deleted(self, reason: str, at: datetime) -> None:
        self.gone = True

    def expire(self, at: datetime) -> bool:
        """Record the expiry if it is due; False if there is nothing to expire."""
        if self.gone or self.expires_at is None or self.expires_at > at:
            return False
        self._expired(at=at)
        return True

    @event("Expired")
    def _expired(self, at: datetime) -> None:
        self.gone = True

    def check_live(self, now: datetime) -> None:
        if not self.is_live(now):
            raise MemoryNotFound(f"no memory with key {self.key!r}", key=self.key)

    def revise(self, *, content: Any, layer: str, confidence: float | None,
               sensitivity: str, tags: list[str], metadata: dict,
               expires_at: datetime | None, at: datetime) -> None:
        self.check_same_layer(layer)
        self._revised(content=content, confidence=confidence, sensitivity=sensitivity,
                      tags=tags, metadata=metadata, expires_at=expires_at, at=at)

    @event("Revised")
    def _revised(self, content: Any, confidence: float | None, sensitivity: str,
                 tags: list[str], metadata: dict, expires_at: datetime | None,
                 at: datetime) -> None:
        self._apply_revision(content, confidence, sensitivity, tags, metadata, expires_at, at)

    def promote(self, *, threshold: float, force: bool, reason: str,
                content: Any, merged: bool, expires_at: datetime | None, at: datetime) -> None:
        """Move one layer up (context → temporary → permanent)."""
        self.check_live(at)
        to_layer = self.check_promotable(threshold, force)
        self._promoted(from_layer=self.layer, to_layer=to_layer, reason=reason,
                       forced=force, merged=merged, content=content,
                       expires_at=expires_at, at=at)

    @event("Promoted")
    def _promoted(self, from_layer: str, to_layer: str, reason: str, forced: bool,
                  merged: bool, content: Any, expires_at: datetime | None,
                  at: datetime) -> None:
        self.layer = to_layer
        self.content = content
        self.contents_by_layer[to_layer] = content
        self.expires_at = expires_at
        self.promoted_at = at
        self.updated_at = at

    def check_promotable(self, threshold: float, force: bool) -> str:
        """The layer it would be promoted to; PromotionRefused if the rules say no."""
        if self.layer not in PROMOTIONS:
            raise PromotionRefused(f"memory {self.key!r} is already permanent",
                                   rule="already_permanent", field="key")
        if not force and (self.confidence or 0.0) < threshold:
            stated = ("has no confidence" if self.confidence is None
                      else f"has confidence {self.confidence}")
            raise PromotionRefused(
                f"memory {self.key!r} {stated}, below the promotion threshold "
                f"{threshold}; send force: true to promote anyway",
                rule="confidence_threshold", threshold=threshold, field="key")
        return PROMOTIONS[self.layer]

    def content_in_layer(self, layer: str) -> Any:
        """What this memory held the last time it was in `layer` (None if never)."""
        return self.contents_by_layer.get(layer)

    def _apply_revision(self, content: Any, confidence: float | None, sensitivity: str,
                        tags: list[str], metadata: dict, expires_at: datetime | None,
                        at: datetime) -> None:
        self.content = content
        self.contents_by_layer[self.layer] = content
        self.confidence = confidence
        self.sensitivity = sensitivity
        self.tags = tags
        self.metadata = metadata
        self.expires_at = expires_at
        self.updated_at = at

    def check_same_layer(self, layer: str) -> None:
        if layer != self.layer:
            raise LayerConflict(
                f"key {self.key!r} already exists in layer {self.layer!r}; "
                "promote it instead of upserting it into another layer",
                key=self.key, existing_layer=self.layer, requested_layer=layer)


class MemoryOwner(ArqiumAggregate):
    """An owner's memory as a whole: forgetting it removes it from every read model."""

    @staticmethod
    def create_id(owner_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"arqium:memory-owner:{owner_id}")

    @event("Forgotten")
    def __init__(self, owner_id: str, at: datetime):
        self.owner_id = owner_id


class WorkingSet(ArqiumAggregate):
    """What a model was shown for a chat: one record per assembly, never changed, so an
    auditor can reproduce exactly which memories, at which versions, went into a
    prompt (the response's X-Event-Position points at it)."""

    @event("Assembled")
    def __init__(self, owner_id: str, chat_id: str, memory_ids: list[str],
                 memory_versions: list[int], total_tokens: int, max_tokens: int,
                 at: datetime):
        check_within_budget(total_tokens, max_tokens)
        self.owner_id = owner_id
        self.chat_id = chat_id
        self.memory_ids = memory_ids
        self.memory_versions = memory_versions
        self.total_tokens = total_tokens


def check_within_budget(total_tokens: int, max_tokens: int) -> None:
    if total_tokens > max_tokens:
        raise Invalid(f"a working set of {total_tokens} tokens exceeds maxTokens "
                      f"({max_tokens})", field="maxTokens")


def memory_id_for(owner_id: str, key: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"arqium:memory:{owner_id}:{key}")


def check_not_seemingly_sealed(content: Any) -> None:
    """Content stored as written must not look like sealed content: it would be read
    as such (and fail to open)."""
    if is_sealed(content):
        raise Invalid(f"content must not be an object with a {SEALED!r} key (it marks "
                      "encrypted content): nest the object, or rename that key",
                      field="content")


def check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise Invalid(f"layer must be one of {', '.join(LAYERS)}", field="layer")


def expiry_for(layer: str, at: datetime, ttl_seconds: int | None,
               default_ttl_minutes: dict[str, int]) -> datetime | None:
    """When a memory stored at `at` expires: its own TTL, else its layer's default
    (permanent memories have none)."""
    if ttl_seconds is not None:
        check_ttl(ttl_seconds)
        return at + timedelta(seconds=ttl_seconds)
    minutes = default_ttl_minutes.get(layer)
    return None if minutes is None else at + timedelta(minutes=minutes)


def check_ttl(ttl_seconds: int) -> None:
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise Invalid(f"a TTL is from 1 second to {MAX_TTL_SECONDS} (100 years); for a "
                      "memory that never expires, store it in the permanent layer",
                      field="ttlSeconds")


# A memory is found by the words of its first this many bytes: PostgreSQL's tsvector
# holds at most 1 MB, and one of distinct words takes up to about three times their size
# (the model embeds fewer still: its first 256 tokens).
MAX_SEARCHABLE_BYTES = 256 * 1024


def searchable_text(key: str, content: Any, tags: list[str]) -> str:
    """The words a memory is found by: its key, every string in its content (object
    keys included) and its tags, the first MAX_SEARCHABLE_BYTES of them. Sealed content
    (a `secret` or `pii` memory's) is not read: such a memory is found by its key and
    tags only, so no read model, index or embedding holds words of its content."""
    key_words = "" if key.startswith(ENTRY_KEY_PREFIX) else key  # ids say nothing
    content_words = [] if is_sealed(content) else _strings(content)
    return _within(" ".join([key_words, *content_words, *tags]).strip(),
                   MAX_SEARCHABLE_BYTES)


def _within(text: str, limit: int) -> str:
    """The text cut to at most `limit` bytes of UTF-8, at a space where there is one."""
    if len(text) * 4 <= limit:  # within, however it encodes
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    cut = encoded[:limit].decode("utf-8", "ignore")
    space = cut.rfind(" ")
    return cut[:space] if space > 0 else cut


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [part for k, v in value.items() for part in [str(k), *_strings(v)]]
    if isinstance(value, list):
        return [part for v in value for part in _strings(v)]
    return [] if value is None else [str(value)]
