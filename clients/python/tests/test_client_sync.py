"""sessions.stream_sync(): the session's live changes over /ws/sync, sync and async.
A socket sees what is stored once it is open: the tests store until a push arrives."""

import asyncio
import itertools
import queue
import threading

ATTEMPTS = 40  # stores half a second apart: 20 s at most


def first_event(events, into: queue.Queue) -> None:
    for event in events:
        into.put(event)
        return


def test_a_memory_stored_in_a_session_is_pushed_to_its_stream(client):
    session = client.sessions.create("Live")
    received: queue.Queue = queue.Queue()
    threading.Thread(target=first_event, daemon=True,
                     args=(client.sessions.stream_sync(session.id), received)).start()
    for number in itertools.count():
        assert number < ATTEMPTS, "nothing was pushed"
        client.memory.store("Pushed to the socket", key=f"live-{number}",
                            session_id=session.id)
        try:
            event = received.get(timeout=0.5)
            break
        except queue.Empty:
            continue
    assert event["event"] == "memory_added"
    assert event["data"]["key"].startswith("live-")


def test_the_async_stream_receives_the_same_push(client, async_client_factory):
    session = client.sessions.create("Live too")

    async def scenario() -> dict:
        async with async_client_factory() as arqium:
            stream = arqium.sessions.stream_sync(session.id)
            waiting = asyncio.ensure_future(anext(stream))
            for number in range(ATTEMPTS):
                await asyncio.to_thread(client.memory.store, "Pushed again",
                                        key=f"again-{number}", session_id=session.id)
                done, _ = await asyncio.wait({waiting}, timeout=0.5)
                if done:
                    break
            event = await asyncio.wait_for(waiting, 1)  # fails, never hangs
            await stream.aclose()
            return event

    event = asyncio.run(scenario())
    assert event["event"] == "memory_added"
    assert event["data"]["key"].startswith("again-")
