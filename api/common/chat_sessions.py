"""A chat session as several faces create, check and show it."""

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.shapes import iso
from arqium.domain.sessions.domainmodel import (
    MAX_TITLE_LENGTH,
    ChatSession,
    SessionNotFound,
)
from arqium.projections.session_messages import SessionMessagesView


class CreateSession(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE_LENGTH)
    metadata: dict[str, Any] = Field(default_factory=dict)


def session_view(fields: dict) -> dict:
    """A session as the native face shows it, from a read-model row or an aggregate."""
    return {"id": str(fields["id"]), "title": fields["title"], "status": fields["status"],
            "metadata": fields["metadata"], "message_count": fields["message_count"],
            "created_at": iso(fields["created_at"]), "updated_at": iso(fields["updated_at"])}


def from_aggregate(session: ChatSession) -> dict:
    return session_view({**vars(session), "id": session.id,
                         "message_count": session.message_count})


def check_session(messages: SessionMessagesView, owner_id: str, session_id: UUID) -> None:
    if not messages.has_session(owner_id, session_id):
        raise SessionNotFound("no such session (if it was just created, send the "
                              "X-Event-Position you got back as X-Min-Position)")
