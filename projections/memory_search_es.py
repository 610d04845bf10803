"""Memory search in Elasticsearch, used instead of Postgres when a cluster is configured.

The projection indexes one document per live memory (the same search text and
embedding as the Postgres read models). Elasticsearch cannot join a Postgres
transaction, so every write is idempotent: document id = memory id, external version =
the event's position (an older event applied again never overwrites a newer
document), and the tracking position is recorded in Postgres only after Elasticsearch
acknowledged. The view ranks in Elasticsearch and reads the page's content from the
memory read model."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatch
from typing import Any, ClassVar
from uuid import UUID

from elasticsearch import BadRequestError, Elasticsearch
from eventsourcing.persistence import Tracking
from psycopg.types.json import Jsonb
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryItem, MemoryOwner, searchable_text
from arqium.infra.embeddings import DIMENSIONS, shared_embedder
from arqium.infra.keys import OwnerKeys
from arqium.infra.settings import Settings
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.memory_embeddings import CANDIDATES, MEMORY_ITEMS, RRF_K

# Nearest-neighbour candidates each shard considers: deeper than CANDIDATES, so the
# approximate (HNSW) search rarely misses one of the true top ones.
KNN_NUM_CANDIDATES = 10 * CANDIDATES
TRANSIENT_STATUSES = (429, 503)  # Elasticsearch busy: the same bulk is worth retrying

MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "owner_id": {"type": "keyword"},
        "key": {"type": "keyword"},
        "text": {"type": "text", "analyzer": "english"},
        "layer": {"type": "keyword"},
        "confidence": {"type": "float"},
        "tags": {"type": "keyword"},
        "updated_at": {"type": "date"},
        "expires_at": {"type": "date"},  # null: never expires
        # Unquantised HNSW: rankings as close as possible to pgvector's exact distance.
        "embedding": {"type": "dense_vector", "dims": DIMENSIONS, "index": True,
                      "similarity": "cosine", "index_options": {"type": "hnsw"}},
    },
}

# Each memory's indexed fields as of the tracked position: the events that revise,
# recreate or promote a memory carry only part of them, and a deleted memory's owner
# and key are needed again when it is recreated.
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    key text NOT NULL,
    layer text NOT NULL,
    confidence double precision,
    tags jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    expires_at timestamptz
)"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id)"
SELECT_KNOWN = """
SELECT id, owner_id, key, layer, confidence, tags, updated_at, expires_at
FROM {table} WHERE id = ANY(%(ids)s)"""
UPSERT_KNOWN = """
INSERT INTO {table} (id, owner_id, key, layer, confidence, tags, updated_at, expires_at)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(layer)s, %(confidence)s, %(tags)s,
    %(updated_at)s, %(expires_at)s)
ON CONFLICT (id) DO UPDATE SET layer = excluded.layer,
    confidence = excluded.confidence, tags = excluded.tags,
    updated_at = excluded.updated_at, expires_at = excluded.expires_at"""
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

# The fused ranking's rows, in the order and shape of the Postgres search; the owner and
# liveness are checked again, so a memory deleted since it was indexed is not shown.
SELECT_FUSED = """
SELECT m.id, m.key, m.content, m.layer, m.confidence, m.tags, m.updated_at, fused.score,
    %(total)s::bigint AS total
FROM unnest(%(ids)s::uuid[], %(scores)s::float8[]) AS fused (id, score)
JOIN {memory_items} m USING (id)
WHERE m.owner_id = %(owner_id)s AND m.gone_at IS NULL
    AND (m.expires_at IS NULL OR m.expires_at > %(now)s)
