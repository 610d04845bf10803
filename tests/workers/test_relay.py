import asyncio
import json
import time
from decimal import Decimal

import nats
import pytest

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.sessions.application import MessageDraft
from arqium.infra.embedded import EmbeddedNats, free_port
from arqium.workers import relay as relay_worker
from arqium.workers.runner import WorkerGroup
from tests.conftest import SETUP, eventually


@pytest.fixture
def nats_server(tmp_path, settings):
    """A NATS server of this test's own, so the test may stop and restart it."""
    server = EmbeddedNats(tmp_path, port=free_port())
    settings.nats_url = server.start()
    yield server
    server.stop()


@pytest.fixture
def relay(settings, nats_server):
    group = WorkerGroup(["nats_relay"], settings)
    group.start()
    yield group
    group.stop()
    assert not group.failures


def write(system, count: int, prefix: str) -> int:
    position = 0
    for n in range(count):
        _, position = system.memory.upsert("u1", MemoryDraft(key=f"{prefix}{n}", content=n),
                                           cause=SETUP)
    return position


def relayed_up_to(system, application: str) -> int:
    return system.relay_tracking.max_tracking_id(application) or 0


def wait_until_relayed(system, application: str, position: int, timeout: float = 30) -> None:
    assert eventually(lambda: relayed_up_to(system, application) >= position, timeout,
                      every=0.05), "relay did not catch up"


def stream_messages(url: str, stream: str = "ARQIUM_EVENTS") -> list:
    async def read() -> list:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            state = (await js.stream_info(stream)).state
            return [await js.get_msg(stream, seq)
                    for seq in range(state.first_seq, state.last_seq + 1)] if state.messages else []
        finally:
            await nc.close()
    return asyncio.run(read())


def stream_config(url: str, stream: str = "ARQIUM_EVENTS"):
    async def read():
        nc = await nats.connect(url)
        try:
            return (await nc.jetstream().stream_info(stream)).config
        finally:
            await nc.close()
    return asyncio.run(read())


def make_stream(url: str, stream: str = "ARQIUM_EVENTS", **config) -> None:
    async def make() -> None:
        nc = await nats.connect(url)
        try:
            await nc.jetstream().add_stream(name=stream, subjects=["arqium.>"], **config)
        finally:
            await nc.close()
    asyncio.run(make())


def test_every_event_is_published_with_its_envelope(system, settings, relay):
    position = write(system, 3, "k")
    wait_until_relayed(system, "memory", position)
    messages = stream_messages(settings.nats_url)
    assert [m.subject for m in messages] == ["arqium.memory.memory_item.upserted"] * 3
    envelope = json.loads(messages[0].data)
    assert set(envelope) >= {"id", "type", "subject", "position", "application",
                             "originator_version", "time", "actor", "correlation_id", "data"}
    assert envelope["id"] == "memory:1" == messages[0].headers["Nats-Msg-Id"]
    assert (envelope["type"], envelope["position"], envelope["data"]["key"]) == (
        "MemoryItem.Upserted", 1, "k0")


def test_credentials_never_leave_the_event_store(system, settings, relay):
    _, position = system.identity.register("ada@example.com", "Ada", "correct horse",
                                           cause=SETUP)
    wait_until_relayed(system, "identity", position)
    [message] = stream_messages(settings.nats_url)
    assert message.subject == "arqium.identity.user.registered"
    assert "password_hash" not in json.loads(message.data)["data"]
    assert b"argon2" not in message.data


def test_identity_events_on_the_stream_carry_no_address_agent_token_id_or_email(
        system, settings, relay):
    user, _ = system.identity.register("ada@example.com", "Ada", "correct horse",
                                       cause=SETUP)
    session, _ = system.identity.start_session(user, "203.0.113.7", "Firefox/140",
                                               cause=SETUP)
    refreshed, _, position = system.identity.refresh_session(
        str(session.id), session.refresh_token_id, cause=SETUP)
    wait_until_relayed(system, "identity", position)
    messages = stream_messages(settings.nats_url)
    assert [m.subject for m in messages] == [
        "arqium.identity.user.registered", "arqium.identity.login_session.started",
        "arqium.identity.login_session.refreshed"]
    published = b"".join(m.data for m in messages)
    token_ids = (session.refresh_token_id.encode(), refreshed.refresh_token_id.encode())
    for personal in (b"ada@example.com", b"203.0.113.7", b"Firefox/140", *token_ids):
        assert personal not in published


