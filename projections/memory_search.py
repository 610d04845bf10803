"""Memory search behind one interface, for every face: hybrid, keyword or meaning search
with the filters the faces use, and the working-set ranking. The PostgreSQL search is
here; the Elasticsearch one is in memory_search_es. This module only reads: the tables
of the memory_items and memory_embeddings read models, by the names their views give."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from psycopg.sql import Composed
from psycopg.types.json import Jsonb

from arqium.domain.memory.workingset import (
    LAYER_WEIGHT,
    LEFT_OUT,
    RECENCY_HALF_LIFE_DAYS,
    RELEVANCE_WEIGHT,
    UNKNOWN_CONFIDENCE,
    pack,
)
from arqium.infra.embeddings import vector_literal
from arqium.projections.memory_embeddings import MemoryEmbeddingsView
from arqium.projections.memory_items import MemoryItemsView

SearchMode = Literal["hybrid", "keyword", "semantic"]
RRF_K = 60  # reciprocal-rank fusion constant
CANDIDATES = 50  # how deep each side (keyword, meaning) ranks before fusion
OVERFETCH = 4  # nearest vectors read per meaning candidate, for the filters to thin
MIN_SIMILARITY = 0.25  # cosine similarity below which a memory means nothing alike
HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2"

Embed = Callable[[str], Sequence[float]]


@dataclass(frozen=True)
class MemoryQuery:
    """What a face searches: the owner's live memories matching `text`, by keyword and
    meaning (mode), narrowed by the filters; `metadata` must be contained in a memory's;
    `snippets` asks for each hit's text with the matched words in <mark>."""

    owner_id: str
    text: str
    mode: SearchMode = "hybrid"
    layer: str | None = None
    tags: Sequence[str] = ()
    min_confidence: float | None = None
    key_prefix: str | None = None
    metadata: dict | None = None
    limit: int = 10
    snippets: bool = False
    min_similarity: float = MIN_SIMILARITY

    @property
    def by_keyword(self) -> bool:
        return self.mode in ("hybrid", "keyword")

    @property
    def by_meaning(self) -> bool:
        return self.mode in ("hybrid", "semantic")


class MemorySearch(Protocol):
    """The one memory search of a system, chosen at start-up."""

    def search(self, query: MemoryQuery, now: datetime) -> tuple[list[dict], int]:
        """The matching memories, best first (at most query.limit), each row with its
        `score` and `snippet` (None unless asked); also how many matched in all."""

    def working_set(self, owner_id: str, now: datetime, max_tokens: int,
                    candidates: int, conversation: str = "") -> list[dict]:
        """The owner's memories for a prompt, best first, packed within max_tokens,
        ranked by relevance to `conversation` too when there is one."""

    def wait(self, application_name: str, position: int, timeout: float) -> None:
        """Block until every index the search reads has reached `position`;
        TimeoutError if one has not within `timeout`."""

    def wait_for_words(self, application_name: str, position: int, timeout: float) -> None:
        """Block until the search finds every memory up to `position` by its words and
        key (its meaning may follow later); TimeoutError if not within `timeout`."""

    def close(self) -> None:
        """Release what the search holds of its own."""


# The columns of a found memory, and the owner's live memories (m: a memory_items row).
FOUND_COLUMNS = """m.id, m.key, m.content, m.layer, m.confidence, m.tags, m.metadata,
    m.created_at, m.updated_at, m.expires_at"""
LIVE_OF_OWNER = """m.owner_id = %(owner_id)s AND m.gone_at IS NULL
        AND (m.expires_at IS NULL OR m.expires_at > %(now)s)"""
# What makes a memory of the owner a candidate. The key prefix is compared with left(),
# which no index serves, so the owner's full-text index, not the key index, drives the
# keyword side.
CANDIDATE = LIVE_OF_OWNER + """
        AND (%(layer)s::text IS NULL OR m.layer = %(layer)s)
        AND (%(min_confidence)s::float8 IS NULL OR m.confidence >= %(min_confidence)s)
        AND (cardinality(%(tags)s::text[]) = 0 OR m.tags ?| %(tags)s::text[])
        AND (%(key_prefix)s::text IS NULL
            OR left(m.key, length(%(key_prefix)s)) = %(key_prefix)s)
        AND (%(metadata)s::jsonb IS NULL OR m.metadata @> %(metadata)s::jsonb)"""
