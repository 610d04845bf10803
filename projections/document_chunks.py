"""The knowledge base's text (CEREBRO's RAG): each analysed text-bearing file's chunks,
cut from its stored bytes, with each owner's version of the knowledge base. The chunks'
meaning vectors are another read model (document_chunk_embeddings), so that the text
is searchable at once and search can tell when the vectors lag behind it.

Both read models follow the files application's events and cut the same chunks from
the same bytes (infra/chunking.py): each keeps the few facts of a file that the
`Analysed` event does not carry (owner, name, type, blob), learnt from `Uploaded`."""

import logging
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from psycopg import Cursor
from psycopg.sql import Composed
from pypdf.errors import PyPdfError

from arqium.domain.files.application import FilesApplication
from arqium.domain.files.domainmodel import StoredFile
from arqium.infra.blobs import BlobNotFound, BlobStore, open_blobs
from arqium.infra.chunking import Chunk, Chunking, document_chunks
from arqium.infra.document_text import has_text, local_copy
from arqium.infra.settings import Settings
from arqium.projections.base import BatchProjection, ReadModel

log = logging.getLogger("arqium.projections.documents")

CREATE_FILES_TABLE = """
CREATE TABLE IF NOT EXISTS {files} (
    id uuid PRIMARY KEY,
    owner_id text NOT NULL,
    title text NOT NULL,
    content_type text NOT NULL,
    sha256 text NOT NULL
)"""
INSERT_FILE = """
INSERT INTO {files} (id, owner_id, title, content_type, sha256)
VALUES (%(id)s, %(owner_id)s, %(title)s, %(content_type)s, %(sha256)s)
ON CONFLICT (id) DO NOTHING"""
SELECT_FILES = "SELECT * FROM {files} WHERE id = ANY(%(ids)s::uuid[])"
DELETE_FILE = "DELETE FROM {files} WHERE id = %(id)s RETURNING owner_id"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS {table} (
    file_id uuid NOT NULL,
    chunk_no integer NOT NULL,
    owner_id text NOT NULL,
    page integer,
    title text NOT NULL,
    content text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    position bigint NOT NULL,
    PRIMARY KEY (file_id, chunk_no)
)"""
CREATE_TSV_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin (owner_id, tsv)"
# Each owner's knowledge base: `version`, the position of its last change (a text
# document uploaded, chunked or deleted: what keys cached answers); `chunked_at`, the
# position of its newest chunks (what the embeddings must reach for search to use them).
CREATE_OWNERS_TABLE = """
CREATE TABLE IF NOT EXISTS {owners} (
    owner_id text PRIMARY KEY,
    version bigint NOT NULL,
    chunked_at bigint NOT NULL DEFAULT 0
)"""
INSERT_CHUNK = """
INSERT INTO {table} (file_id, chunk_no, owner_id, page, title, content, position)
VALUES (%(file_id)s, %(chunk_no)s, %(owner_id)s, %(page)s, %(title)s, %(content)s,
        %(position)s)
ON CONFLICT (file_id, chunk_no) DO UPDATE SET page = excluded.page,
    content = excluded.content, position = excluded.position"""
DELETE_CHUNKS = "DELETE FROM {table} WHERE file_id = %(file_id)s"
CHANGED = """
INSERT INTO {owners} (owner_id, version) VALUES (%(owner_id)s, %(position)s)
ON CONFLICT (owner_id) DO UPDATE SET version = excluded.version"""
CHUNKED = "UPDATE {owners} SET chunked_at = %(position)s WHERE owner_id = %(owner_id)s"
SELECT_OWNER = "SELECT version, chunked_at FROM {owners} WHERE owner_id = %(owner_id)s"

Chunked = dict[int, tuple[dict, list[Chunk]]]  # position: (file, its chunks)


class DocumentsView(ReadModel):
    """A read model of documents' chunks: its table, and `{files}`, what it knows of
    each live text-bearing file."""

    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(self.sql(CREATE_FILES_TABLE))

    @property
    def files(self) -> str:
        return f"{self.name}_files"

    def sql(self, template: str, **names: str) -> Composed:
        return super().sql(template, files=self.files, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.files]

    def known_files(self, ids: list[Any]) -> dict[Any, dict]:
        return {row["id"]: row for row in self.query(SELECT_FILES, ids=ids)} if ids else {}


class DocumentChunksView(DocumentsView):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_TSV_INDEX, index=f"{self.name}_owner_tsv_idx"),
            self.sql(CREATE_OWNERS_TABLE)])

    @property
    def owners(self) -> str:
        return f"{self.name}_owners"

    def sql(self, template: str, **names: str) -> Composed:
        """Its templates may also name {owners}, each owner's knowledge-base version."""
        return super().sql(template, owners=self.owners, **names)

    def table_names(self) -> list[str]:
        return [*super().table_names(), self.owners]


