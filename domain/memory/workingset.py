"""Which memories go into a model's prompt for a chat, packed within a token budget."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LAYER_WEIGHT = {"permanent": 3.0, "temporary": 2.0, "context": 1.0}
RECENCY_HALF_LIFE_DAYS = 7.0
UNKNOWN_CONFIDENCE = 0.5
LEFT_OUT = ("secret",)  # never shown to a model


@dataclass(frozen=True)
class Candidate:
    id: Any
    key: str
    content: Any
    layer: str
    confidence: float | None
    sensitivity: str
    updated_at: datetime
    version: int
    tokens: int
    relevance: float = 0.0  # to the chat's recent messages, 0..1, when known


def prompt_text(key: str, content: Any) -> str:
    """How a memory is written into a prompt (what its tokens are counted on)."""
    import json
    body = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return f"{key}: {body}"


def score(candidate: Candidate, now: datetime) -> float:
    """Layer first, then confidence, recency and relevance."""
    age_days = max((now - candidate.updated_at).total_seconds(), 0) / 86400
    recency = math.exp(-math.log(2) * age_days / RECENCY_HALF_LIFE_DAYS)
    confidence = (UNKNOWN_CONFIDENCE if candidate.confidence is None
                  else candidate.confidence)
    return LAYER_WEIGHT.get(candidate.layer, 0) + confidence + recency + 2 * candidate.relevance


def pack(candidates: list[Candidate], max_tokens: int, now: datetime
         ) -> tuple[list[Candidate], int]:
    """The best-ranked memories that fit the budget together, and their exact tokens.
    A memory too large for what is left is skipped, smaller ones may still fit."""
    chosen, total = [], 0
    ranked = sorted((c for c in candidates if c.sensitivity not in LEFT_OUT),
                    key=lambda c: (-score(c, now), str(c.id)))
    for candidate in ranked:
        if total + candidate.tokens <= max_tokens:
            chosen.append(candidate)
            total += candidate.tokens
    return chosen, total
