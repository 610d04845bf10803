"""Subscriptions: the caller's updates from the NATS stream, through this process's
SyncHub (the subscription /ws/sync uses), by session or all of the caller's."""

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from arqium.api.common.contexts import context_view
from arqium.api.common.memory import pushed_memory_view
from arqium.api.common.sync_hub import SyncHub
from arqium.api.errors import ReadModelBehind
from arqium.api.graphql.schema import GraphQLInfo
from arqium.api.graphql.types import Context, MemoryItem, MemoryLayer
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.contexts import ContextsProjection
from arqium.projections.memory_items import MemoryItemsProjection


def position_number(position: str) -> int:
    """The notification id in a stream position (`memory:42`)."""
    return int(position.rpartition(":")[2])


def caught_up_view(info: GraphQLInfo, projection: type[BatchProjection], position: str
                   ) -> ReadModel:
    """The read model once it has applied the update (ReadModelBehind if it is late)."""
    waits = info.context.waits
    if not waits.reached(projection, position_number(position)):
        raise ReadModelBehind(f"read model {projection.name!r} has not reached "
                              f"{position} yet")
    return waits.system.read_models.of(projection)


def without(data: dict, *names: str) -> dict:
    return {name: value for name, value in data.items() if name not in names}


@strawberry.type(description="A memory was stored (/ws/sync's memory_added).")
class MemoryAdded:
    id: strawberry.ID
    key: str | None
    layer: MemoryLayer | None
    session_id: str | None
    position: str
    pushed: strawberry.Private[dict | None] = None  # the memory, if the push carries it

    @classmethod
    def of(cls, data: dict) -> "MemoryAdded":
        return cls(id=data["id"], key=data["key"], layer=data["layer"],
                   session_id=data["session_id"], position=data["position"],
                   pushed=without(data, "position") if "content" in data else None)

    @strawberry.field(description="The memory as it is now, once the read model has "
                                  "this update (null if it is gone since); a secret "
                                  "or pii memory's content is null, as in every push.")
    async def memory(self, info: GraphQLInfo) -> MemoryItem | None:
        if self.pushed is not None:
            return MemoryItem(**self.pushed)
        caller = await info.context.caller()

        def read() -> MemoryItem | None:
            view = caught_up_view(info, MemoryItemsProjection, self.position)
            row = view.get_as_stored(caller.user_id, self.id, info.context.system.clock())
            return MemoryItem(**pushed_memory_view(row)) if row else None

        return await asyncio.to_thread(read)


@strawberry.type(description="A context was created, updated, synced or deleted "
                             "(/ws/sync's context_updated).")
class ContextUpdate:
    id: strawberry.ID
    change: str
    version: int
    session_id: str | None
    position: str
    pushed: strawberry.Private[dict | None] = None  # the context, if the push carries it

    @classmethod
    def of(cls, data: dict) -> "ContextUpdate":
        return cls(id=data["id"], change=data["change"], version=data["version"],
                   session_id=data["session_id"], position=data["position"],
                   pushed=without(data, "change", "position") if "state" in data else None)

    @strawberry.field(description="The context as it is now, once the read model has "
                                  "this update (null once deleted).")
    async def context(self, info: GraphQLInfo) -> Context | None:
        if self.pushed is not None:
            return Context(**self.pushed)
        caller = await info.context.caller()

        def read() -> Context | None:
            view = caught_up_view(info, ContextsProjection, self.position)
            row = view.get(caller.user_id, self.id)
            return Context(**context_view(row)) if row else None

        return await asyncio.to_thread(read)


async def updates(info: GraphQLInfo, event: str, session_id: str | None
                  ) -> AsyncGenerator[dict, None]:
    """The data of the caller's `event` updates, as they arrive, until the socket's
    credentials end (the socket is then closed: see GraphQLContext._end_socket)."""
    caller = await info.context.caller()
    if info.context.credentials_ended:
        return
    hub: SyncHub = info.context.request.app.state.sync_hub
    await hub.awake()
    listener = (caller.user_id, session_id, hub.listen(caller.user_id, session_id))
    info.context.listening.add(listener)
    try:
        while True:
            update = await listener[2].get()
            if update["event"] == event:
                yield update["data"]
    finally:
        info.context.listening.discard(listener)
        hub.leave(*listener)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Memories you store: those of one session, or "
                                         "all of yours without `sessionId`.")
    async def on_memory_added(self, info: GraphQLInfo, session_id: str | None = None
                              ) -> AsyncGenerator[MemoryAdded, None]:
        async for data in updates(info, "memory_added", session_id):
            yield MemoryAdded.of(data)

    @strawberry.subscription(description="Changes to your contexts: those bound to one "
                                         "session, or all of yours without `sessionId`.")
    async def on_context_update(self, info: GraphQLInfo, session_id: str | None = None
                                ) -> AsyncGenerator[ContextUpdate, None]:
        async for data in updates(info, "context_updated", session_id):
            yield ContextUpdate.of(data)