ORDER BY fused.score DESC, m.updated_at DESC, m.id
LIMIT %(limit)s"""


class ElasticsearchRefused(RuntimeError):
    """Elasticsearch answered a write or a search with errors."""


class ElasticsearchBusy(ElasticsearchRefused):
    """Elasticsearch rejected writes for lack of capacity; worth retrying shortly."""


# --- events to index writes (pure) ---------------------------------------------------

@dataclass
class Change:
    """What one event does to the index: `index` a memory's document, `delete` it, or
    `forget` every document of an owner."""

    kind: str
    position: int
    memory_id: UUID | None = None
    owner_id: str | None = None
    doc: dict = field(default_factory=dict)  # index: the indexed fields (text to add)
    content: Any = None  # index: what the text is made of (perhaps sealed)


def fold(batch: Sequence[tuple[Any, int]], known: dict[UUID, dict]) -> list[Change]:
    """The changes a batch of (event, position) makes, in order; `known` (each memory's
    indexed fields, by id) is brought up to date on the way."""
    return [change for event, position in batch
            if (change := change_of(event, position, known)) is not None]


@singledispatch
def change_of(event: Any, position: int, known: dict[UUID, dict]) -> Change | None:
    """Other events do not change the index."""
    return None


@change_of.register
def _(event: MemoryItem.Upserted, position: int, known: dict[UUID, dict]) -> Change:
    known[event.originator_id] = {"owner_id": event.owner_id, "key": event.key}
    return _indexed(event, position, known, layer=event.layer,
                    confidence=event.confidence, tags=event.tags)


@change_of.register
def _(event: MemoryItem.Revised, position: int, known: dict[UUID, dict]) -> Change | None:
    return _indexed(event, position, known, confidence=event.confidence, tags=event.tags)


@change_of.register
def _(event: MemoryItem.Recreated, position: int, known: dict[UUID, dict]) -> Change | None:
    return _indexed(event, position, known, layer=event.layer,
                    confidence=event.confidence, tags=event.tags)


@change_of.register
def _(event: MemoryItem.Promoted, position: int, known: dict[UUID, dict]) -> Change | None:
    return _indexed(event, position, known, layer=event.to_layer)


@change_of.register(MemoryItem.Deleted)
@change_of.register(MemoryItem.Expired)
def _(event: Any, position: int, known: dict[UUID, dict]) -> Change:
    return Change("delete", position, memory_id=event.originator_id)


@change_of.register
def _(event: MemoryOwner.Forgotten, position: int, known: dict[UUID, dict]) -> Change:
    for memory_id in [i for i, row in known.items() if row["owner_id"] == event.owner_id]:
        del known[memory_id]
    return Change("forget", position, owner_id=event.owner_id)


def _indexed(event: Any, position: int, known: dict[UUID, dict], **fields: Any
             ) -> Change | None:
    """The memory's document after a content-setting event (None for a memory this
    index never saw, e.g. one of an owner forgotten since)."""
    row = known.get(event.originator_id)
    if row is None:
        return None
    row.update(fields, updated_at=event.at, expires_at=event.expires_at)
    return Change("index", position, memory_id=event.originator_id,
                  owner_id=row["owner_id"], doc={"id": str(event.originator_id), **row},
                  content=event.content)


def bulk_actions(changes: Sequence[Change]) -> list[dict]:
    """Bulk operations for index and delete changes, each carrying its event's position
    as external version."""
    operations: list[dict] = []
    for change in changes:
        operations.append({change.kind: {"_id": str(change.memory_id),
                                         "version": change.position,
                                         "version_type": "external"}})
        if change.kind == "index":
            operations.append(change.doc)
    return operations


def write_plan(changes: Sequence[Change]) -> list[tuple[str, Any]]:
    """The requests that apply `changes` in order: ("bulk", operations) for each run of
    index/delete changes, ("forget", owner_id) between them."""
    plan: list[tuple[str, Any]] = []
    run: list[Change] = []
    for change in changes:
        if change.kind == "forget":
            if run:
                plan.append(("bulk", bulk_actions(run)))
                run = []
            plan.append(("forget", change.owner_id))
        else:
            run.append(change)
    if run:
        plan.append(("bulk", bulk_actions(run)))
    return plan


def bulk_errors(response: Any) -> list[dict]:
    """The bulk items that failed. A version conflict means a newer (or the same) event
    is already indexed, and a delete may find nothing: neither is a failure."""
    results = [result for item in response["items"] for result in item.values()]
    return [result for result in results if "error" in result and result["status"] != 409]


# --- searching (pure) ----------------------------------------------------------------

def fuse(*rankings: Sequence[str]) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: each id scores 1 / (RRF_K + rank) on each ranking it is
    on (ranks from 1); best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, memory_id in enumerate(ranking, start=1):
            scores[memory_id] = scores.get(memory_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def live_filters(owner_id: str, layer: str | None, tags: Sequence[str],
                 min_confidence: float | None, now: datetime) -> list[dict]:
    """The owner's unexpired memories (in `layer`, with any of `tags`, confident enough)."""
    filters: list[dict] = [
        {"term": {"owner_id": owner_id}},
        {"bool": {"minimum_should_match": 1, "should": [
            {"range": {"expires_at": {"gt": now.isoformat()}}},
            {"bool": {"must_not": {"exists": {"field": "expires_at"}}}}]}}]
    if layer is not None:
        filters.append({"term": {"layer": layer}})
    if tags:
        filters.append({"terms": {"tags": list(tags)}})
    if min_confidence is not None:
        filters.append({"range": {"confidence": {"gte": min_confidence}}})
    return filters


