"""Memory search in Elasticsearch, used instead of Postgres when a cluster is configured.

The projection indexes one document per live memory (the same search text and
embedding as the Postgres read models, and its metadata). Elasticsearch cannot join a
Postgres transaction, so every write is idempotent: document id = memory id, external
version = the event's position (an older event applied again never overwrites a newer
document), and the tracking position is recorded in Postgres only after Elasticsearch
acknowledged. ElasticsearchMemorySearch ranks in Elasticsearch and leaves the rest to
the PostgreSQL search: the page's rows, and the working set."""

import json
from collections.abc import Callable, Iterable, Sequence
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
from arqium.infra.embeddings import DIMENSIONS, EmbeddingModel, shared_embedder
from arqium.infra.settings import Settings
from arqium.projections.base import BatchProjection, ReadModel
from arqium.projections.memory_search import (
    CANDIDATES,
    CONTEXT_DEPTH,
    MemoryQuery,
    PostgresMemorySearch,
    Ranking,
    fuse,
    spread,
    usual_length,
    with_context,
    with_previous,
    with_prior,
)

# Nearest-neighbour candidates each shard considers: deeper than CANDIDATES, so the
# approximate (HNSW) search rarely misses one of the true top ones.
KNN_NUM_CANDIDATES = 10 * CANDIDATES
TRANSIENT_STATUSES = (429, 503)  # Elasticsearch busy: the same bulk is worth retrying
SNIPPET_CHARS = 180  # about the 30 words of the Postgres search's snippets
FRAGMENT_DELIMITER = " ... "  # between a snippet's fragments, as ts_headline puts it

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
        # The metadata as [path..., value] terms (see metadata_terms); a very long one
        # is not indexed, rather than refusing the document.
        "metadata_terms": {"type": "keyword", "ignore_above": 1024},
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
ADD_METADATA_COLUMN = """
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS metadata jsonb NOT NULL DEFAULT '{{}}'"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id)"
SELECT_KNOWN = """
SELECT id, owner_id, key, layer, confidence, tags, metadata, updated_at, expires_at
FROM {table} WHERE id = ANY(%(ids)s)"""
UPSERT_KNOWN = """
INSERT INTO {table} (id, owner_id, key, layer, confidence, tags, metadata, updated_at,
    expires_at)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(layer)s, %(confidence)s, %(tags)s,
    %(metadata)s, %(updated_at)s, %(expires_at)s)
ON CONFLICT (id) DO UPDATE SET layer = excluded.layer,
    confidence = excluded.confidence, tags = excluded.tags,
    metadata = excluded.metadata, updated_at = excluded.updated_at,
    expires_at = excluded.expires_at"""
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"

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
    return _indexed(event, position, known, layer=event.layer, **_revised_fields(event))


@change_of.register
def _(event: MemoryItem.Revised, position: int, known: dict[UUID, dict]) -> Change | None:
    return _indexed(event, position, known, **_revised_fields(event))


@change_of.register
def _(event: MemoryItem.Recreated, position: int, known: dict[UUID, dict]) -> Change | None:
    return _indexed(event, position, known, layer=event.layer, **_revised_fields(event))


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


def _revised_fields(event: Any) -> dict:
    """The indexed fields every content-setting event but a promotion carries."""
    return {"confidence": event.confidence, "tags": event.tags, "metadata": event.metadata}


def metadata_terms(metadata: dict, path: tuple = ()) -> list[str]:
    """Each value in `metadata` (each item of its lists) with its path of keys, as the
    JSON of [*path, value]: a memory's metadata contains another (Postgres' @>) when it
    has all of the other's terms. Strings to Elasticsearch, so any JSON indexes (keys
    with dots, nulls, any depth). Objects inside lists lose their pairing."""
    terms = []
    for key, value in metadata.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                terms.extend(metadata_terms(item, (*path, key)))
            else:
                terms.append(json.dumps([*path, key, item], ensure_ascii=False,
                                        separators=(",", ":")))
    return terms


def document(memory_id: UUID, row: dict) -> dict:
    """A memory's indexed fields, its metadata as terms (the text is added later)."""
    fields = {name: value for name, value in row.items() if name != "metadata"}
    return {"id": str(memory_id), **fields,
            "metadata_terms": metadata_terms(row["metadata"])}


