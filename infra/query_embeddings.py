"""Search queries' embeddings, cached at two levels: in this process (L1) and in a
Postgres table every API process shares (L2), so a query embedded once is not embedded
again by another process or after a restart."""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from arqium.infra.embeddings import (
    DIMENSIONS,
    FLOAT_MODEL,
    EmbeddingModel,
    shared_embedder,
    vector_literal,
)

TABLE = "query_embeddings"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    digest bytea PRIMARY KEY,
    embedding vector({DIMENSIONS}) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
SELECT = f"SELECT embedding::text AS embedding FROM {TABLE} WHERE digest = %s"
INSERT = f"""
INSERT INTO {TABLE} (digest, embedding) VALUES (%s, %s::vector)
ON CONFLICT (digest) DO NOTHING"""

Connect = Callable[[], AbstractContextManager[Any]]


class HitRatio:
    """Hits and lookups of one cache level, counted across threads."""

    def __init__(self) -> None:
        self.hits = self.lookups = 0
        self._lock = threading.Lock()

    def count(self, hit: bool) -> None:
        with self._lock:
            self.lookups += 1
            self.hits += hit

    @property
    def ratio(self) -> float | None:
        return round(self.hits / self.lookups, 4) if self.lookups else None


class QueryEmbeddings:
    """A query's embedding: from L1, else L2, else the model (and then both caches)."""

    def __init__(self, connect: Connect, model: EmbeddingModel = FLOAT_MODEL,
                 l1_size: int = 4096):
        self._connect = connect
        self._model = model  # loaded by load_model() at start-up, else on a miss
        self._l1: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._l1_size = l1_size
        self._lock = threading.Lock()
        self.l1, self.l2 = HitRatio(), HitRatio()

    def create_table(self) -> None:
        with self._connect() as conn:
            conn.execute(CREATE_TABLE)

    def load_model(self) -> None:
        """Load the model now, so that the first search does not wait for it."""
        shared_embedder(self._model)

    def vector(self, text: str) -> tuple[float, ...]:
        vector = self._from_l1(text)
        self.l1.count(vector is not None)
        if vector is None:
            vector = self._from_l2(text)
            self._remember(text, vector)
        return vector

    def _from_l1(self, text: str) -> tuple[float, ...] | None:
        with self._lock:
            vector = self._l1.get(text)
            if vector is not None:
                self._l1.move_to_end(text)
            return vector

    def _remember(self, text: str, vector: tuple[float, ...]) -> None:
        with self._lock:
            self._l1[text] = vector
            while len(self._l1) > self._l1_size:
                self._l1.popitem(last=False)

    def _from_l2(self, text: str) -> tuple[float, ...]:
        digest = hashlib.sha256(self._model.key_prefix + text.encode()).digest()
        with self._connect() as conn:
            row = conn.execute(SELECT, (digest,)).fetchone()
        self.l2.count(row is not None)
        if row is not None:
            return parse_vector(row["embedding"] if isinstance(row, dict) else row[0])
        literal = vector_literal(shared_embedder(self._model).embed([text])[0])
        with self._connect() as conn:
            conn.execute(INSERT, (digest, literal))
        return parse_vector(literal)  # as L2 will give it back: one answer per query


def parse_vector(text: str) -> tuple[float, ...]:
    """pgvector's text form back to floats."""
    return tuple(float(x) for x in text.strip("[]").split(","))

