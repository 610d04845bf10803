"""Queries and mutations: the REST routes' commands and read models behind GraphQL."""

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from arqium.api.common import chat_sessions, contexts, users
from arqium.api.common.caller import Caller
from arqium.api.common.envelope import Page
from arqium.api.common.memory import StoreMemoryRequest, memory_view, store_memory
from arqium.api.common.search import caught_up_search, relevance, split_tags
from arqium.api.graphql.context import GraphQLContext
from arqium.api.graphql.types import (
    Context,
    ContextPage,
    MemoryItem,
    MemoryLayer,
    Pagination,
    SearchMode,
    Sensitivity,
    Session,
    SessionPage,
    User,
)
from arqium.domain.shared import Forbidden, Invalid
from arqium.projections.chat_sessions import ChatSessionsProjection
from arqium.projections.contexts import ContextsProjection
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.memory_search import MemoryQuery
from arqium.projections.users import UsersProjection

Answer = TypeVar("Answer")
GraphQLInfo = Info[GraphQLContext, None]
MAX_PAGE, MAX_PER_PAGE, MAX_LIMIT, MAX_QUERY_LENGTH = 100_000, 100, 100, 1000


async def answer(info: GraphQLInfo, work: Callable[..., Answer], *args: Any) -> Answer:
    """`work(context, caller, *args)` for an authenticated caller, off the event loop
    (commands and read models are synchronous)."""
    caller = await info.context.caller()
    return await asyncio.to_thread(work, info.context, caller, *args)


