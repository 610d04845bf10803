"""The peers of issue 20: the plain service a user would write instead of ARQIUM.

A minimal FastAPI app over a psycopg pool, no auth (the owner comes in `X-Owner`), no
events, no projections:

- `POST /memories`: validates the body of ARQIUM's `POST /api/v1/memory/store` (the
  same pydantic model) and INSERTs one row (owner, key, content JSONB, tags, created_at);
- `GET /memories/recent`: the owner's newest 20;
- `GET /search?q=`: one hybrid SQL over a plain table of the same memories, full text
  (`tsvector`, any of the query's words) and pgvector cosine, each side's best 100 fused
  by reciprocal rank in SQL; the query embedded in-process with ARQIUM's model.

    python bench/peers/crud.py --database-url URL --port 8100 --workers 1 \
        --pool-size 2 --pool-max-overflow 6

`create_schema` makes its tables (compare.py calls it before starting the server).
"""

import argparse
import os
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import FastAPI, Header, Query
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from arqium.api.common.memory import StoreMemoryRequest
from arqium.infra.embeddings import FLOAT_MODEL, shared_embedder, vector_literal

MEMORIES = "peer_memories"  # written by POST /memories, read by /memories/recent
SEARCHED = "peer_search"  # the search peer's table: the same memories, with vectors
SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    f"""CREATE TABLE IF NOT EXISTS {MEMORIES} (
        id uuid PRIMARY KEY, owner text NOT NULL, key text NOT NULL,
        content jsonb NOT NULL, tags jsonb NOT NULL, created_at timestamptz NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS {MEMORIES}_recent ON {MEMORIES} (owner, created_at DESC)",
    f"""CREATE TABLE IF NOT EXISTS {SEARCHED} (
        id uuid PRIMARY KEY, owner text NOT NULL, key text NOT NULL,
        content jsonb NOT NULL, tags jsonb NOT NULL, created_at timestamptz NOT NULL,
        embedding vector(384),
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english',
            key || ' ' || jsonb_path_query_array(content, 'strict $.**')::text)) STORED)""",
    f"CREATE INDEX IF NOT EXISTS {SEARCHED}_tsv ON {SEARCHED} USING gin (tsv)",
    f"CREATE INDEX IF NOT EXISTS {SEARCHED}_owner ON {SEARCHED} (owner)",
]
INSERT = f"""INSERT INTO {MEMORIES} (id, owner, key, content, tags, created_at)
VALUES (%s, %s, %s, %s, %s, %s)"""
RECENT = f"""SELECT id, key, content, tags, created_at FROM {MEMORIES}
WHERE owner = %s ORDER BY created_at DESC LIMIT 20"""
# Reciprocal-rank fusion (k = 60) of the best 100 by words (any of them) and by meaning
# (exact cosine within the owner's memories, as ARQIUM ranks them).
HYBRID = f"""
WITH query AS (
    SELECT replace(plainto_tsquery('english', %(q)s)::text, '&', '|')::tsquery AS words
),
keyword AS (
    SELECT m.id, row_number() OVER (ORDER BY ts_rank_cd(m.tsv, query.words) DESC, m.id)
        AS rank
    FROM {SEARCHED} m, query
    WHERE m.owner = %(owner)s AND m.tsv @@ query.words
    ORDER BY rank LIMIT 100
),
meaning AS (
    SELECT id, row_number() OVER (ORDER BY embedding <=> %(vector)s::vector, id) AS rank
    FROM {SEARCHED} WHERE owner = %(owner)s
    ORDER BY rank LIMIT 100
),
fused AS (
    SELECT id, sum(1.0 / (60 + rank)) AS score
    FROM (SELECT * FROM keyword UNION ALL SELECT * FROM meaning) AS both_sides
    GROUP BY id ORDER BY score DESC, id LIMIT %(limit)s
)
SELECT m.id, m.key, m.content, m.tags, m.created_at, fused.score
FROM fused JOIN {SEARCHED} m USING (id) ORDER BY fused.score DESC, m.id"""

Owner = Annotated[str, Header(alias="X-Owner", min_length=1, max_length=255)]


def create_schema(conn) -> None:
    """The peers' tables and indexes (idempotent)."""
    for statement in SCHEMA:
        conn.execute(statement)


def create_app(database_url: str, pool_size: int, pool_max: int) -> FastAPI:
    pool = ConnectionPool(database_url, min_size=pool_size, max_size=pool_max,
                          kwargs={"autocommit": True, "row_factory": dict_row}, open=False)
    embedder = shared_embedder(FLOAT_MODEL)

    async def lifespan(app: FastAPI):
        pool.open(wait=True)
        embedder.query("warm up")
        yield
        pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/memories", status_code=201)
    def store(body: StoreMemoryRequest, owner: Owner):
        row = {"id": uuid.uuid4(), "key": body.key or str(uuid.uuid4()),
               "content": body.content, "tags": body.tags,
               "created_at": datetime.now(UTC)}
        with pool.connection() as conn:
            conn.execute(INSERT, (row["id"], owner, row["key"], Jsonb(body.content),
                                  Jsonb(body.tags), row["created_at"]))
        return row

    @app.get("/memories/recent")
    def recent(owner: Owner):
        with pool.connection() as conn:
            return {"items": conn.execute(RECENT, (owner,)).fetchall()}

    @app.get("/search")
    def search(owner: Owner, q: str = Query(min_length=1, max_length=1000),
               limit: int = Query(default=10, ge=1, le=100)):
        vector = vector_literal(embedder.query(q))
        with pool.connection() as conn:
            rows = conn.execute(HYBRID, {"q": q, "owner": owner, "vector": vector,
                                         "limit": limit}).fetchall()
        return {"items": rows}

    return app


def app_from_environment() -> FastAPI:
    """For uvicorn's worker processes (an import string and a factory)."""
    return create_app(os.environ["PEER_DATABASE_URL"], int(os.environ["PEER_POOL_SIZE"]),
                      int(os.environ["PEER_POOL_MAX"]))


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes (1)")
    parser.add_argument("--pool-size", type=int, default=2, help="connections kept (2)")
    parser.add_argument("--pool-max-overflow", type=int, default=6,
                        help="connections opened on top under load (6)")
    args = parser.parse_args()
    os.environ.update(PEER_DATABASE_URL=args.database_url,
                      PEER_POOL_SIZE=str(args.pool_size),
                      PEER_POOL_MAX=str(args.pool_size + args.pool_max_overflow))
    # ARQIUM's own uvicorn settings (cli/run.py): no access log, no proxy headers.
    uvicorn.run("crud:app_from_environment", factory=True, app_dir=os.path.dirname(
        os.path.abspath(__file__)), host=args.host, port=args.port, workers=args.workers,
        log_level="warning", access_log=False, proxy_headers=False)


if __name__ == "__main__":
    sys.exit(main())
