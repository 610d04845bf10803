"""chat(): CEREBRO's streamed reply as text chunks, the exchange kept in a session."""

import asyncio

from conftest import CHUNKS


def test_a_chat_reply_streams_as_text_chunks(client):
    assert list(client.chat("Hello, how are you?", chat_id="chat-1")) == CHUNKS


def test_a_chat_is_kept_as_a_session_with_both_messages(client):
    "".join(client.chat("Hello, how are you?"))
    [session] = client.sessions.list()
    assert [m.role for m in client.sessions.messages(session.id)] == ["user", "assistant"]


def test_the_async_client_streams_the_same_chunks(async_client_factory):
    async def scenario() -> list[str]:
        async with async_client_factory() as arqium:
            return [chunk async for chunk in arqium.chat("Hello again")]

    assert asyncio.run(scenario()) == CHUNKS
