"""A memory as the ARQIUM faces (REST and GraphQL) store and show it."""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.common.caller import Caller
from arqium.api.common.shapes import iso
from arqium.api.common.validation import content_within_limit
from arqium.domain.memory.application import MemoryApplication, MemoryDraft
from arqium.domain.memory.domainmodel import MAX_KEY_LENGTH, SEALED_SENSITIVITIES


class StoreMemoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    content: str | dict[str, Any] | list[Any]
    key: str | None = Field(default=None, min_length=1, max_length=MAX_KEY_LENGTH)
    layer: Literal["context", "temporary", "permanent"] = "temporary"
    sensitivity: Literal["public", "confidential", "secret", "pii"] = "public"
    confidence: float | None = Field(default=None, ge=0, le=1)  # strict: 1 is fine, true not
    tags: list[str] = Field(default_factory=list, max_length=100)
    metadata: dict[str, Any] = Field(default_factory=dict)
    session_id: str | None = Field(default=None, max_length=255)
    context_id: str | None = Field(default=None, max_length=255)

    _content_size = field_validator("content")(content_within_limit)


def memory_view(fields: Mapping[str, Any]) -> dict:
    """A memory as the native face shows it, from an aggregate's fields or a row."""
    return {"id": str(fields["id"]), "key": fields["key"], "content": fields["content"],
            "layer": fields["layer"], "tags": fields["tags"],
            "metadata": fields.get("metadata", {}), "confidence": fields["confidence"],
            "session_id": fields.get("session_id"), "context_id": fields.get("context_id"),
            "created_at": iso(fields.get("created_at")),
            "updated_at": iso(fields["updated_at"]), "expires_at": iso(fields.get("expires_at"))}


def pushed_memory_view(row: Mapping[str, Any]) -> dict:
    """A memory as a socket pushes it: as `memory_view`, but a `secret` or `pii`
    memory's content is null. It is sealed at rest, and pushes reach every open socket
    of its owner unasked: the owner reads it with a GET."""
    shown = memory_view(row)
    if row["sensitivity"] in SEALED_SENSITIVITIES:
        shown["content"] = None
    return shown


def store_memory(memory: MemoryApplication, caller: Caller, body: StoreMemoryRequest
                 ) -> tuple[dict, int]:
    """Store the caller's memory: its view and the position of the stored event."""
    draft = MemoryDraft(key=body.key, content=body.content,
                        layer=body.layer, sensitivity=body.sensitivity,
                        confidence=body.confidence, tags=body.tags,
                        metadata=body.metadata,
                        session_id=body.session_id, context_id=body.context_id)
    item, position = memory.upsert(caller.user_id, draft, cause=caller.cause)
    shown = {**vars(item), "id": item.id, "content": memory.readable_content(item)}
    return memory_view(shown), position
