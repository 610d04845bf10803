"""The bodies the current dialect answers: `actorId` instead of `userId`, `creationTime`
the only time, optional fields left out when empty, tags only ever an object."""

import json
from datetime import datetime
from typing import Any

from arqium.api.common.shapes import iso
from arqium.api.memory_v0.access import V0User


def vault_body(caller: V0User, row: dict) -> dict:
    return _without_empty({"vaultId": str(row["id"]), "actorId": caller.handle,
                           "title": row["title"], "description": row["description"],
                           "creationTime": iso(row["created_at"])})


def memory_body(caller: V0User, row: dict) -> dict:
    return _without_empty({"memoryId": str(row["id"]), "actorId": caller.handle,
                           "vaultId": str(row["vault_id"]),
                           "memoryType": row["memory_type"], "title": row["title"],
                           "description": row["description"],
                           "creationTime": iso(row["created_at"])})


def entry_body(caller: V0User, vault_id: Any, content: Any, metadata: dict,
               created_at: datetime, expires_at: datetime | None) -> dict:
    v0 = metadata["v0"]
    return _without_empty({
        "entryId": v0["entryId"], "actorId": caller.handle, "vaultId": str(vault_id),
        "memoryId": v0["memoryId"], "rawEntry": content, "summary": v0.get("summary"),
        "metadata": v0["metadata"], "tags": tag_object(v0["tags"]),
        "creationTime": iso(created_at), "expirationTime": iso(expires_at)})


def tag_object(tags: list[str] | dict[str, str] | None) -> dict[str, str] | None:
    """Tags as this dialect's object: a list stored through the seed's paths becomes
    each tag with an empty value."""
    if isinstance(tags, list):
        return {str(tag): "" for tag in tags}
    return tags


def context_body(caller: V0User, vault_id: Any, memory_id: Any, context_id: Any,
                 context: Any, created_at: datetime) -> dict:
    return {"contextId": str(context_id), "actorId": caller.handle,
            "vaultId": str(vault_id), "memoryId": str(memory_id),
            "context": context_text(context), "creationTime": iso(created_at)}


def context_text(context: Any) -> str:
    """A context as text: a text context as it is, one stored as JSON through the
    seed's paths as its JSON text."""
    return context if isinstance(context, str) else json.dumps(context,
                                                                ensure_ascii=False)


def _without_empty(body: dict) -> dict:
    """Optional fields (`omitempty` in the SDK) left out when empty."""
    return {name: value for name, value in body.items() if value not in (None, "", {})}
