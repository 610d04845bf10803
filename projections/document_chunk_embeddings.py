"""Meaning vectors of the knowledge base's chunks (pgvector), computed by this
projection's worker from the same chunks document_chunks cuts, never in the request
path (document_search ranks by them)."""

from typing import Any

from psycopg import Cursor

from arqium.infra.chunking import Chunk
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
from arqium.projections.document_chunks import (
    Chunked,
    DocumentsProjection,
    DocumentsView,
)

# Nearest neighbours are computed exactly within one owner's chunks, as for memories.
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {{table}} (
    file_id uuid NOT NULL,
    chunk_no integer NOT NULL,
    owner_id text NOT NULL,
    embedding halfvec({DIMENSIONS}) NOT NULL,
    position bigint NOT NULL,
    PRIMARY KEY (file_id, chunk_no)
)"""
CREATE_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (owner_id)"
INSERT_EMBEDDING = """
INSERT INTO {table} (file_id, chunk_no, owner_id, embedding, position)
VALUES (%(file_id)s, %(chunk_no)s, %(owner_id)s, %(embedding)s::halfvec, %(position)s)
ON CONFLICT (file_id, chunk_no) DO UPDATE SET embedding = excluded.embedding,
    position = excluded.position"""
DELETE_EMBEDDINGS = "DELETE FROM {table} WHERE file_id = %(file_id)s"


class DocumentChunkEmbeddingsView(DocumentsView):
    def __init__(self, datastore: Any, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend([
            self.sql(CREATE_TABLE),
            self.sql(CREATE_OWNER_INDEX, index=f"{self.name}_owner_idx")])


class DocumentChunkEmbeddingsProjection(DocumentsProjection):
    name = "document_chunk_embeddings"
    embeds = True
    view_class = DocumentChunkEmbeddingsView

    embedder: Embedder | None = None
    headroom: Headroom | None = None

    @classmethod
    def for_worker(cls, view: ReadModel, settings: Settings) -> BatchProjection:
        projection = super().for_worker(view, settings)
        projection.embedder = worker_embedder(settings.embedding_threads,
                                              EmbeddingModel.of(settings))
        projection.headroom = processor_headroom(settings.embedding_headroom)
        return projection

    def prepare(self, chunked: Chunked) -> Chunked:
        """Each chunk with its vector, all embedded outside any transaction."""
        chunks = [chunk for _, file_chunks in chunked.values() for chunk in file_chunks]
        if self.embedder is None:
            raise RuntimeError(f"{self.name} embeds: make it with "
                               "for_worker(view, settings)")
        vectors = iter(self.embedder.embed([chunk.text for chunk in chunks], self.headroom))
        return {position: (file, [(chunk, next(vectors)) for chunk in file_chunks])
                for position, (file, file_chunks) in chunked.items()}

    def write(self, curs: Cursor, file: dict, chunks: list[tuple[Chunk, Any]],
              position: int) -> None:
        for chunk, vector in chunks:
            curs.execute(self.view.sql(INSERT_EMBEDDING), {
                "file_id": file["id"], "chunk_no": chunk.number,
                "owner_id": file["owner_id"], "embedding": vector_literal(vector),
                "position": position})

    def forget(self, curs: Cursor, file_id: Any, owner_id: str, position: int) -> None:
        curs.execute(self.view.sql(DELETE_EMBEDDINGS), {"file_id": file_id})
