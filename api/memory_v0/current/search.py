"""The current dialect's search (`POST /v0/search` with `memoryId` and no `userId`): one
memory's entries by keyword and meaning, with its latest context and the context most
like the query."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arqium.api.common.deps import ReadModelWaits
from arqium.api.common.search import relevance
from arqium.api.common.shapes import iso
from arqium.api.memory_v0.access import V0User, check_uuid
from arqium.api.memory_v0.current.bodies import context_text, entry_body
from arqium.domain.memory.vaults import CollectionNotFound, entry_key_prefix
from arqium.projections.memory_items import MemoryItemsProjection
from arqium.projections.memory_search import MemoryQuery
from arqium.projections.vaults import VaultsProjection
from arqium.system.bootstrap import System

DEFAULT_TOP_K, MAX_TOP_K = 10, 100


class CurrentSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")
    memoryId: str
    query: str = Field(min_length=1, max_length=1000)
    topK: int = DEFAULT_TOP_K
    vaultId: str | None = None
    actorId: str | None = None  # the key names the caller: ignored

    @field_validator("query")
    @classmethod
    def _trimmed(cls, query: str) -> str:
        if not query.strip():
            raise ValueError("query must not be blank")
        return query.strip()

    @property
    def limit(self) -> int:
        """topK as the SDK means it: 10 when not positive, at most 100."""
        return DEFAULT_TOP_K if self.topK <= 0 else min(self.topK, MAX_TOP_K)


def search(body: CurrentSearch, caller: V0User, system: System, waits: ReadModelWaits
           ) -> dict:
    memory_id = check_uuid(body.memoryId, "memoryId")
    memory = _memory(system, waits, caller, memory_id)
    waits.at_head(MemoryItemsProjection)  # a deleted entry is gone from the next search
    rows, _ = system.memory_search.search(MemoryQuery(
        caller.owner_id, body.query, limit=body.limit,
        key_prefix=entry_key_prefix(memory_id)), system.clock())
    hits = [{**entry_body(caller, memory["vault_id"], row["content"], row["metadata"],
                          row["created_at"], row["expires_at"]),
             "score": relevance(row["score"])} for row in rows]
    best = system.read_models.vaults.best_context(memory_id, body.query)
    return {"entries": hits, "count": len(hits),
            **_context("latestContext", "contextTimestamp", memory.get("context"),
                       memory.get("context_at")),
            **_context("bestContext", "bestContextTimestamp", best and best["context"],
                       best and best["created_at"]),
            "bestContextScore": float(best["score"]) if best else 0.0}


def _memory(system: System, waits: ReadModelWaits, caller: V0User, memory_id: str
            ) -> dict:
    """The caller's memory with its latest context (read once its writes are in)."""
    memories = waits.at_head(VaultsProjection).memories_of(caller.owner_id, memory_id)
    if memory_id not in memories:
        raise CollectionNotFound("memory not found", field="memoryId")
    return memories[memory_id]


def _context(text_name: str, time_name: str, context: Any, at: Any) -> dict:
    """A context as text and its time; "" and null when the memory has none."""
    if at is None:
        return {text_name: "", time_name: None}
    return {text_name: context_text(context), time_name: iso(at)}