def test_session_events_are_published_under_the_sessions_context(system, settings, relay):
    session, _ = system.sessions.create_session("u1", "chat", cause=SETUP)
    _, position = system.sessions.append_message("u1", session.id,
                                                 MessageDraft(role="user", content="hi"),
                                                 cause=SETUP)
    wait_until_relayed(system, "sessions", position)
    messages = stream_messages(settings.nats_url)
    assert [m.subject for m in messages] == ["arqium.sessions.chat_session.created",
                                             "arqium.sessions.chat_session.message_appended"]
    envelope = json.loads(messages[1].data)
    assert (envelope["id"], envelope["subject"]) == (f"sessions:{position}", str(session.id))
    assert (envelope["data"]["role"], envelope["data"]["content"]) == ("user", "hi")


def test_a_nats_outage_loses_nothing_and_duplicates_nothing(system, settings, nats_server, relay):
    wait_until_relayed(system, "memory", write(system, 10, "before"))
    nats_server.stop()
    write(system, 10, "during")
    time.sleep(1.0)  # the relay keeps failing to publish meanwhile
    nats_server.start()
    position = write(system, 10, "after")
    wait_until_relayed(system, "memory", position)
    positions = [json.loads(m.data)["position"] for m in stream_messages(settings.nats_url)]
    assert positions == list(range(1, 31))


def test_a_nats_outage_amid_a_catch_up_loses_nothing_and_duplicates_nothing(
        system, settings, nats_server, monkeypatch):
    """While a batch's commit is on its way the next one is staged: an outage then
    leaves neither a gap nor a duplicate."""
    monkeypatch.setattr(relay_worker, "ATOMIC_MESSAGES", 5)
    position = write(system, 1000, "k")  # before the relay starts: 200 batches to catch up
    group = WorkerGroup(["nats_relay"], settings)
    group.start()
    try:
        assert eventually(lambda: relayed_up_to(system, "memory") >= 50, 30, every=0.002)
        nats_server.stop()
        relayed_before_the_outage = relayed_up_to(system, "memory")
        time.sleep(0.5)
        nats_server.start()
        wait_until_relayed(system, "memory", position)
    finally:
        group.stop()
    assert not group.failures
    assert relayed_before_the_outage < position  # the outage came amid the catch-up
    messages = stream_messages(settings.nats_url)
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [
        f"memory:{n}" for n in range(1, position + 1)]
    batches = [m.headers["Nats-Batch-Id"] for m in messages]
    assert {batches.count(batch) for batch in set(batches)} <= {1, 2, 3, 4, 5}


def test_a_restarted_relay_resumes_without_republishing(system, settings, nats_server):
    first = WorkerGroup(["nats_relay"], settings)
    first.start()
    wait_until_relayed(system, "memory", write(system, 5, "a"))
    first.stop()
    second = WorkerGroup(["nats_relay"], settings)
    second.start()
    wait_until_relayed(system, "memory", write(system, 5, "b"))
    second.stop()
    positions = [json.loads(m.data)["position"] for m in stream_messages(settings.nats_url)]
    assert positions == list(range(1, 11))


def test_ledger_events_are_published_under_the_ledger_context(system, settings, relay):
    contract, _ = system.ledger.create_object("u1", "contract",
                                              {"amount": Decimal("10.10")}, cause=SETUP)
    _, _, position = system.ledger.transact("u1", contract.id, "sign", {"status": "signed"},
                                            {}, cause=SETUP)
    wait_until_relayed(system, "ledger", position)
    messages = stream_messages(settings.nats_url)
    assert [m.subject for m in messages] == ["arqium.ledger.ledger_object.created",
                                             "arqium.ledger.ledger_object.transacted"]
    assert b'"amount": 10.10' in messages[0].data or b'"amount":10.10' in messages[0].data
    envelope = json.loads(messages[1].data)
    assert envelope["data"]["prev_hash"] == contract.head  # consumers can follow the chain
    assert len(envelope["data"]["hash"]) == 64