def uuid_argument(value: str, name: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise Invalid(f"{name} must be a UUID", field=name) from None


def checked_page(page: int, per_page: int) -> Page:
    if not 1 <= page <= MAX_PAGE:
        raise Invalid(f"page must be between 1 and {MAX_PAGE}", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise Invalid(f"perPage must be between 1 and {MAX_PER_PAGE}", field="perPage")
    return Page(page, per_page)


def given(**arguments: Any) -> dict[str, Any]:
    """The optional arguments the client actually sent (a REST body's present fields)."""
    return {name: value for name, value in arguments.items() if value is not None}


# --- queries ----------------------------------------------------------------------

def read_user(ctx: GraphQLContext, caller: Caller, user_id: str | None) -> User:
    wanted = caller.user_id if user_id is None else str(uuid_argument(user_id, "id"))
    if wanted != caller.user_id and not caller.principal.is_admin:
        raise Forbidden("you may only read your own user unless you are an admin")
    return User(**users.profile_view(users.user_row(ctx.view(UsersProjection), wanted)))


def list_contexts(ctx: GraphQLContext, caller: Caller, page_number: int, per_page: int
                  ) -> ContextPage:
    page = checked_page(page_number, per_page)
    rows, total = ctx.view(ContextsProjection).page(caller.user_id, page.limit, page.offset)
    return ContextPage(items=[Context(**contexts.context_view(row)) for row in rows],
                       pagination=Pagination(**page.meta(total)))


def list_sessions(ctx: GraphQLContext, caller: Caller, page_number: int, per_page: int
                  ) -> SessionPage:
    page = checked_page(page_number, per_page)
    sessions = ctx.view(ChatSessionsProjection)
    rows, total = sessions.page(caller.user_id, page.limit, page.offset)
    return SessionPage(items=[Session(**chat_sessions.session_view(row)) for row in rows],
                       pagination=Pagination(**page.meta(total)))


def memories(ctx: GraphQLContext, caller: Caller, query: str | None, mode: SearchMode,
             layer: MemoryLayer | None, tags: list[str] | None, limit: int | None
             ) -> list[MemoryItem]:
    """A search with a query, else the recent memories (the REST defaults for limit)."""
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if query is None:
        if layer is not None or tags:
            raise Invalid("layer and tags filter a search: give a query too",
                          field="query")
        rows = ctx.view(MemoryItemsProjection).recent(caller.user_id, limit or 20,
                                                      ctx.system.clock())
        return [MemoryItem(**memory_view(row)) for row in rows]
    if not 1 <= len(query) <= MAX_QUERY_LENGTH:
        raise Invalid(f"query must be 1 to {MAX_QUERY_LENGTH} characters", field="query")
    rows, _ = caught_up_search(ctx.request, ctx.system).search(MemoryQuery(
        caller.user_id, query, mode=mode.value, layer=layer.value if layer else None,
        tags=split_tags(tags or []), limit=limit or 10), ctx.system.clock())
    return [MemoryItem(**memory_view(row), score=relevance(row["score"])) for row in rows]


@strawberry.type
class Query:
    @strawberry.field(description="You (GET /users/profile), or by id yourself or, for "
                                  "admins, anyone (GET /users/{id}).")
    async def user(self, info: GraphQLInfo, id: strawberry.ID | None = None) -> User:
        return await answer(info, read_user, id)

    @strawberry.field(description="Your contexts, oldest first (GET /contexts).")
    async def contexts(self, info: GraphQLInfo, page: int = 1, per_page: int = 20
                       ) -> ContextPage:
        return await answer(info, list_contexts, page, per_page)

    @strawberry.field(description="With `query`: your memories ranked by relevance "
                                  "(GET /memory/search, limit 10 unless given); without: "
                                  "your recent memories, newest first (GET /memory/recent, "
                                  "limit 20 unless given).")
    async def memory(self, info: GraphQLInfo, query: str | None = None,
                     mode: SearchMode = SearchMode.hybrid, layer: MemoryLayer | None = None,
                     tags: list[str] | None = None, limit: int | None = None
                     ) -> list[MemoryItem]:
        return await answer(info, memories, query, mode, layer, tags, limit)

    @strawberry.field(description="Your sessions, most recently active first "
                                  "(GET /sessions).")
    async def sessions(self, info: GraphQLInfo, page: int = 1, per_page: int = 20
                       ) -> SessionPage:
        return await answer(info, list_sessions, page, per_page)


# --- mutations --------------------------------------------------------------------

def replace_context(ctx: GraphQLContext, caller: Caller, id: str,
                    changes: dict[str, Any]) -> Context:
    context_id = uuid_argument(id, "id")
    body = contexts.ReplaceContext(**changes)
    memory = ctx.system.memory
    context, position = memory.replace_context(caller.user_id, context_id, body.name,
                                               body.state, body.version, cause=caller.cause)
    ctx.record_position(memory.name, position)
    return Context(**contexts.from_aggregate(context))


def stored_memory(ctx: GraphQLContext, caller: Caller, fields: dict[str, Any]
                  ) -> MemoryItem:
    data, position = store_memory(ctx.system.memory, caller, StoreMemoryRequest(**fields))
    ctx.record_position(ctx.system.memory.name, position)
    return MemoryItem(**data)


def created_session(ctx: GraphQLContext, caller: Caller, fields: dict[str, Any]
                    ) -> Session:
    body = chat_sessions.CreateSession(**fields)
    sessions = ctx.system.sessions
    session, position = sessions.create_session(caller.user_id, body.title,
                                                 body.metadata, cause=caller.cause)
    ctx.record_position(sessions.name, position)
    return Session(**chat_sessions.from_aggregate(session))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Replace a context's state or name; with `version`, "
                                     "only if it is still at that version (CONFLICT "
                                     "otherwise), as PUT /contexts/{id}.")
    async def update_context(self, info: GraphQLInfo, id: strawberry.ID,
                             state: JSON | None = None, version: int | None = None,
                             name: str | None = None) -> Context:
        return await answer(info, replace_context, id,
                            given(name=name, state=state, version=version))

    @strawberry.mutation(description="Store a memory item (POST /memory/store); a "
                                     "generated key unless `key` is given.")
    async def store_memory(self, info: GraphQLInfo, content: JSON, key: str | None = None,
                           layer: MemoryLayer = MemoryLayer.temporary,
                           tags: list[str] | None = None,
                           session_id: str | None = None,
                           sensitivity: Sensitivity = Sensitivity.public,
                           metadata: JSON | None = None, context_id: str | None = None,
                           confidence: float | None = None) -> MemoryItem:
        return await answer(info, stored_memory, {
            "content": content, "layer": layer.value, "sensitivity": sensitivity.value,
            **given(key=key, tags=tags, session_id=session_id, metadata=metadata,
                    context_id=context_id, confidence=confidence)})

    @strawberry.mutation(description="Create a session (POST /sessions).")
    async def create_session(self, info: GraphQLInfo, title: str | None = None,
                             metadata: JSON | None = None) -> Session:
        return await answer(info, created_session, given(title=title, metadata=metadata))
