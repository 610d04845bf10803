"""A context as the ARQIUM faces (REST and GraphQL) change and show it."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.shapes import iso
from arqium.api.common.validation import Version
from arqium.domain.memory.contexts import Context


class ReplaceContext(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    state: dict[str, Any] | None = None
    version: Version | None = None


def context_view(fields: dict) -> dict:
    return {"id": str(fields["id"]), "name": fields["name"], "state": fields["state"],
            "session_id": fields["session_id"], "version": fields["version"],
            "created_at": iso(fields["created_at"]), "updated_at": iso(fields["updated_at"])}


def from_aggregate(context: Context) -> dict:
    return context_view({**vars(context), "id": context.id, "version": context.version})
