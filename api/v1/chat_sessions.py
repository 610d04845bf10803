"""ARQIUM sessions: chat and agent sessions, their messages, checkpoints and resume."""

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from arqium.api.common.caller import CurrentCaller
from arqium.api.common.chat_sessions import (
    CreateSession,
    check_session,
    from_aggregate,
    session_view,
)
from arqium.api.common.deps import ChatSessions, Contexts, SessionMessages, SessionsApp
from arqium.api.common.documents import enveloped
from arqium.api.common.envelope import PageDep, ok
from arqium.api.common.shapes import iso
from arqium.api.v1.documents import (
    CheckpointView,
    Deleted,
    MessageList,
    MessageView,
    ResumedSession,
    SessionList,
    SessionView,
    SessionWithCheckpoints,
)
from arqium.domain.sessions.application import MessageDraft, checkpoint_uuid
from arqium.domain.sessions.domainmodel import MAX_LABEL_LENGTH, SessionNotFound
from arqium.projections.chat_sessions import ChatSessionsView
from arqium.projections.contexts import ContextsView

router = APIRouter(prefix="/api/v1/sessions", tags=["ARQIUM: sessions"])


class AppendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    components: list[Any] | dict[str, Any] | None = None


class CreateCheckpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    label: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL_LENGTH)


class ResumeSession(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    checkpoint_id: str | None = Field(default=None, max_length=64)


def message_view(fields: dict) -> dict:
    return {"id": str(fields["id"]), "session_id": str(fields["session_id"]),
            "seq": fields["seq"], "role": fields["role"], "content": fields["content"],
            "components": fields["components"], "incomplete": fields["incomplete"],
            "abandoned": fields["abandoned"], "created_at": iso(fields["created_at"])}


def checkpoint_view(fields: dict) -> dict:
    return {"checkpoint_id": str(fields["checkpoint_id"]),
            "session_id": str(fields["session_id"]), "label": fields["label"],
            "message_count": fields["message_count"], "position": fields["position"],
            "created_at": iso(fields["created_at"])}


def session_context(contexts: ContextsView, owner_id: str, session_id: UUID) -> dict:
    """The session's context state: the owner's contexts bound to it, by id."""
    return {str(row["id"]): {"name": row["name"], "state": row["state"],
                             "version": row["version"]}
            for row in contexts.for_session(owner_id, str(session_id))}


def session_row(sessions: ChatSessionsView, owner_id: str, session_id: UUID) -> dict:
    row = sessions.get(owner_id, session_id)
    if row is None:
        raise SessionNotFound("no such session (if it was just created, send the "
                              "X-Event-Position you got back as X-Min-Position)")
    return row


@router.post("", status_code=201, summary="Create a session",
             responses=enveloped(201, SessionView))
def create(body: CreateSession, caller: CurrentCaller, sessions: SessionsApp):
    session, position = sessions.create_session(caller.user_id, body.title, body.metadata,
                                                cause=caller.cause)
    return ok(from_aggregate(session), status=201, position=(sessions.name, position))


@router.get("", summary="Your sessions, most recently active first",
            responses=enveloped(200, SessionList))
def list_sessions(caller: CurrentCaller, sessions: ChatSessions, page: PageDep):
    rows, total = sessions.page(caller.user_id, page.limit, page.offset)
    return ok({"items": [session_view(row) for row in rows]}, pagination=page.meta(total))


@router.get("/{session_id}", summary="One of your sessions, with its checkpoints",
            responses=enveloped(200, SessionWithCheckpoints))
def get(session_id: UUID, caller: CurrentCaller, sessions: ChatSessions):
    row = session_row(sessions, caller.user_id, session_id)
    checkpoints = sessions.checkpoints_of(caller.user_id, session_id)
    return ok({**session_view(row),
               "checkpoints": [checkpoint_view(c) for c in checkpoints]})


@router.post("/{session_id}/messages", status_code=201, summary="Append a message",
             responses=enveloped(201, MessageView))
def append(session_id: UUID, body: AppendMessage, caller: CurrentCaller,
           sessions: SessionsApp):
    draft = MessageDraft(role=body.role, content=body.content, components=body.components)
    message, position = sessions.append_message(caller.user_id, session_id, draft,
                                                cause=caller.cause)
    return ok(message_view(message), status=201, position=(sessions.name, position))


@router.get("/{session_id}/messages",
            summary="The session's messages, oldest first (its active thread, or with "
                    "include_abandoned=true everything ever written)",
            responses=enveloped(200, MessageList))
def list_messages(session_id: UUID, caller: CurrentCaller, messages: SessionMessages,
                  page: PageDep, include_abandoned: bool = Query(default=False)):
    check_session(messages, caller.user_id, session_id)
    rows, total = messages.page(caller.user_id, session_id, page.limit, page.offset,
                                include_abandoned)
    return ok({"items": [message_view(row) for row in rows]}, pagination=page.meta(total))


@router.post("/{session_id}/checkpoint", status_code=201,
             summary="Name the current point of the session, with its context state",
             responses=enveloped(201, CheckpointView))
def checkpoint(session_id: UUID, caller: CurrentCaller, sessions: SessionsApp,
               contexts: Contexts, body: CreateCheckpoint | None = None):
    label = body.label if body else None
    context = session_context(contexts, caller.user_id, session_id)
    saved, position = sessions.checkpoint(caller.user_id, session_id, label, context,
                                          cause=caller.cause)
    return ok(checkpoint_view(saved), status=201, position=(sessions.name, position))


@router.post("/{session_id}/resume",
             summary="Continue from a checkpoint (later messages are abandoned, not "
                     "erased), or without one reopen an archived session",
             responses=enveloped(200, ResumedSession))
def resume(session_id: UUID, caller: CurrentCaller, sessions: SessionsApp,
           contexts: Contexts, body: ResumeSession | None = None):
    checkpoint_id = body.checkpoint_id if body else None
    session, position = sessions.resume(caller.user_id, session_id, checkpoint_id,
                                        cause=caller.cause)
    if checkpoint_id is None:
        resumed, context = None, session_context(contexts, caller.user_id, session_id)
    else:
        checkpoint = session.checkpoints[checkpoint_uuid(checkpoint_id)]
        resumed, context = str(checkpoint["checkpoint_id"]), checkpoint["context"]
    data = {**from_aggregate(session), "checkpoint_id": resumed, "context": context,
            "messages": [message_view(m) for m in session.active_messages()]}
    return ok(data, position=(sessions.name, position) if position else None)


@router.post("/{session_id}/archive", summary="Archive a session (resume reopens it)",
             responses=enveloped(200, SessionView))
def archive(session_id: UUID, caller: CurrentCaller, sessions: SessionsApp):
    session, position = sessions.archive(caller.user_id, session_id, cause=caller.cause)
    return ok(from_aggregate(session),
              position=(sessions.name, position) if position else None)


@router.delete("/{session_id}", summary="Delete a session",
               responses=enveloped(200, Deleted))
def delete(session_id: UUID, caller: CurrentCaller, sessions: SessionsApp):
    position = sessions.delete_session(caller.user_id, session_id, cause=caller.cause)
    return ok({"id": str(session_id), "deleted": True},
              position=(sessions.name, position))
