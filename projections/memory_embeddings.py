"""Meaning vectors of memories (pgvector), computed in batches by this projection's
worker, never in the request path; and the hybrid search over memories that uses them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.memory.application import MemoryApplication
from domain.memory.domainmodel import MemoryItem, MemoryOwner, searchable_text
from infra.embeddings import DIMENSIONS, shared_embedder, vector_literal
from infra.keys import OwnerKeys
from projections.base import BatchProjection, ReadModel

MEMORY_ITEMS = "memory_items"  # the live name of the memory read model this one joins
MEMORY_WORDS = f"{MEMORY_ITEMS}_words"  # and of its owners' vocabularies
RRF_K = 60  # reciprocal-rank fusion constant
CANDIDATES = 50  # how deep each side (keyword, meaning) ranks before fusion

# Half-precision vectors: half the pages to read per search, rankings indistinguishable
# from single precision for unit vectors of this model.
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {{table}} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    key text NOT NULL,
    tags jsonb NOT NULL,
    embedding halfvec({DIMENSIONS}) NOT NULL,
    position bigint NOT NULL
)"""
# Nearest neighbours are computed exactly within one owner's memories: an approximate
# (HNSW) index would filter by owner after its scan and could miss them.
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id)"

UPSERT_EMBEDDING = """
INSERT INTO {table} (id, owner_id, key, tags, embedding, position)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(tags)s, %(embedding)s::halfvec, %(position)s)
ON CONFLICT (id) DO UPDATE SET tags = excluded.tags, embedding = excluded.embedding,
    position = excluded.position"""
SELECT_ROW = "SELECT owner_id, key, tags FROM {table} WHERE id = %(id)s"
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

# The keyword side matches the query's words, and the owner's words that are spelt like
# them (pg_trgm), by full text; the meaning side ranks by cosine distance. Filters apply
# inside each ranking, so neither side drops the other's matches; the page's rows are
# read last, for the fused top only.
SEARCH = """
WITH terms AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', %(query)s) || coalesce((
        SELECT to_tsquery('english', string_agg(DISTINCT known.word, ' | '))
        FROM regexp_split_to_table(lower(%(query)s), '[^[:alpha:]]+') AS term
        JOIN {words} known ON known.owner_id = %(owner_id)s AND known.word %% term
        WHERE length(term) >= 3), ''::tsquery) AS query
),
live AS (
    SELECT id, tsv FROM {memory_items}
    WHERE owner_id = %(owner_id)s AND gone_at IS NULL
        AND (expires_at IS NULL OR expires_at > %(now)s)
        AND (%(layer)s::text IS NULL OR layer = %(layer)s)
        AND (%(min_confidence)s::float8 IS NULL OR confidence >= %(min_confidence)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR tags ?| %(tags)s::text[])
),
keyword AS (
    SELECT id, row_number() OVER (ORDER BY ts_rank(tsv, terms.query) DESC, id) AS rank
    FROM live, terms
    WHERE %(use_keyword)s AND tsv @@ terms.query
    ORDER BY rank
    LIMIT %(candidates)s
),
meaning AS (
    SELECT e.id, row_number() OVER (ORDER BY e.embedding <=> %(vector)s::halfvec, e.id) AS rank
    FROM {table} e
    WHERE %(use_meaning)s AND e.owner_id = %(owner_id)s AND e.id IN (SELECT id FROM live)
        AND e.embedding <=> %(vector)s::halfvec <= 1 - %(min_similarity)s
    ORDER BY e.embedding <=> %(vector)s::halfvec
    LIMIT %(candidates)s
),
fused AS (
    SELECT id, coalesce(1.0 / (%(k)s + keyword.rank), 0)
        + coalesce(1.0 / (%(k)s + meaning.rank), 0) AS score, count(*) OVER () AS total
    FROM keyword FULL JOIN meaning USING (id)
)
SELECT m.id, m.key, m.content, m.layer, m.confidence, m.tags, m.updated_at, fused.score,
    fused.total
FROM fused JOIN {memory_items} m USING (id)
ORDER BY fused.score DESC, m.updated_at DESC, m.id
LIMIT %(limit)s"""


class MemoryEmbeddingsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))

    def search(self, owner_id: str, query: str, vector: Sequence[float] | None, *,
               mode: str = "hybrid", layer: str | None = None, tags: Sequence[str] = (),
               min_confidence: float | None = None, limit: int = 10,
               min_similarity: float = 0.25, now: datetime) -> tuple[list[dict], int]:
        """The owner's live memories ranked by keyword and meaning, fused by reciprocal
        rank; each row has a `score`. Also how many matched in all."""
        rows = self.query(
            SEARCH, identifiers={"memory_items": MEMORY_ITEMS, "words": MEMORY_WORDS},
            owner_id=owner_id, query=query,
            vector=vector_literal(vector) if vector else None, layer=layer, tags=list(tags),
            min_confidence=min_confidence, limit=limit, candidates=CANDIDATES, k=RRF_K,
            use_keyword=mode in ("hybrid", "keyword"),
            use_meaning=mode in ("hybrid", "semantic") and vector is not None,
            min_similarity=min_similarity, now=now)
        return rows, rows[0]["total"] if rows else 0


class MemoryEmbeddingsProjection(BatchProjection):
    name = "memory_embeddings"
    application = MemoryApplication
    view_class = MemoryEmbeddingsView

    def __init__(self, view: MemoryEmbeddingsView):
        super().__init__(view)
        self.keys = OwnerKeys(view.datastore.get_connection)
        self.embedder = shared_embedder()

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Embed every text of the batch in a few inferences, then write them all and
        the tracking position in one transaction."""
        with self.view.datastore.transaction(commit=True) as curs:
            pending = [item for event, tracking in batch
                       if (item := self.text_of(event, tracking.notification_id, curs))]
            vectors = self.embedder.embed([item["text"] for item in pending])
            for item, vector in zip(pending, vectors, strict=True):
                curs.execute(self.view.sql(UPSERT_EMBEDDING), {
                    **item["row"], "embedding": vector_literal(vector)})
            for event, tracking in batch:
                self.apply(event, tracking.notification_id, curs)
            self.view._insert_tracking(curs, batch[-1][1])

    def text_of(self, event: Any, position: int, curs: Cursor) -> dict | None:
        """What to embed for an event that sets a memory's content (None otherwise)."""
        if not isinstance(event, (MemoryItem.Upserted, MemoryItem.Revised,
                                  MemoryItem.Recreated, MemoryItem.Promoted)):
            return None
        row = self._row(event, curs)
        if row is None:
            return None
        tags = getattr(event, "tags", None)
        tags = row["tags"] if tags is None else tags
        content = self.keys.readable(row["owner_id"], event.content)
        return {"text": searchable_text(row["key"], content, tags),
                "row": {"id": event.originator_id, "owner_id": row["owner_id"],
                        "key": row["key"], "tags": Jsonb(tags), "position": position}}

    def _row(self, event: Any, curs: Cursor) -> dict | None:
        if isinstance(event, MemoryItem.Upserted):
            return {"owner_id": event.owner_id, "key": event.key, "tags": event.tags}
        curs.execute(self.view.sql(SELECT_ROW), {"id": event.originator_id})
        return curs.fetchone()

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Embeddings are written by process_batch; only forgetting is left here."""

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": domain_event.owner_id})
