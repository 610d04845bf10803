"""Which memories go into a model's prompt for a chat, packed within a token budget.

The ranking (layer first, then confidence and recency) is computed by the memory read
model with these weights; packing and recording what was chosen happen here."""

import json
from collections.abc import Iterable
from typing import Any

LAYER_WEIGHT = {"permanent": 3.0, "temporary": 2.0, "context": 1.0}
RECENCY_HALF_LIFE_DAYS = 7.0  # a memory's recency bonus halves every week
UNKNOWN_CONFIDENCE = 0.5
LEFT_OUT = ("secret",)  # never shown to a model


def prompt_text(key: str, content: Any) -> str:
    """How a memory is written into a prompt (what its tokens are counted on)."""
    body = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return f"{key}: {body}"


def pack(ranked: Iterable[dict], max_tokens: int) -> tuple[list[dict], int]:
    """The best-ranked memories (each with its `tokens`) that fit the budget together,
    and their exact total. One too large for what is left is skipped: smaller ones
    further down may still fit."""
    chosen, total = [], 0
    for candidate in ranked:
        if total + candidate["tokens"] <= max_tokens:
            chosen.append(candidate)
            total += candidate["tokens"]
    return chosen, total