def keyword_search(query: str, filters: list[dict]) -> dict:
    """BM25 on the search text, misspellings forgiven."""
    match = {"match": {"text": {"query": query, "fuzziness": "AUTO"}}}
    return {"size": CANDIDATES, "_source": False, "track_total_hits": False,
            "query": {"bool": {"must": match, "filter": filters}},
            "sort": ["_score", {"id": "asc"}]}


def meaning_search(vector: Sequence[float], filters: list[dict],
                   min_similarity: float) -> dict:
    """Nearest embeddings by cosine; the filter applies during the search, not after
    it, so another owner's memories never take the places."""
    return {"size": CANDIDATES, "_source": False, "knn": {
        "field": "embedding", "query_vector": list(vector), "k": CANDIDATES,
        "num_candidates": KNN_NUM_CANDIDATES, "filter": filters,
        "similarity": min_similarity}}


# --- Elasticsearch and Postgres ------------------------------------------------------

def open_client(url: str) -> Elasticsearch:
    """A client that itself retries what is transient (connection errors, 429, 5xx)."""
    return Elasticsearch(url, max_retries=5, retry_on_timeout=True,
                         retry_on_status=(429, 502, 503, 504))


def ensure_index(es: Elasticsearch, index: str) -> None:
    """Create the index with its mapping unless it exists (another process may be
    creating it at the same moment)."""
    if es.indices.exists(index=index):
        return
    try:
        es.indices.create(index=index, mappings=MAPPING)
    except BadRequestError as error:
        if error.error != "resource_already_exists_exception":
            raise


class EsMemorySearchView(ReadModel):
    """The indexer's tracking and known fields (Postgres), and the search: ranked in
    Elasticsearch, content read from the memory read model."""

    es: Elasticsearch
    index: str

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))

    def connect(self, es: Elasticsearch, index: str) -> "EsMemorySearchView":
        self.es, self.index = es, index
        return self

    def close(self) -> None:
        self.es.close()
        self.datastore.close()

    def known(self, ids: Sequence[UUID]) -> dict[UUID, dict]:
        """The indexed fields of those memories this index has seen, by id."""
        rows = self.query(SELECT_KNOWN, ids=list(ids))
        return {row.pop("id"): row for row in rows}

    def search(self, owner_id: str, query: str, vector: Sequence[float] | None, *,
               mode: str = "hybrid", layer: str | None = None, tags: Sequence[str] = (),
               min_confidence: float | None = None, limit: int = 10,
               min_similarity: float = 0.25, now: datetime) -> tuple[list[dict], int]:
        """As MemoryEmbeddingsView.search: the owner's live memories ranked by keyword
        and meaning, fused by reciprocal rank; each row has a `score`. Also how many
        matched in all."""
        fused = self.ranked(owner_id, query, vector, mode=mode, layer=layer, tags=tags,
                            min_confidence=min_confidence, min_similarity=min_similarity,
                            now=now)
        return self.rows_of(fused, owner_id, limit, now), len(fused)

    def rows_of(self, fused: Sequence[tuple[str, float]], owner_id: str, limit: int,
                now: datetime) -> list[dict]:
        """The page of a fused ranking, read from the memory read model."""
        if not fused:
            return []
        ids, scores = zip(*fused)
        return self.query(SELECT_FUSED, identifiers={"memory_items": MEMORY_ITEMS},
                          ids=list(ids), scores=list(scores), total=len(fused),
                          owner_id=owner_id, now=now, limit=limit)

    def ranked(self, owner_id: str, query: str, vector: Sequence[float] | None, *,
               mode: str, layer: str | None, tags: Sequence[str],
               min_confidence: float | None, min_similarity: float,
               now: datetime) -> list[tuple[str, float]]:
        """Ids of the owner's matching memories with their fused scores, best first."""
        filters = live_filters(owner_id, layer, tags, min_confidence, now)
        searches = []
        if mode in ("hybrid", "keyword"):
            searches.append(keyword_search(query, filters))
        if mode in ("hybrid", "semantic") and vector is not None:
            searches.append(meaning_search(vector, filters, min_similarity))
        return fuse(*self._rankings(searches))

    def _rankings(self, searches: list[dict]) -> list[list[str]]:
        """Each search's hit ids, in one round trip."""
        if not searches:
            return []
        response = self.es.msearch(index=self.index,
                                   searches=[part for s in searches for part in ({}, s)])
        rankings = []
        for answer in response["responses"]:
            if "error" in answer:
                raise ElasticsearchRefused(f"memory search failed: {answer['error']}")
            rankings.append([hit["_id"] for hit in answer["hits"]["hits"]])
        return rankings