def _indexed(event: Any, position: int, known: dict[UUID, dict], **fields: Any
             ) -> Change | None:
    """The memory's document after a content-setting event (None for a memory this
    index never saw, e.g. one of an owner forgotten since)."""
    row = known.get(event.originator_id)
    if row is None:
        return None
    row.update(fields, updated_at=event.at, expires_at=event.expires_at)
    return Change("index", position, memory_id=event.originator_id,
                  owner_id=row["owner_id"], doc=document(event.originator_id, row),
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

def search_filters(query: MemoryQuery, now: datetime) -> list[dict]:
    """The owner's unexpired memories that pass the query's filters."""
    filters: list[dict] = [
        {"term": {"owner_id": query.owner_id}},
        {"bool": {"minimum_should_match": 1, "should": [
            {"range": {"expires_at": {"gt": now.isoformat()}}},
            {"bool": {"must_not": {"exists": {"field": "expires_at"}}}}]}}]
    if query.layer is not None:
        filters.append({"term": {"layer": query.layer}})
    if query.tags:
        filters.append({"terms": {"tags": list(query.tags)}})
    if query.min_confidence is not None:
        filters.append({"range": {"confidence": {"gte": query.min_confidence}}})
    if query.key_prefix is not None:
        filters.append({"prefix": {"key": query.key_prefix}})
    if query.metadata:
        filters.extend({"term": {"metadata_terms": term}}
                       for term in metadata_terms(query.metadata))
    return filters


FUZZY_BOOST = 0.2  # a misspelt word's match counts little beside an exact one's


def keyword_match(text: str) -> dict:
    """The query's words in the search text, misspellings forgiven."""
    return {"match": {"text": {"query": text, "fuzziness": "AUTO"}}}


def keyword_search(query: MemoryQuery, filters: list[dict]) -> dict:
    """BM25 on the search text; look-alikes of the query's words match too, weighted
    low, so a typo still finds its memory without drowning exact matches."""
    fuzzy = {"match": {"text": {"query": query.text, "fuzziness": "AUTO",
                                "boost": FUZZY_BOOST}}}
    return {"size": CANDIDATES, "_source": False, "track_total_hits": False,
            "query": {"bool": {"should": [{"match": {"text": query.text}}, fuzzy],
                               "minimum_should_match": 1, "filter": filters}},
            "sort": ["_score", {"id": "asc"}], **highlight(query)}


def meaning_search(query: MemoryQuery, vector: Sequence[float],
                   filters: list[dict]) -> dict:
    """Nearest embeddings by cosine; the filter applies during the search, not after
    it, so another owner's memories never take the places."""
    knn = {"field": "embedding", "query_vector": list(vector), "k": CANDIDATES,
           "num_candidates": KNN_NUM_CANDIDATES, "filter": filters}
    if query.min_similarity is not None:
        knn["similarity"] = query.min_similarity
    return {"size": CANDIDATES, "_source": False, "knn": knn, **highlight(query)}


def highlight(query: MemoryQuery) -> dict:
    """When snippets are asked: each hit's search text with the query's words in <mark>
    (up to two fragments; its beginning when no word matched, e.g. a meaning match)."""
    if not query.snippets:
        return {}
    return {"highlight": {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "fields": {
        "text": {"highlight_query": keyword_match(query.text), "number_of_fragments": 2,
                 "fragment_size": SNIPPET_CHARS, "no_match_size": SNIPPET_CHARS}}}}


def searches_for(query: MemoryQuery, vector: Sequence[float] | None,
                 now: datetime) -> dict[str, dict]:
    """The searches whose rankings are fused, by side: keyword, meaning, or both."""
    filters = search_filters(query, now)
    searches = {}
    if query.by_keyword:
        searches["keyword"] = keyword_search(query, filters)
    if vector is not None:
        searches["meaning"] = meaning_search(query, vector, filters)
    return searches


def rankings_of(answers: dict[str, dict]) -> tuple[Ranking, Ranking]:
    """The keyword and the meaning side's (id, score) lists, best first, scored as the
    PostgreSQL search scores them: BM25, and cosine similarity (Elasticsearch's knn
    score for cosine is (1 + cosine) / 2)."""
    def ranking(side: str, score: Any) -> Ranking:
        hits = answers[side]["hits"]["hits"] if side in answers else []
        return [(hit["_id"], score(hit["_score"])) for hit in hits]
    return (ranking("keyword", float),
            ranking("meaning", lambda knn_score: 2 * float(knn_score) - 1))


def snippets_of(answers: Iterable[dict]) -> dict[str, str]:
    """Each highlighted hit's snippet, by id: its fragments joined."""
    return {hit["_id"]: FRAGMENT_DELIMITER.join(hit["highlight"]["text"])
            for answer in answers for hit in answer["hits"]["hits"]
            if "highlight" in hit}


def missing_fields(mapping: dict) -> dict:
    """The fields of MAPPING an index's mapping lacks."""
    known = mapping.get("properties", {})
    return {name: field for name, field in MAPPING["properties"].items()
            if name not in known}


# --- Elasticsearch and Postgres ------------------------------------------------------

def open_client(url: str) -> Elasticsearch:
    """A client that itself retries what is transient (connection errors, 429, 5xx)."""
    return Elasticsearch(url, max_retries=5, retry_on_timeout=True,
                         retry_on_status=(429, 502, 503, 504))


def ensure_index(es: Elasticsearch, index: str) -> None:
    """Create the index with its mapping unless it exists (another process may be
    creating it at the same moment); one made by an older version gets the fields it
    lacks (its documents have them once indexed again)."""
    if es.indices.exists(index=index):
        for existing in es.indices.get_mapping(index=index).body.values():
            if missing := missing_fields(existing["mappings"]):
                es.indices.put_mapping(index=index, properties=missing)
        return
    try:
        es.indices.create(index=index, mappings=MAPPING)
    except BadRequestError as error:
        if error.error != "resource_already_exists_exception":
            raise


class EsMemorySearchView(ReadModel):
    """The indexer's tracking and the fields it knows of each memory (in Postgres), and
    the cluster and index it writes to."""

    es: Elasticsearch
    index: str

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_TABLE))
        self.sql_create_statements.append(self.sql(ADD_METADATA_COLUMN))
        self.sql_create_statements.append(
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx"))

    def connect(self, es: Elasticsearch, index: str) -> "EsMemorySearchView":
        self.es, self.index = es, index
        return self

    def close(self) -> None:
        """Its Elasticsearch client; its pool is closed by whoever opened it."""
        self.es.close()

    def known(self, ids: Sequence[UUID]) -> dict[UUID, dict]:
        """The indexed fields of those memories this index has seen, by id."""
        rows = self.query(SELECT_KNOWN, ids=list(ids))
        return {row.pop("id"): row for row in rows}


class ElasticsearchMemorySearch:
    """The memory search ranked in Elasticsearch (keyword and meaning in one round
    trip, fused here); the page's rows are read by the PostgreSQL search. So is the
    working set, ranked there: it orders every live memory of the owner by columns the
    index does not hold (sensitivity, prompt tokens) and reads them in one snapshot."""

    def __init__(self, view: EsMemorySearchView, postgres: PostgresMemorySearch,
                 on: Callable[[], bool] = lambda: True):
        self.view, self.postgres = view, postgres
        self.on = on  # its module (elasticsearch-search) is on; off, PostgreSQL serves

    def search(self, query: MemoryQuery, now: datetime) -> tuple[list[dict], int]:
        if not self.on():
            return self.postgres.search(query, now)
        answers = self.answers(query, now)
        keyword, meaning = rankings_of(answers)
        meaning = with_previous(meaning, self.postgres.previous_similarities(
            query, [memory_id for memory_id, _ in meaning], now),
            self.postgres.previous_weight(query))
        timely = self.postgres.timely_ranking(query, now)
        traits = self.postgres.traits(
            query, {memory_id for memory_id, _ in (*keyword, *meaning, *timely)})
        fused = fuse(keyword, meaning, timely, traits.told,
                     traits.unembedded if query.by_meaning else ())
        usual = usual_length(list(traits.lexemes.values()))
        ranking = fused
        if self.postgres.context_weight(query):
            ranking = with_context(fused, self.postgres.neighbours(
                [memory_id for memory_id, _ in fused[:CONTEXT_DEPTH]], query, now),
                traits.asking)
            lifted = {memory_id for memory_id, _ in ranking} - traits.lexemes.keys()
            traits.update(self.postgres.traits(query, lifted))
        ranking = with_prior(ranking, traits.lexemes, usual,
                             self.postgres.short_penalty(query), traits.asking,
                             self.postgres.ask_penalty(query))
        ranking = spread(ranking, traits.days, self.postgres.same_day_penalty(query))
        snippets = snippets_of(answers.values())
        rows = self.postgres.page_of(ranking[query.offset:], query.owner_id, query.limit,
                                     now, shown=query.shown)
        return ([{**row, "snippet": snippets.get(str(row["id"]))} for row in rows],
                len(ranking))

    def answers(self, query: MemoryQuery, now: datetime) -> dict[str, dict]:
        """Each search's answer, by side, in one round trip."""
        searches = searches_for(query, self.postgres.query_vector(query), now)
        if not searches:
            return {}
        response = self.view.es.msearch(index=self.view.index, searches=[
            part for search in searches.values() for part in ({}, search)])
        for answer in response["responses"]:
            if "error" in answer:
                raise ElasticsearchRefused(f"memory search failed: {answer['error']}")
        return dict(zip(searches, response["responses"]))

    def working_set(self, owner_id: str, now: datetime, max_tokens: int,
                    candidates: int, conversation: str = "") -> list[dict]:
        return self.postgres.working_set(owner_id, now, max_tokens, candidates,
                                         conversation)

    def wait(self, application_name: str, position: int, timeout: float) -> None:
        """The memory read model (the rows) and the index (while it is read)."""
        if not self.on():
            return self.postgres.wait(application_name, position, timeout)
        self.postgres.items.wait(application_name, position, timeout)
        self.view.wait(application_name, position, timeout)

    def wait_for_words(self, application_name: str, position: int, timeout: float) -> None:
        """One index holds both words and meaning."""
        if not self.on():
            return self.postgres.wait_for_words(application_name, position, timeout)
        self.wait(application_name, position, timeout)

    def words_projection(self) -> type[BatchProjection] | None:
        """None while it searches: the index must hold the words too."""
        return None if self.on() else self.postgres.words_projection()

    def close(self) -> None:
        self.view.close()


class EsMemorySearchProjection(BatchProjection):
    """Indexes memories in Elasticsearch. Workers run the class `projection_for`
    returns, which knows the cluster and index from the settings."""

    name = "memory_search_es"
    application = MemoryApplication
    view_class = EsMemorySearchView
    module = "elasticsearch-search"
    settings: ClassVar[Settings]

    def __init__(self, view: EsMemorySearchView):
        super().__init__(view)
        view.connect(open_client(self.settings.elasticsearch_url),
                     self.settings.elasticsearch_index)
        ensure_index(view.es, view.index)
        self.embedder = shared_embedder(EmbeddingModel.of(self.settings))

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
            # Sealed content adds no words (nor meaning): see searchable_text.
            change.doc["text"] = searchable_text(change.doc["key"], change.content,
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
        with self.view.writing() as curs:
            for owner_id in forgotten:
                curs.execute(self.view.sql(FORGET_OWNER), {"owner_id": owner_id})
            curs.executemany(self.view.sql(UPSERT_KNOWN), [
                {**row, "id": memory_id, "tags": Jsonb(row["tags"]),
                 "metadata": Jsonb(row["metadata"])}
                for memory_id, row in known.items()])
            self.view.track(curs, tracking)


def projection_for(settings: Settings) -> type[EsMemorySearchProjection]:
    """The projection bound to the configured cluster and index (a worker builds a
    projection from its view alone)."""
    return type(EsMemorySearchProjection.__name__, (EsMemorySearchProjection,),
                {"name": EsMemorySearchProjection.name, "settings": settings})
