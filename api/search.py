"""Memory search as every face asks for it: query embedding (cached), hybrid ranking."""

from collections.abc import Sequence

from infra.bootstrap import System
from infra.embeddings import shared_embedder
from projections.memory_embeddings import RRF_K, MemoryEmbeddingsView

BEST_SCORE = 2 / (RRF_K + 1)  # first on both the keyword and the meaning ranking


def search_memories(system: System, view: MemoryEmbeddingsView, owner_id: str, query: str,
                    *, mode: str = "hybrid", layer: str | None = None,
                    tags: Sequence[str] = (), min_confidence: float | None = None,
                    limit: int = 10) -> tuple[list[dict], int]:
    vector = shared_embedder().query(query) if mode in ("hybrid", "semantic") else None
    return view.search(owner_id, query, vector, mode=mode, layer=layer, tags=tags,
                       min_confidence=min_confidence, limit=limit, now=system.clock())


def relevance(score: float) -> float:
    """A fused rank score as 0..1 (1: first by keyword and by meaning)."""
    return round(min(float(score) / BEST_SCORE, 1.0), 4)


def split_tags(tags: list[str]) -> list[str]:
    """Tags given as repeated parameters or comma-separated."""
    return [tag.strip() for value in tags for tag in value.split(",") if tag.strip()]
