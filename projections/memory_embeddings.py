"""Meaning vectors of memories (pgvector), computed in batches by this projection's
worker, never in the request path; and the hybrid search over memories that uses them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryItem, MemoryOwner, searchable_text
from arqium.infra.embeddings import DIMENSIONS, shared_embedder, vector_literal
from arqium.infra.keys import OwnerKeys
from arqium.projections.base import BatchProjection, ReadModel

MEMORY_ITEMS = "memory_items"  # the live name of the memory read model this one joins
MEMORY_WORDS = f"{MEMORY_ITEMS}_words"  # and of its owners' vocabularies
RRF_K = 60  # reciprocal-rank fusion constant
CANDIDATES = 50  # how deep each side (keyword, meaning) ranks before fusion
OVERFETCH = 4  # nearest vectors read per meaning candidate, for the filters to thin
HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2"

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
ADD_GONE_COLUMN = """
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS gone boolean NOT NULL DEFAULT false"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id)"

UPSERT_EMBEDDING = """
INSERT INTO {table} (id, owner_id, key, tags, embedding, position)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(tags)s, %(embedding)s::halfvec, %(position)s)
ON CONFLICT (id) DO UPDATE SET tags = excluded.tags, embedding = excluded.embedding,
    position = excluded.position, gone = false"""
SELECT_ROWS = "SELECT id, owner_id, key, tags FROM {table} WHERE id = ANY(%(ids)s::uuid[])"
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"
MARK_GONE = "UPDATE {table} SET gone = true WHERE id = %(id)s"

# What makes a memory of the owner a candidate (m: its memory_items row). The key prefix
# is compared with left(), which no index serves, so the owner's full-text index, not the
# key index, drives the keyword side.
CANDIDATE = """m.owner_id = %(owner_id)s AND m.gone_at IS NULL
        AND (m.expires_at IS NULL OR m.expires_at > %(now)s)
        AND (%(layer)s::text IS NULL OR m.layer = %(layer)s)
        AND (%(min_confidence)s::float8 IS NULL OR m.confidence >= %(min_confidence)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR m.tags ?| %(tags)s::text[])
        AND (%(key_prefix)s::text IS NULL
            OR left(m.key, length(%(key_prefix)s)) = %(key_prefix)s)
        AND (%(metadata)s::jsonb IS NULL OR m.metadata @> %(metadata)s::jsonb)"""
# The keyword side matches the query's words, and the owner's words that are spelt like
# them (pg_trgm), by full text (the composite GIN index finds the owner's matches); the
# meaning side ranks by cosine distance the nearest vectors that pass the key and tag
# filters (this table has them, and marks gone memories), then keeps those whose memory
# passes the rest. Filters apply inside each ranking, so neither side drops the other's
# matches; the page's rows are read last, for the fused top only.
SEARCH = """
WITH terms AS MATERIALIZED (
    SELECT websearch_to_tsquery('english', %(query)s) || coalesce((
        SELECT to_tsquery('english', string_agg(DISTINCT known.word, ' | '))
        FROM regexp_split_to_table(lower(%(query)s), '[^[:alpha:]]+') AS term
        JOIN {words} known ON known.owner_id = %(owner_id)s AND known.word %% term
        WHERE length(term) >= 3), ''::tsquery) AS query
),
keyword AS (
    SELECT m.id, row_number() OVER (ORDER BY ts_rank(m.tsv, terms.query) DESC, m.id) AS rank
    FROM {memory_items} m, terms
    WHERE %(use_keyword)s AND m.tsv @@ terms.query AND """ + CANDIDATE + """
    ORDER BY rank
    LIMIT %(candidates)s
),
nearest AS MATERIALIZED (
    SELECT e.id, e.embedding <=> %(vector)s::halfvec AS distance FROM {table} e
    WHERE %(use_meaning)s AND e.owner_id = %(owner_id)s AND NOT e.gone
        AND (%(key_prefix)s::text IS NULL
            OR left(e.key, length(%(key_prefix)s)) = %(key_prefix)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR e.tags ?| %(tags)s::text[])
        AND e.embedding <=> %(vector)s::halfvec <= 1 - %(min_similarity)s
    ORDER BY distance
    LIMIT %(candidates)s * %(overfetch)s
),
meaning AS (
    SELECT n.id, row_number() OVER (ORDER BY n.distance, n.id) AS rank
    FROM nearest n JOIN {memory_items} m ON m.id = n.id
    WHERE """ + CANDIDATE + """
    ORDER BY rank
    LIMIT %(candidates)s
),
fused AS (
    SELECT id, coalesce(1.0 / (%(k)s + keyword.rank), 0)
        + coalesce(1.0 / (%(k)s + meaning.rank), 0) AS score, count(*) OVER () AS total
    FROM keyword FULL JOIN meaning USING (id)
)
SELECT m.id, m.key, m.content, m.layer, m.confidence, m.tags, m.metadata, m.created_at,
    m.updated_at, m.expires_at, fused.score, fused.total,
    CASE WHEN %(snippets)s THEN ts_headline('english', coalesce(m.content #>> '{{}}', ''),
        terms.query, %(headline)s) END AS snippet
FROM fused JOIN {memory_items} m USING (id) CROSS JOIN terms
ORDER BY fused.score DESC, m.updated_at DESC, m.id
LIMIT %(limit)s"""


CHANGES_CONTENT = (MemoryItem.Upserted, MemoryItem.Revised, MemoryItem.Recreated,
                   MemoryItem.Promoted)


