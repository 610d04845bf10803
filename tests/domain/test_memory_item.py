from datetime import datetime, timedelta, timezone

import pytest

from arqium.domain.memory.domainmodel import (
    LayerConflict,
    MemoryItem,
    check_layer,
    expiry_for,
    memory_id_for,
)
from arqium.domain.shared import Invalid

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
TTLS = {"context": 15, "temporary": 10080}


def new_item(**overrides) -> MemoryItem:
    fields = dict(owner_id="u1", key="theme", content={"theme": "dark"}, layer="temporary",
                  confidence=0.9, sensitivity="public", tags=["ui"], metadata={},
                  session_id=None, context_id=None, expires_at=None, at=AT)
    return MemoryItem(**{**fields, **overrides})


def revise(item: MemoryItem, **overrides) -> None:
    fields = dict(content={"theme": "light"}, layer="temporary", confidence=0.9,
                  sensitivity="public", tags=[], metadata={}, expires_at=None, at=AT)
    item.revise(**{**fields, **overrides})


def test_a_memory_is_identified_by_its_owner_and_key():
    assert new_item().id == memory_id_for("u1", "theme")
    assert memory_id_for("u1", "theme") != memory_id_for("u2", "theme")


def test_upserting_records_the_actor_and_request_that_caused_it(cause):
    [upserted] = new_item().collect_events()
    assert (upserted.actor, upserted.correlation_id) == (cause.actor, cause.correlation_id)


def test_revising_supersedes_content_and_keeps_the_old_in_history():
    item = new_item()
    revise(item, content={"theme": "light"})
    created, revised = item.collect_events()
    assert created.content == {"theme": "dark"}
    assert revised.content == item.content == {"theme": "light"}


def test_revising_into_another_layer_is_a_conflict():
    item = new_item(layer="temporary")
    with pytest.raises(LayerConflict):
        revise(item, layer="permanent")


def test_unknown_layer_is_invalid():
    with pytest.raises(Invalid):
        check_layer("forever")


def test_layer_default_ttl_applies_unless_the_memory_has_its_own():
    assert expiry_for("context", AT, None, TTLS) == AT + timedelta(minutes=15)
    assert expiry_for("temporary", AT, 90, TTLS) == AT + timedelta(seconds=90)
    assert expiry_for("permanent", AT, None, TTLS) is None
