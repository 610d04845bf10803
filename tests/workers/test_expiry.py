import threading

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import memory_id_for
from arqium.workers.expiry import Expirer
from tests.conftest import SETUP, eventually


def run_once(system, settings) -> int:
    return Expirer(settings, threading.Event(), clock=system.clock).expire_due(
        system.memory, system.views["memory_items"])


def last_event_type(system, user_id: str, key: str) -> str:
    return system.memory.history(user_id, memory_id_for(user_id, key))[-1]["type"]


def test_a_due_memory_gets_an_expired_event_by_the_worker(system, settings, workers):
    workers("memory_items")
    item, position = system.memory.upsert("u1", MemoryDraft(key="k", content="v",
                                                             ttl_seconds=60), cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=5)
    assert run_once(system, settings) == 0
    system.clock.advance(seconds=61)
    assert run_once(system, settings) == 1
    history = system.memory.history("u1", item.id)
    assert [v["type"] for v in history] == ["Upserted", "Expired"]
    assert history[-1]["actor"] == "worker:memory_expiry"


def test_an_expired_key_can_be_stored_again_as_a_new_life(system, settings, workers):
    workers("memory_items")
    system.memory.upsert("u1", MemoryDraft(key="k", content="v", layer="context"),
                         cause=SETUP)
    system.clock.advance(minutes=16)
    item, position = system.memory.upsert("u1", MemoryDraft(key="k", content="again",
                                                            layer="permanent"), cause=SETUP)
    system.views["memory_items"].wait("memory", position, timeout=5)
    rows = system.views["memory_items"].recent("u1", 10, system.clock())
    assert [(r["content"], r["layer"]) for r in rows] == [("again", "permanent")]
    assert item.version == 2


def test_the_expiry_worker_in_the_worker_group_expires_on_the_injected_clock(
        system, settings, workers):
    settings.expiry_interval_seconds = 0.1
    system.memory.upsert("u1", MemoryDraft(key="k", content="v", ttl_seconds=3600),
                         cause=SETUP)
    workers("memory_items", "memory_expiry")
    system.clock.advance(hours=2)  # the workers share the test's fake clock
    assert eventually(lambda: last_event_type(system, "u1", "k") == "Expired", every=0.1), (
        "the expiry worker did not expire the memory")