class DocumentsProjection(BatchProjection):
    """Chunks each analysed text-bearing file when its `Analysed` event comes, outside
    the transaction that writes the batch (reading a large document takes a while);
    `write` records them, `forget` a deleted file's."""

    application = FilesApplication
    module = "rag"  # paused while the knowledge base is off: no chunking, no embedding

    def __init__(self, view: DocumentsView, blobs: BlobStore | None = None,
                 chunking: Chunking | None = None):
        super().__init__(view)
        self.blobs = blobs
        self.chunking = chunking

    @classmethod
    def for_worker(cls, view: ReadModel, settings: Settings) -> BatchProjection:
        return cls(view, open_blobs(settings), chunking_of(settings))

    def process_batch(self, batch: Sequence[tuple[Any, Tracking]]) -> None:
        chunked = self.prepare(self._chunked(batch))
        with self.view.writing() as curs:
            for event, tracking in batch:
                position = tracking.notification_id
                if isinstance(event, StoredFile.Uploaded) and has_text(event.content_type):
                    self.learn(curs, event, position)
                elif position in chunked:
                    self.write(curs, *chunked[position], position)
                elif isinstance(event, StoredFile.Deleted):
                    rows = curs.execute(self.view.sql(DELETE_FILE),
                                        {"id": event.originator_id}).fetchall()
                    if rows:
                        self.forget(curs, event.originator_id, rows[0]["owner_id"],
                                    position)
            self.view.track(curs, batch[-1][1])

    def _chunked(self, batch: Sequence[tuple[Any, Tracking]]) -> Chunked:
        """The chunks of each file the batch's `Analysed` events complete."""
        files = self.view.known_files([event.originator_id for event, _ in batch
                                       if isinstance(event, StoredFile.Analysed)])
        chunked: Chunked = {}
        for event, tracking in batch:
            if isinstance(event, StoredFile.Uploaded) and has_text(event.content_type):
                files[event.originator_id] = file_row(event)
            elif isinstance(event, StoredFile.Analysed) and event.originator_id in files:
                file = files[event.originator_id]
                chunked[tracking.notification_id] = (file, self.chunks_of(file))
        return chunked

    def chunks_of(self, file: dict) -> list[Chunk]:
        """The file's chunks; none when its bytes are gone (deleted since, its blob
        swept) or cannot be read as the type they were taken for."""
        if self.blobs is None or self.chunking is None:
            raise RuntimeError(f"{self.name} reads stored documents: make it with "
                               "for_worker(view, settings)")
        try:
            with local_copy(self.blobs, file["sha256"]) as path:
                return list(document_chunks(path, file["content_type"], self.chunking))
        except (BlobNotFound, FileNotFoundError, PyPdfError) as error:
            log.warning("%s: file %s has no readable text (%s)", self.name, file["id"],
                        error)
            return []

    def prepare(self, chunked: Chunked) -> Chunked:
        """What `write` needs beyond the chunks (default: nothing)."""
        return chunked

    def learn(self, curs: Cursor, event: Any, position: int) -> None:
        curs.execute(self.view.sql(INSERT_FILE), file_row(event))

    def write(self, curs: Cursor, file: dict, chunks: list, position: int) -> None:
        raise NotImplementedError

    def forget(self, curs: Cursor, file_id: Any, owner_id: str, position: int) -> None:
        raise NotImplementedError


def file_row(event: Any) -> dict:
    """What a documents read model keeps of an uploaded file."""
    return {"id": event.originator_id, "owner_id": event.owner_id, "title": event.filename,
            "content_type": event.content_type, "sha256": event.sha256}


def chunking_of(settings: Settings) -> Chunking:
    return Chunking(settings.rag_chunk_tokens, settings.rag_chunk_overlap,
                    settings.rag_max_chunks_per_file)


class DocumentChunksProjection(DocumentsProjection):
    name = "document_chunks"
    view_class = DocumentChunksView

    def learn(self, curs: Cursor, event: Any, position: int) -> None:
        """A text document joins the caller's knowledge base: answers cached before
        it are stale from now (its chunks come once it is analysed)."""
        super().learn(curs, event, position)
        curs.execute(self.view.sql(CHANGED), {"owner_id": event.owner_id,
                                              "position": position})

    def write(self, curs: Cursor, file: dict, chunks: list[Chunk], position: int) -> None:
        owner = {"owner_id": file["owner_id"], "position": position}
        for chunk in chunks:
            curs.execute(self.view.sql(INSERT_CHUNK), {
                **owner, "file_id": file["id"], "chunk_no": chunk.number,
                "page": chunk.page, "title": file["title"], "content": chunk.text})
        curs.execute(self.view.sql(CHANGED), owner)
        if chunks:
            curs.execute(self.view.sql(CHUNKED), owner)

    def forget(self, curs: Cursor, file_id: Any, owner_id: str, position: int) -> None:
        curs.execute(self.view.sql(DELETE_CHUNKS), {"file_id": file_id})
        curs.execute(self.view.sql(CHANGED), {"owner_id": owner_id, "position": position})