class EsMemorySearchProjection(BatchProjection):
    """Indexes memories in Elasticsearch. Workers run the class `projection_for`
    returns, which knows the cluster and index from the settings."""

    name = "memory_search_es"
    application = MemoryApplication
    view_class = EsMemorySearchView
    settings: ClassVar[Settings]

    def __init__(self, view: EsMemorySearchView):
        super().__init__(view)
        view.connect(open_client(self.settings.elasticsearch_url),
                     self.settings.elasticsearch_index)
        ensure_index(view.es, view.index)
        self.keys = OwnerKeys(view.datastore.get_connection)
        self.embedder = shared_embedder()

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Index the batch in Elasticsearch; once acknowledged, record the known fields
        and the tracking position in one Postgres transaction. A crash in between
        replays the batch, which the external versions make harmless."""
        known = self.view.known(list({event.originator_id for event, _ in batch}))
        changes = fold([(event, tracking.notification_id) for event, tracking in batch],
                       known)
        self._add_texts([change for change in changes if change.kind == "index"])
        for request, argument in write_plan(changes):
            if request == "bulk":
                self._bulk(argument)
            else:
                self._forget(argument)
        forgotten = {change.owner_id for change in changes if change.kind == "forget"}
        self._record(known, forgotten, batch[-1][1])

    def _add_texts(self, changes: list[Change]) -> None:
        """Each document's search text and its embedding (a few inferences per batch)."""
        for change in changes:
            content = self.keys.readable(change.owner_id, change.content)
            change.doc["text"] = searchable_text(change.doc["key"], content,
                                                 change.doc["tags"])
        vectors = self.embedder.embed([change.doc["text"] for change in changes])
        for change, vector in zip(changes, vectors, strict=True):
            change.doc["embedding"] = vector

    # The same bulk again is harmless: what was applied answers 409 and is skipped.
    @retry(retry=retry_if_exception_type(ElasticsearchBusy), reraise=True,
           wait=wait_exponential(max=10), stop=stop_after_attempt(6))
    def _bulk(self, operations: list[dict]) -> None:
        # Refreshed before answering, so a recorded position is searchable (one refresh
        # per batch, not per document).
        response = self.view.es.bulk(index=self.view.index, operations=operations,
                                     refresh=True)
        errors = bulk_errors(response) if response["errors"] else []
        if errors and all(error["status"] in TRANSIENT_STATUSES for error in errors):
            raise ElasticsearchBusy(f"{len(errors)} writes rejected: {errors[0]['error']}")
        if errors:
            raise ElasticsearchRefused(f"{len(errors)} writes failed: {errors[0]['error']}")

    def _forget(self, owner_id: str) -> None:
        response = self.view.es.delete_by_query(
            index=self.view.index, query={"term": {"owner_id": owner_id}}, refresh=True)
        if response["failures"]:
            raise ElasticsearchRefused(
                f"forgetting an owner failed: {response['failures']}")

    def _record(self, known: dict[UUID, dict], forgotten: set[str],
                tracking: Tracking) -> None:
        with self.view.datastore.transaction(commit=True) as curs:
            for owner_id in forgotten:
                curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": owner_id})
            curs.executemany(self.view.sql(UPSERT_KNOWN), [
                {**row, "id": memory_id, "tags": Jsonb(row["tags"])}
                for memory_id, row in known.items()])
            self.view._insert_tracking(curs, tracking)


def projection_for(settings: Settings) -> type[EsMemorySearchProjection]:
    """The projection bound to the configured cluster and index (a worker builds a
    projection from its view alone)."""
    return type(EsMemorySearchProjection.__name__, (EsMemorySearchProjection,),
                {"name": EsMemorySearchProjection.name, "settings": settings})
