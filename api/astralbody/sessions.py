"""AstralBody chat history (seed 004): sessions, their messages, deleting one."""

from datetime import timezone
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response

from arqium.api.astralbody.documents import AstralMessages, AstralSessions
from arqium.api.common.caller import CurrentCaller
from arqium.api.common.chat_sessions import check_session
from arqium.api.common.deps import ChatSessions, SessionMessages, SessionsApp, Waits
from arqium.api.common.documents import documented
from arqium.api.common.positions import POSITION_HEADER, position_token
from arqium.api.common.shapes import iso
from arqium.api.common.validation import MAX_INT64, UtcTime
from arqium.domain.sessions.domainmodel import ARCHIVED
from arqium.projections.chat_sessions import ChatSessionsProjection
from arqium.projections.session_messages import SessionMessagesProjection

router = APIRouter(prefix="/sessions", tags=["AstralBody"])

SESSION_READ_MODELS = (ChatSessionsProjection, SessionMessagesProjection)


def astral_session(row: dict) -> dict:
    return {"id": str(row["id"]), "title": row["title"], "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]), "message_count": row["message_count"],
            "is_archived": row["status"] == ARCHIVED}


def astral_message(row: dict) -> dict:
    return {"id": str(row["id"]), "role": row["role"], "content": row["content"],
            "timestamp": iso(row["created_at"]), "components": row["components"] or []}


@router.get("", summary="Your chat sessions (AstralBody)",
            responses=documented(200, AstralSessions))
def list_sessions(caller: CurrentCaller, sessions: ChatSessions,
                  limit: int = Query(default=50, ge=1, le=200),
                  offset: int = Query(default=0, ge=0, le=MAX_INT64),
                  archived: bool = Query(default=False)):
    rows, total = sessions.page(caller.user_id, limit, offset, archived=archived)
    return {"sessions": [astral_session(row) for row in rows], "total": total}


@router.get("/{session_id}/messages", summary="A session's messages (AstralBody)",
            responses=documented(200, AstralMessages))
def list_messages(session_id: UUID, caller: CurrentCaller, messages: SessionMessages,
                  limit: int = Query(default=100, ge=1, le=500),
                  before: UtcTime | None = None):
    check_session(messages, caller.user_id, session_id)
    if before is not None and before.tzinfo is None:
        before = before.replace(tzinfo=timezone.utc)  # a timestamp without zone is UTC
    rows, has_more = messages.before(caller.user_id, session_id, before, limit)
    return {"session_id": str(session_id), "messages": [astral_message(r) for r in rows],
            "has_more": has_more}


@router.delete("/{session_id}", status_code=204, summary="Delete a chat session (AstralBody)")
def delete(session_id: UUID, caller: CurrentCaller, sessions: SessionsApp, waits: Waits):
    """Answers once the session is gone from the lists too (bounded wait): this face's
    clients reload their list right after and know nothing of X-Min-Position."""
    position = sessions.delete_session(caller.user_id, session_id, cause=caller.cause)
    for projection in SESSION_READ_MODELS:
        waits.reached(projection, position)
    return Response(status_code=204, headers={
        POSITION_HEADER: position_token(sessions.name, position)})
