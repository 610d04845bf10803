"""Meaning vectors of memories (pgvector), computed in batches by this projection's
worker, never in the request path (memory_search ranks by them)."""

from collections.abc import Sequence
from typing import Any

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.types.json import Jsonb

from arqium.domain.memory.application import MemoryApplication
from arqium.domain.memory.domainmodel import MemoryItem, MemoryOwner, searchable_text
from arqium.infra.embeddings import (
    DIMENSIONS,
    Embedder,
    EmbeddingModel,
    vector_literal,
    worker_embedder,
)
from arqium.infra.headroom import Headroom, processor_headroom
from arqium.infra.settings import Settings
from arqium.projections.base import BatchProjection, ReadModel

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
# The search reads an owner's vectors from this index alone (an index-only scan): they
# lie together in a few of its pages, where the table scatters them among every owner's
# rows, one page each. It replaces the plain owner index of earlier versions.
CREATE_OWNER_INDEX = """
CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id) INCLUDE (gone, id, embedding)"""
DROP_INDEX = "DROP INDEX IF EXISTS {index}"

UPSERT_EMBEDDING = """
INSERT INTO {table} (id, owner_id, key, tags, embedding, position)
VALUES (%(id)s, %(owner_id)s, %(key)s, %(tags)s, %(embedding)s::halfvec, %(position)s)
ON CONFLICT (id) DO UPDATE SET tags = excluded.tags, embedding = excluded.embedding,
    position = excluded.position, gone = false"""
SELECT_ROWS = "SELECT id, owner_id, key, tags FROM {table} WHERE id = ANY(%(ids)s::uuid[])"
FORGET_OWNER = "DELETE FROM {table} WHERE owner_id = %(owner_id)s"
MARK_GONE = "UPDATE {table} SET gone = true WHERE id = %(id)s"

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
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_vectors_idx"))
        self.sql_create_statements.append(
            self.sql(DROP_INDEX, index=f"{self.name}_owner_idx"))


class MemoryEmbeddingsProjection(BatchProjection):
    name = "memory_embeddings"
    embeds = True
    application = MemoryApplication
    view_class = MemoryEmbeddingsView

    def __init__(self, view: MemoryEmbeddingsView, embedder: Embedder,
                 headroom: Headroom | None = None):
        super().__init__(view)
        self.embedder, self.headroom = embedder, headroom

    @classmethod
    def for_worker(cls, view: ReadModel, settings: Settings) -> BatchProjection:
        return cls(view, worker_embedder(settings.embedding_threads,
                                         EmbeddingModel.of(settings)),
                   processor_headroom(settings.embedding_headroom))

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        """Embed every text of the batch in a few inferences, outside any transaction
        (inference can take longer than Postgres lets a transaction idle), then write
        them, in event order, with the tracking position in one transaction."""
        rows, pending = self._known_rows(batch), {}
        for event, tracking in batch:
            follow(event, rows)
            if item := self.text_of(event, tracking.notification_id, rows):
                pending[tracking.notification_id] = item
        vectors = self.embedder.embed([item["text"] for item in pending.values()],
                                      self.headroom)
        for item, vector in zip(pending.values(), vectors, strict=True):
            item["row"]["embedding"] = vector_literal(vector)
        with self.view.writing() as curs:
            for event, tracking in batch:
                item = pending.get(tracking.notification_id)
                if item is not None:
                    curs.execute(self.view.sql(UPSERT_EMBEDDING), item["row"])
                self.apply(event, tracking.notification_id, curs)
            self.view.track(curs, batch[-1][1])

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
        # Sealed content is not embedded: an embedding would keep some of its meaning.
        return {"text": searchable_text(row["key"], event.content, row["tags"]),
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