def follow(event: Any, rows: dict[Any, dict]) -> None:
    """Keep a batch's known rows (owner, key, tags) as of `event`, so a revision after
    a creation in the same batch finds its row, a promotion the latest tags, and a
    forgotten owner's rows are gone."""
    if isinstance(event, MemoryItem.Upserted):
        rows[event.originator_id] = {"owner_id": event.owner_id, "key": event.key,
                                     "tags": event.tags}
    elif isinstance(event, (MemoryItem.Revised, MemoryItem.Recreated)) \
            and event.originator_id in rows:
        rows[event.originator_id]["tags"] = event.tags  # revised or recreated
    elif isinstance(event, MemoryOwner.Forgotten):
        for item_id in [i for i, row in rows.items() if row["owner_id"] == event.owner_id]:
            del rows[item_id]


class MemoryEmbeddingsView(ReadModel):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(self.sql(ADD_GONE_COLUMN))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))

    def search(self, owner_id: str, query: str, vector: Sequence[float] | None, *,
               mode: str = "hybrid", layer: str | None = None, tags: Sequence[str] = (),
               min_confidence: float | None = None, limit: int = 10,
               min_similarity: float = 0.25, key_prefix: str | None = None,
               metadata: dict | None = None, snippets: bool = False,
               now: datetime) -> tuple[list[dict], int]:
        """The owner's live memories ranked by keyword and meaning, fused by reciprocal
        rank; each row has a `score` (and, with `snippets`, its content with the matched
        words in <mark>). Also how many matched in all. `key_prefix` and `metadata`
        (contained in the memory's) narrow the memories searched."""
        rows = self.query(
            SEARCH, identifiers={"memory_items": MEMORY_ITEMS, "words": MEMORY_WORDS},
            owner_id=owner_id, query=query,
            vector=vector_literal(vector) if vector else None, layer=layer, tags=list(tags),
            min_confidence=min_confidence, limit=limit, candidates=CANDIDATES, k=RRF_K,
            overfetch=OVERFETCH,
            use_keyword=mode in ("hybrid", "keyword"),
            use_meaning=mode in ("hybrid", "semantic") and vector is not None,
            min_similarity=min_similarity, now=now, snippets=snippets, headline=HEADLINE,
            key_prefix=key_prefix,
            metadata=None if metadata is None else Jsonb(metadata))
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
        """Embed every text of the batch in a few inferences, outside any transaction
        (inference can take longer than Postgres lets a transaction idle), then write
        them, in event order, with the tracking position in one transaction."""
        rows, pending = self._known_rows(batch), {}
        for event, tracking in batch:
            follow(event, rows)
            if item := self.text_of(event, tracking.notification_id, rows):
                pending[tracking.notification_id] = item
        vectors = self.embedder.embed([item["text"] for item in pending.values()])
        for item, vector in zip(pending.values(), vectors, strict=True):
            item["row"]["embedding"] = vector_literal(vector)
        with self.view.datastore.transaction(commit=True) as curs:
            for event, tracking in batch:
                item = pending.get(tracking.notification_id)
                if item is not None:
                    curs.execute(self.view.sql(UPSERT_EMBEDDING), item["row"])
                self.apply(event, tracking.notification_id, curs)
            self.view._insert_tracking(curs, batch[-1][1])

    def _known_rows(self, batch: Sequence[tuple[Any, Tracking]]) -> dict[Any, dict]:
        """Owner, key and tags of the memories the batch changes that already have an
        embedding (this projection is their only writer, so they cannot go stale)."""
        ids = list({event.originator_id for event, _ in batch
                    if isinstance(event, CHANGES_CONTENT)})
        if not ids:
            return {}
        with self.view.datastore.transaction(commit=False) as curs:
            curs.execute(self.view.sql(SELECT_ROWS), {"ids": ids})
            return {row["id"]: row for row in curs.fetchall()}

    def text_of(self, event: Any, position: int, rows: dict[Any, dict]) -> dict | None:
        """What to embed for an event that sets a memory's content (None otherwise)."""
        if not isinstance(event, CHANGES_CONTENT):
            return None
        row = rows.get(event.originator_id)
        if row is None:
            return None
        content = self.keys.readable(row["owner_id"], event.content)
        return {"text": searchable_text(row["key"], content, row["tags"]),
                "row": {"id": event.originator_id, "owner_id": row["owner_id"],
                        "key": row["key"], "tags": Jsonb(row["tags"]), "position": position}}

    @singledispatchmethod
    def apply(self, domain_event: Any, position: int, curs: Cursor) -> None:
        """Embeddings are written by process_batch; only removals are left here."""

    @apply.register
    def _(self, domain_event: MemoryOwner.Forgotten, position: int, curs: Cursor) -> None:
        curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": domain_event.owner_id})

    @apply.register
    def _(self, domain_event: MemoryItem.Deleted, position: int, curs: Cursor) -> None:
        self._forget(domain_event, curs)

    @apply.register
    def _(self, domain_event: MemoryItem.Expired, position: int, curs: Cursor) -> None:
        self._forget(domain_event, curs)

    def _forget(self, domain_event: Any, curs: Cursor) -> None:
        """A deleted or expired memory's vector is no longer searched (its row keeps
        owner and key for a new life, which embeds again)."""
        curs.execute(self.view.sql(MARK_GONE), {"id": domain_event.originator_id})
