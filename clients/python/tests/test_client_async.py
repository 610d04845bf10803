"""AsyncArqium: the same resources, awaited; lists as async iterators."""

import asyncio

import pytest

from arqium_client import NotFound


def test_the_async_client_stores_searches_and_pages(async_client_factory):
    async def scenario() -> tuple[list[str], list[str]]:
        async with async_client_factory() as arqium:
            await arqium.memory.store("Sailing on Lake Geneva", key="sail")
            hits = [hit.key for hit in await arqium.memory.search("sailing lake")]
            for number in range(3):
                await arqium.contexts.create(f"context {number}")
            names = [context.name async for context in arqium.contexts.list(per_page=2)]
            return hits, names

    hits, names = asyncio.run(scenario())
    assert hits == ["sail"]
    assert names == ["context 0", "context 1", "context 2"]


def test_the_async_client_raises_the_servers_errors(async_client_factory):
    async def scenario() -> None:
        async with async_client_factory() as arqium:
            await arqium.memory.get("00000000-0000-4000-8000-000000000000")

    with pytest.raises(NotFound):
        asyncio.run(scenario())


def test_the_async_client_creates_transacts_and_pages_the_ledger(async_client_factory):
    async def scenario() -> tuple[str, list[str], list[str]]:
        async with async_client_factory() as arqium:
            created = await arqium.ledger.create("contract", {"status": "draft"})
            for action in ("sign", "pay", "close"):
                await arqium.ledger.transact(created.id, action)
            objects = [obj.id async for obj in arqium.ledger.objects(per_page=1)]
            actions = [transaction.action async for transaction
                       in arqium.ledger.transactions(created.id, per_page=2)]
            return created.id, objects, actions

    created_id, objects, actions = asyncio.run(scenario())
    assert (objects, actions) == ([created_id], ["sign", "pay", "close"])
