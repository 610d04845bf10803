"""CEREBRO's chat (seed 001): `POST /api/chat` streams a model's reply as Server-Sent
Events, and `GET /api/history` lists the chats. A chat is a session: its id is the
session's (see session_id_for), the user's message and the whole reply are session
events, and the prompt is the session's thread plus the user's memory working set."""

import json
from collections.abc import AsyncIterator
from typing import Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.cerebro.documents import ChatHistory
from arqium.api.cerebro.memory import RECENT_MESSAGES, WORKING_SET_CANDIDATES
from arqium.api.common.caller import Caller, CurrentCaller
from arqium.api.common.deps import (
    AppSettings,
    ChatSessions,
    MemoryApp,
    Now,
    SessionsApp,
)
from arqium.api.common.documents import documented
from arqium.api.common.search import WorkingSets
from arqium.api.common.shapes import iso
from arqium.api.common.validation import MAX_INT64
from arqium.api.ratelimit import limited
from arqium.domain.memory.workingset import conversation_text, prompt_text
from arqium.domain.sessions.application import MessageDraft, SessionsApplication
from arqium.domain.sessions.domainmodel import SessionNotFound, session_id_for
from arqium.infra.llm import ChatModel, ModelUnavailable, chat_model
from arqium.infra.tokens import shared_token_counter

router = APIRouter(tags=["CEREBRO: chat"])

TITLE_LENGTH = 80
CHAT_ID_HEADER = "X-Chat-Id"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["user", "assistant", "system", "tool"]
    content: str = Field(max_length=1_000_000)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # None (as the seed's own SDK example sends it): a new chat.
    id: str | None = Field(default=None, min_length=1, max_length=255)
    messages: list[ChatMessage] = Field(min_length=1)
    modelId: str | None = Field(default=None, max_length=200)

    @field_validator("messages")
    @classmethod
    def ends_with_the_users_message(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's")
        return messages


@router.get("/api/history", summary="Your chats, most recent first (CEREBRO)",
            dependencies=[Depends(limited("cerebro_general"))],
            responses=documented(200, ChatHistory))
def history(caller: CurrentCaller, sessions: ChatSessions,
            limit: int = Query(50, ge=1, le=100), offset: int = Query(0, ge=0, le=MAX_INT64)):
    rows, total = sessions.page(caller.user_id, limit, offset)
    return {"chats": [{"id": str(row["id"]), "title": row["title"],
                       "createdAt": iso(row["created_at"]),
                       "messageCount": row["message_count"], "visibility": "private"}
                      for row in rows],
            "total": total, "hasMore": offset + len(rows) < total}


@router.post("/api/chat", summary="Stream a model's reply as Server-Sent Events (CEREBRO)",
             dependencies=[Depends(limited("cerebro_chat"))],
             responses={200: {
                 "content": {"text/event-stream": {"schema": {"type": "string"}}},
                 "headers": {CHAT_ID_HEADER: {
                     "description": "the chat's id: the one sent, or the new chat's",
                     "schema": {"type": "string"}}}}})
def chat(body: ChatRequest, caller: CurrentCaller, working_sets: WorkingSets,
         sessions: SessionsApp, memory: MemoryApp, settings: AppSettings, now: Now):
    """The last message (the user's) is stored in the chat's session (created by the
    first message), the model sees the session's thread and the user's memories, and
    its reply is stored when it ends — marked incomplete if the client left before.
    Without `id`, a new chat starts: its id is in the `X-Chat-Id` header (as on every
    answer) and in the `done` event (`chatId`)."""
    model = chat_model(settings)
    chat_id = body.id or str(uuid4())
    session_id = session_id_for(caller.user_id, chat_id)
    budget = settings.chat_memory_tokens
    open_session(sessions, caller, session_id, body.messages[-1].content)
    sessions.append_message(caller.user_id, session_id, MessageDraft(
        role="user", content=body.messages[-1].content), cause=caller.cause)
    thread = sessions.owned_session(caller.user_id, session_id).active_messages()
    shown = working_sets.working_set(caller.user_id, now, budget, WORKING_SET_CANDIDATES,
                                     conversation_text(thread[-RECENT_MESSAGES:]))
    memory.record_working_set(caller.user_id, chat_id, shown, budget, cause=caller.cause)
    return StreamingResponse(reply_events(sessions, caller, model, chat_id, session_id,
                                          prompt_messages(shown, thread), body.modelId),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", CHAT_ID_HEADER: chat_id})


def open_session(sessions: SessionsApplication, caller: Caller, session_id: UUID,
                 first_words: str) -> None:
    """The chat's session, created by its first message."""
    try:
        sessions.owned_session(caller.user_id, session_id)
    except SessionNotFound:
        sessions.create_session(caller.user_id, first_words[:TITLE_LENGTH] or None,
                                session_id=session_id, cause=caller.cause)


def prompt_messages(shown: list[dict], thread: list[dict]) -> list[dict]:
    """The user's working set as a system message, then the session's active thread."""
    history = [{"role": m["role"], "content": m["content"]} for m in thread]
    if not shown:
        return history
    known = "\n".join(prompt_text(m["key"], m["content"]) for m in shown)
    return [{"role": "system", "content": f"What you know about the user:\n{known}"},
            *history]


async def reply_events(sessions: SessionsApplication, caller: Caller, model: ChatModel,
                       chat_id: str, session_id: UUID, prompt: list[dict],
                       model_id: str | None) -> AsyncIterator[str]:
    """SSE: `message` events with text chunks, then `done` with the token usage and the
    chat's id. The reply is stored whatever happens, incomplete unless the stream
    ended."""
    reply, usage, complete = [], None, False
    try:
        async for chunk in model.stream(prompt, model_id):
            if "text" in chunk:
                reply.append(chunk["text"])
                yield sse("message", {"type": "text", "content": chunk["text"]})
            else:
                usage = chunk["usage"]
        complete = True
        tokens = usage or shared_token_counter().count("".join(reply))
        yield sse("done", {"usage": {"tokens": tokens}, "chatId": chat_id})
    except ModelUnavailable as error:
        yield sse("error", {"type": "error", "message": error.message})
    finally:
        store_reply(sessions, caller, session_id, "".join(reply), complete)


def store_reply(sessions: SessionsApplication, caller: Caller, session_id: UUID, reply: str,
                complete: bool) -> None:
    if not reply:
        return
    sessions.append_message(caller.user_id, session_id, MessageDraft(
        role="assistant", content=reply, incomplete=not complete), cause=caller.cause)


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
