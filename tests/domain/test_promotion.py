from datetime import datetime, timezone

import pytest

from arqium.domain.memory.domainmodel import MemoryItem, MemoryNotFound, PromotionRefused
from arqium.domain.shared import merge_patch

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def item(layer="temporary", confidence=0.9) -> MemoryItem:
    return MemoryItem(owner_id="u1", key="k", content={"a": 1}, layer=layer,
                      confidence=confidence, sensitivity="public", tags=[], metadata={},
                      session_id=None, context_id=None, expires_at=None, at=AT)


def promote(memory: MemoryItem, force=False) -> None:
    memory.promote(threshold=0.8, force=force, reason="test", content=memory.content,
                   merged=False, expires_at=None, at=AT)


def test_a_confident_temporary_memory_becomes_permanent():
    memory = item()
    promote(memory)
    event = memory.collect_events()[-1]
    assert memory.layer == "permanent"
    assert (event.from_layer, event.to_layer, event.forced, event.reason) == (
        "temporary", "permanent", False, "test")


def test_context_is_promoted_to_temporary():
    memory = item(layer="context")
    promote(memory)
    assert memory.layer == "temporary"


def test_promotion_below_the_threshold_is_refused_naming_the_rule():
    with pytest.raises(PromotionRefused) as refused:
        promote(item(confidence=0.5))
    assert refused.value.details["rule"] == "confidence_threshold"


def test_force_promotes_below_the_threshold_and_says_so():
    memory = item(confidence=0.1)
    promote(memory, force=True)
    assert memory.collect_events()[-1].forced is True


def test_a_permanent_memory_cannot_be_promoted():
    with pytest.raises(PromotionRefused) as refused:
        promote(item(layer="permanent"))
    assert refused.value.details["rule"] == "already_permanent"


def test_a_deleted_memory_cannot_be_promoted():
    memory = item()
    memory.delete(reason="test", at=AT)
    with pytest.raises(MemoryNotFound):
        promote(memory)


def test_merge_patch_merges_objects_and_removes_nulls():
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": None, "e": 4}, "f": 5}) == {
        "a": 1, "b": {"d": 3, "e": 4}, "f": 5}
    assert merge_patch({"a": 1}, "text") == "text"