# The keyword side matches the query's words, and the owner's words that are spelt like
# them (pg_trgm), by full text (the composite GIN index finds the owner's matches); the
# meaning side ranks by cosine distance the nearest vectors that pass the key and tag
# filters (the embeddings table has them, and marks gone memories), then keeps those
# whose memory passes the rest. Filters apply inside each ranking, so neither side
# drops the other's matches; the page's rows are read last, for the fused top only.
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
    FROM {items} m, terms
    WHERE %(use_keyword)s AND m.tsv @@ terms.query AND """ + CANDIDATE + """
    ORDER BY rank
    LIMIT %(candidates)s
),
nearest AS MATERIALIZED (
    SELECT e.id, e.embedding <=> %(vector)s::halfvec AS distance FROM {embeddings} e
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
    FROM nearest n JOIN {items} m ON m.id = n.id
    WHERE """ + CANDIDATE + """
    ORDER BY rank
    LIMIT %(candidates)s
),
fused AS (
    SELECT id, coalesce(1.0 / (%(k)s + keyword.rank), 0)
        + coalesce(1.0 / (%(k)s + meaning.rank), 0) AS score, count(*) OVER () AS total
    FROM keyword FULL JOIN meaning USING (id)
)
SELECT """ + FOUND_COLUMNS + """, fused.score, fused.total,
    CASE WHEN %(snippets)s AND NOT m.content ? '$sealed' THEN ts_headline('english',
        coalesce(m.content #>> '{{}}', ''), terms.query, %(headline)s) END AS snippet
FROM fused JOIN {items} m USING (id) CROSS JOIN terms
ORDER BY fused.score DESC, m.updated_at DESC, m.id
LIMIT %(limit)s"""
# The page of a ranking made elsewhere (Elasticsearch), in its order and in the shape of
# SEARCH; the owner and liveness are checked again, so a memory deleted since it was
# ranked is not shown.
SELECT_RANKED_PAGE = """
SELECT """ + FOUND_COLUMNS + """, ranked.score, %(total)s::bigint AS total
FROM unnest(%(ids)s::uuid[], %(scores)s::float8[]) AS ranked (id, score)
JOIN {items} m USING (id)
WHERE """ + LIVE_OF_OWNER + """
ORDER BY ranked.score DESC, m.updated_at DESC, m.id
LIMIT %(limit)s"""
# The working-set ranking (see domain.memory.workingset): layer weight, then confidence,
# a recency bonus that halves every half-life and, when the chat's recent messages are
# known, the cosine similarity of the memory's embedding to theirs; memories left out of
# prompts and those larger than the whole budget are not candidates. One row of two
# arrays, best first: cheap to read however many candidates there are.
SELECT_WORKING_SET = """
SELECT coalesce(array_agg(id::text ORDER BY rank), ARRAY[]::text[]) AS ids,
    coalesce(array_agg(tokens ORDER BY rank), ARRAY[]::integer[]) AS tokens
FROM (
    SELECT m.id, m.tokens, row_number() OVER (ORDER BY
        coalesce((%(layer_weights)s::jsonb ->> m.layer)::float8, 0)
        + coalesce(m.confidence, %(unknown_confidence)s)
        + exp(-ln(2) * greatest(extract(epoch FROM %(now)s - m.updated_at)::float8, 0)
            / (86400 * %(half_life_days)s))
        + %(relevance_weight)s
            * greatest(1 - (e.embedding <=> %(messages)s::halfvec), 0) DESC, m.id) AS rank
    FROM {items} m
    LEFT JOIN {embeddings} e ON e.id = m.id AND %(messages)s::halfvec IS NOT NULL
    WHERE """ + LIVE_OF_OWNER + """
        AND m.sensitivity <> ALL(%(left_out)s) AND m.tokens <= %(max_tokens)s
    ORDER BY rank
    LIMIT %(limit)s
) AS ranked"""
SELECT_SHOWN = """
SELECT id, key, content, layer, confidence, updated_at, version, tokens FROM {items}
WHERE id = ANY(%(ids)s::uuid[])"""


class PostgresMemorySearch:
    """Ranked in PostgreSQL: full text and trigrams on the memory read model, nearest
    vectors on the embeddings read model, fused by reciprocal rank."""

    def __init__(self, items: MemoryItemsView, embeddings: MemoryEmbeddingsView,
                 embed: Embed):
        self.items, self.embeddings, self.embed = items, embeddings, embed

    def search(self, query: MemoryQuery, now: datetime) -> tuple[list[dict], int]:
        vector = self.query_vector(query)
        rows = self._rows(
            SEARCH, owner_id=query.owner_id, query=query.text,
            vector=vector_literal(vector) if vector else None, layer=query.layer,
            tags=list(query.tags), min_confidence=query.min_confidence,
            limit=query.limit, candidates=CANDIDATES, k=RRF_K, overfetch=OVERFETCH,
            use_keyword=query.by_keyword, use_meaning=vector is not None,
            min_similarity=query.min_similarity, now=now, snippets=query.snippets,
            headline=HEADLINE, key_prefix=query.key_prefix,
            metadata=None if query.metadata is None else Jsonb(query.metadata))
        return self.items.opened(query.owner_id, rows), rows[0]["total"] if rows else 0

    def query_vector(self, query: MemoryQuery) -> Sequence[float] | None:
        """The query's embedding (cached by `embed`), when meaning ranks."""
        return self.embed(query.text) if query.by_meaning else None

    def page_of(self, ranking: Sequence[tuple[str, float]], owner_id: str, limit: int,
                now: datetime) -> list[dict]:
        """The rows of a ranking made elsewhere ((id, score), best first), as SEARCH
        answers them."""
        if not ranking:
            return []
        ids, scores = zip(*ranking)
        return self.items.opened(owner_id, self._rows(
            SELECT_RANKED_PAGE, ids=list(ids), scores=list(scores), total=len(ranking),
            owner_id=owner_id, now=now, limit=limit))

    def working_set(self, owner_id: str, now: datetime, max_tokens: int,
                    candidates: int, conversation: str = "") -> list[dict]:
        """With their content; ranked and read in one snapshot."""
        messages = self.embed(conversation) if conversation else None
        with self.items.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            curs.execute(self.sql(SELECT_WORKING_SET), {
                "owner_id": owner_id, "now": now, "max_tokens": max_tokens,
                "left_out": list(LEFT_OUT), "layer_weights": Jsonb(LAYER_WEIGHT),
                "unknown_confidence": UNKNOWN_CONFIDENCE,
                "half_life_days": RECENCY_HALF_LIFE_DAYS, "limit": candidates,
                "relevance_weight": RELEVANCE_WEIGHT,
                "messages": vector_literal(messages) if messages else None})
            ranked = curs.fetchone()
            chosen, _ = pack(ranked["tokens"], max_tokens)
            ids = [ranked["ids"][index] for index in chosen]
            curs.execute(self.sql(SELECT_SHOWN), {"ids": ids})
            rows = {str(row["id"]): row
                    for row in self.items.opened(owner_id, curs.fetchall())}
        return [rows[memory_id] for memory_id in ids]

    def wait(self, application_name: str, position: int, timeout: float) -> None:
        for view in (self.items, self.embeddings):
            view.wait(application_name, position, timeout)

    def wait_for_words(self, application_name: str, position: int, timeout: float) -> None:
        self.items.wait(application_name, position, timeout)

    def close(self) -> None:
        """Nothing of its own: its read models are closed by the system that owns them."""

    def sql(self, template: str) -> Composed:
        """A template naming the read models' live tables: {items}, {words} (the memory
        read model's and its owners' vocabularies) and {embeddings}."""
        return self.items.sql(template, **self._tables())

    def _rows(self, template: str, **params: Any) -> list[dict]:
        return self.items.query(template, identifiers=self._tables(), **params)

    def _tables(self) -> dict[str, str]:
        return {"items": self.items.name, "embeddings": self.embeddings.name}
