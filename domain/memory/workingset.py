"""Which memories go into a model's prompt for a chat, packed within a token budget.

The ranking (layer first, then confidence, recency and relevance to the chat's recent
messages) is computed by the memory read
model with these weights; packing and recording what was chosen happen here."""

import json
from collections.abc import Sequence
from typing import Any

LAYER_WEIGHT = {"permanent": 3.0, "temporary": 2.0, "context": 1.0}
RECENCY_HALF_LIFE_DAYS = 7.0  # a memory's recency bonus halves every week
UNKNOWN_CONFIDENCE = 0.5
RELEVANCE_WEIGHT = 2.0  # times the cosine similarity to the chat's recent messages
LEFT_OUT = ("secret",)  # never shown to a model


def prompt_text(key: str, content: Any) -> str:
    """How a memory is written into a prompt (what its tokens are counted on)."""
    body = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return f"{key}: {body}"


def conversation_text(messages: Sequence[dict]) -> str:
    """A chat's messages (oldest first, each with `role` and `content`) as the text a
    working set's relevance is measured against: what the user and the assistant said,
    newest first, so that truncation drops the oldest."""
    said = [m["content"] for m in reversed(messages)
            if m["role"] in ("user", "assistant") and isinstance(m["content"], str)]
    return "\n".join(said).strip()


def pack(tokens: Sequence[int], max_tokens: int) -> tuple[list[int], int]:
    """Which of the ranked memories (given best first by their token counts) fit the
    budget together, as indices, and their exact total. One too large for what is left
    is skipped: smaller ones further down may still fit."""
    chosen, total = [], 0
    for index, count in enumerate(tokens):
        if total + count <= max_tokens:
            chosen.append(index)
            total += count
    return chosen, total