def test_a_relay_that_published_but_did_not_record_publishes_nothing_twice_after_the_window(
        system, settings, nats_server):
    make_stream(settings.nats_url, settings.nats_stream, duplicate_window=1)
    first = WorkerGroup(["nats_relay"], settings)
    first.start()
    wait_until_relayed(system, "memory", write(system, 5, "a"))
    first.stop()
    with system.pool.transaction(commit=True) as curs:  # published, as if never recorded
        curs.execute(f"UPDATE {system.relay_tracking.tracking_table_name} "
                     "SET notification_id = 2 WHERE application_name = 'memory'")
    time.sleep(1.5)  # JetStream forgets the ids it has seen: it would store them again
    second = WorkerGroup(["nats_relay"], settings)
    second.start()
    wait_until_relayed(system, "memory", write(system, 3, "b"))
    second.stop()
    messages = stream_messages(settings.nats_url)
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert ids == [f"memory:{n}" for n in range(1, 9)]
    assert len(set(ids)) == len(messages) == 8


def test_the_relay_publishes_each_batch_as_atomic_batches(system, settings, nats_server,
                                                          monkeypatch):
    monkeypatch.setattr(relay_worker, "ATOMIC_MESSAGES", 4)
    position = write(system, 6, "k")  # before the relay starts: read in one batch
    group = WorkerGroup(["nats_relay"], settings)
    group.start()
    try:
        wait_until_relayed(system, "memory", position)
    finally:
        group.stop()
    assert stream_config(settings.nats_url).allow_atomic
    messages = stream_messages(settings.nats_url)
    assert [m.headers["Nats-Msg-Id"] for m in messages] == [
        f"memory:{n}" for n in range(1, position + 1)]
    batches = [m.headers.get("Nats-Batch-Id") for m in messages]
    assert [batches.count(batch) for batch in dict.fromkeys(batches)] == [4, 2]


def test_a_stream_made_without_atomic_batches_is_given_them(system, settings, nats_server):
    make_stream(settings.nats_url, duplicate_window=120)
    assert not stream_config(settings.nats_url).allow_atomic
    group = WorkerGroup(["nats_relay"], settings)
    group.start()
    try:
        wait_until_relayed(system, "memory", write(system, 3, "k"))
    finally:
        group.stop()
    assert stream_config(settings.nats_url).allow_atomic
    assert [json.loads(m.data)["position"] for m in stream_messages(settings.nats_url)] \
        == [1, 2, 3]


def test_an_event_larger_than_the_servers_max_payload_goes_without_its_data(
        system, settings, relay):
    """A memory of a megabyte (what the API accepts) is over a default server's 1 MB as
    an envelope: it is published without its data, and the relay goes on."""
    write(system, 1, "before")
    megabyte = {"text": "word " * 209_700}  # as JSON, 1,048,512 bytes: the API takes it
    system.memory.upsert("u1", MemoryDraft(key="large", content=megabyte), cause=SETUP)
    position = write(system, 1, "after")
    wait_until_relayed(system, "memory", position)
    envelopes = [json.loads(m.data) for m in stream_messages(settings.nats_url)]
    assert [e["position"] for e in envelopes] == [1, 2, 3]
    assert [envelopes[0]["data"]["key"], envelopes[2]["data"]["key"]] == [
        "before0", "after0"]
    large = envelopes[1]
    assert large["data"] == {} and large["type"] == "MemoryItem.Upserted"
    assert large["data_omitted"]["max_payload"] == 1024 * 1024
    assert large["data_omitted"]["bytes"] > 1024 * 1024


def test_an_event_the_stream_refuses_stops_the_relay_at_it_after_those_before(
        system, settings, nats_server):
    make_stream(settings.nats_url, max_msg_size=4000, allow_atomic=True)
    write(system, 3, "small")
    system.memory.upsert("u1", MemoryDraft(key="large", content="x" * 8000), cause=SETUP)
    write(system, 2, "after")
    group = WorkerGroup(["nats_relay"], settings)
    group.start()
    try:
        assert eventually(lambda: group.failures, 30), "the refused event failed nothing"
    finally:
        group.stop()
    assert [json.loads(m.data)["position"] for m in stream_messages(settings.nats_url)] \
        == [1, 2, 3]
    name, error = group.failures[0]
    assert "position 4" in str(error)


def test_content_shaped_like_the_event_stores_typed_objects_is_published_as_sent(
        system, settings, relay):
    content = {"_type_": "nope", "_data_": [{"_type_": "uuid_hex", "_data_": "zz"}]}
    _, position = system.memory.upsert("u1", MemoryDraft(key="shaped", content=content),
                                       cause=SETUP)
    wait_until_relayed(system, "memory", position)
    [message] = stream_messages(settings.nats_url)
    assert json.loads(message.data)["data"]["content"] == content
