"""Search of the knowledge base (CEREBRO's RAG): the owner's chunks ranked by their words
(PostgreSQL full text) and by meaning (nearest vectors), fused as memory search fuses
its sides. Every statement runs under a time limit, so a slow database fails fast."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor

from arqium.domain.files.application import FilesApplication
from arqium.infra.embeddings import vector_literal
from arqium.projections.document_chunk_embeddings import DocumentChunkEmbeddingsView
from arqium.projections.document_chunks import SELECT_OWNER, DocumentChunksView
from arqium.projections.memory_search import CANDIDATES, PAGE_SLACK, Ranking, fuse

# The keyword side: chunks holding any lexeme of the words (English stems, stop words
# out), ranked by ts_rank with its length normalisation (rank / (1 + log(length))).
KEYWORD = """
WITH terms AS (
    SELECT (SELECT string_agg(quote_literal(lexeme), ' | ')
            FROM unnest(to_tsvector('english', %(words)s)))::tsquery AS query
)
SELECT c.file_id::text || ':' || c.chunk_no AS id, ts_rank(c.tsv, terms.query, 1) AS score
FROM {table} c, terms
WHERE c.owner_id = %(owner_id)s AND c.tsv @@ terms.query
ORDER BY score DESC, id
LIMIT %(candidates)s"""
MEANING = """
SELECT e.file_id::text || ':' || e.chunk_no AS id,
    1 - (e.embedding <=> %(vector)s::halfvec) AS score
FROM {embeddings} e WHERE e.owner_id = %(owner_id)s
ORDER BY e.embedding <=> %(vector)s::halfvec, id
LIMIT %(candidates)s"""
SELECT_CHUNKS = """
SELECT c.file_id, c.chunk_no, c.page, c.title, c.content
FROM unnest(%(files)s::uuid[], %(numbers)s::int[]) AS wanted (file_id, chunk_no)
JOIN {table} c USING (file_id, chunk_no)
WHERE c.owner_id = %(owner_id)s"""


@dataclass(frozen=True)
class KnowledgeState:
    """Where an owner's knowledge base stands: its version (the position of its last
    change) and whether the vectors of its newest chunks are there yet."""

    version: int
    embedded: bool


class DocumentSearch:
    """Ranked in PostgreSQL over the document_chunks and document_chunk_embeddings read
    models; each statement given at most `timeout` seconds."""

    def __init__(self, chunks: DocumentChunksView, embeddings: DocumentChunkEmbeddingsView,
                 timeout: float):
        self.chunks, self.embeddings, self.timeout = chunks, embeddings, timeout

    def state(self, owner_id: str) -> KnowledgeState:
        with self._transaction() as curs:
            owner = curs.execute(self.chunks.sql(SELECT_OWNER), {"owner_id": owner_id}
                                 ).fetchone() or {"version": 0, "chunked_at": 0}
            embedded_to = self.embeddings._max_tracking_id(FilesApplication.name, curs)
        return KnowledgeState(owner["version"], (embedded_to or 0) >= owner["chunked_at"])

    def search(self, owner_id: str, words: str, vector: Sequence[float] | None,
               limit: int) -> list[dict]:
        """The best `limit` chunks, each row with its fused `score` (0..1); by words
        alone when `vector` is None."""
        keyword = self._ranking(KEYWORD, owner_id=owner_id, words=words)
        meaning = [] if vector is None else self._ranking(
            MEANING, owner_id=owner_id, vector=vector_literal(vector))
        return self._rows(owner_id, fuse(keyword, meaning)[:limit + PAGE_SLACK])[:limit]

    def _ranking(self, template: str, **params: Any) -> Ranking:
        rows = self._query(template, candidates=CANDIDATES, **params)
        return [(row["id"], row["score"]) for row in rows]

    def _rows(self, owner_id: str, ranking: Ranking) -> list[dict]:
        """The ranked chunks still there, best first, with their scores."""
        if not ranking:
            return []
        wanted = [chunk_id.rpartition(":") for chunk_id, _ in ranking]
        found = {f"{row['file_id']}:{row['chunk_no']}": row for row in self._query(
            SELECT_CHUNKS, owner_id=owner_id, files=[file for file, _, _ in wanted],
            numbers=[int(number) for _, _, number in wanted])}
        return [{**found[chunk_id], "score": score} for chunk_id, score in ranking
                if chunk_id in found]

    def _query(self, template: str, **params: Any) -> list[dict]:
        statement = self.chunks.sql(template, embeddings=self.embeddings.name)
        with self._transaction() as curs:
            # Planned for each owner and words: not yet measured prepared, as memory
            # search was (projections/memory_search.py).
            return curs.execute(statement, params, prepare=False).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[Cursor]:
        """A read-only transaction whose statements each get at most `timeout`."""
        with self.chunks.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT set_config('statement_timeout', %s, true)",
                         (f"{max(1, round(self.timeout * 1000))}ms",))
            yield curs
