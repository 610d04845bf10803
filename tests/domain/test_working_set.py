from datetime import datetime, timedelta, timezone

from domain.memory.workingset import Candidate, pack

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def candidate(key, tokens, layer="temporary", confidence=0.5, sensitivity="public",
              age_days=0) -> Candidate:
    return Candidate(id=key, key=key, content=key, layer=layer, confidence=confidence,
                     sensitivity=sensitivity, updated_at=NOW - timedelta(days=age_days),
                     version=1, tokens=tokens)


def keys(chosen) -> list[str]:
    return [c.key for c in chosen]


def test_permanent_memories_rank_before_temporary_and_context():
    chosen, _ = pack([candidate("c", 1, "context"), candidate("p", 1, "permanent"),
                      candidate("t", 1, "temporary")], 100, NOW)
    assert keys(chosen) == ["p", "t", "c"]


def test_confidence_and_recency_order_memories_of_one_layer():
    chosen, _ = pack([candidate("old", 1, age_days=30), candidate("sure", 1, confidence=1.0),
                      candidate("new", 1)], 100, NOW)
    assert keys(chosen) == ["sure", "new", "old"]


def test_the_total_never_exceeds_the_budget_and_is_exact():
    chosen, total = pack([candidate("a", 60, "permanent"), candidate("b", 50),
                          candidate("c", 30, "context")], 100, NOW)
    assert keys(chosen) == ["a", "c"] and total == 90


def test_secret_memories_are_left_out():
    chosen, _ = pack([candidate("s", 1, sensitivity="secret"), candidate("p", 1)], 100, NOW)
    assert keys(chosen) == ["p"]
