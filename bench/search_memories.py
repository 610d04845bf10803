"""Benchmark: memory search and working sets over many memories (issue 4's figures).

Seeds N memories across U users through the memory Application (the real command path:
events, group commit) against a running `arqium up`, waits for the read model and the
embeddings projection (reporting its embedding throughput), then runs C concurrent
HTTP clients against CEREBRO `/api/memory/search`, ARQIUM
`/api/v1/memory/search?mode=hybrid` and CEREBRO `/api/memory/context`, and prints
p50/p95 latency per endpoint. Targets: p95 < 50 ms.

    python bench/search_memories.py --memories 100000 --users 100 --clients 8
    python bench/search_memories.py --api-processes 2   # one API process per core
    python bench/search_memories.py --data-dir /tmp/s30k  # kept: a second run skips seeding

With `--data-dir` the server's data (and the seeded users, in bench-users.json) is kept;
a later run on the same directory searches what is there: compare two versions of the
search on the same data, or the same version before and after a restart.
"""

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg
from store_memories import ArqiumProcess, HttpClient, percentile, progress

WORDS = ("project deadline meeting customer invoice travel flight hotel dinner recipe "
         "garden python database backup server release budget report doctor dentist "
         "birthday gift concert football music guitar lesson school homework movie book "
         "coffee tea breakfast weekend holiday beach mountain hiking bicycle car insurance "
         "tax bank password editor theme dark light language french spanish kitchen").split()
QUERIES = ["when is the dentist appointment", "favourite editor theme", "travel plans",
           "tax report deadline", "what music does the user like", "weekend hiking trip",
           "book recommendations", "coffee or tea in the morning"]
TARGET_P95_MS = 50.0
CATCH_UP_TIMEOUT = 1800.0


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))


def register(base_url: str, users: int, run_id: str) -> list[tuple[str, str]]:
    """(user id, access token) for each user."""
    client, out = HttpClient(base_url), []
    try:
        for i in range(users):
            status, _, body = client.post("/api/v1/auth/register", {
                "email": f"search-{run_id}-{i}@example.com", "password": "bench-password",
                "name": f"user {i}"})
            if status != 201:
                raise RuntimeError(f"register failed: {status} {body[:200]!r}")
            data = json.loads(body)["data"]
            out.append((data["user"]["id"], data["access_token"]))
    finally:
        client.close()
    return out


def seed(database_url: str, users: list[tuple[str, str]], memories: int) -> float:
    """Store the memories through the Application, 16 threads; returns seconds."""
    from arqium.domain.memory.application import MemoryDraft
    from arqium.domain.shared import Cause
    from arqium.infra.settings import Settings
    from arqium.system.bootstrap import open_system

    system = open_system(Settings(database_url=database_url, jwt_secret="b" * 40))
    per_user = memories // len(users)
    started = time.perf_counter()

    def store_for(index: int) -> None:
        owner, rng = users[index][0], random.Random(index)
        for n in range(per_user):
            layer = rng.choice(("temporary", "temporary", "permanent", "context"))
            system.memory.upsert(owner, MemoryDraft(
                key=f"m{n}", content={"note": sentence(rng)}, layer=layer,
                confidence=round(rng.random(), 2), tags=[rng.choice(WORDS)],
                ttl_seconds=86400 * 30), cause=Cause(actor="bench"))
            if index == 0 and n % 100 == 0:
                progress(f"seeded ~{n * len(users)} of {memories}")

    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(store_for, range(len(users))))
    finally:
        system.close()
    return time.perf_counter() - started


def wait_for_projections(database_url: str) -> dict:
    """Poll until memory_items and memory_embeddings reach the head; embedding rate."""
    samples = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        head = conn.execute("SELECT max(notification_id) FROM memory_events").fetchone()[0]
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while time.monotonic() < deadline:
            items, embedded = conn.execute(
                "SELECT (SELECT notification_id FROM memory_items_tracking "
                "WHERE application_name = 'memory'), (SELECT count(*) FROM memory_embeddings)"
            ).fetchone()
            samples.append((time.monotonic(), embedded))
            progress(f"read model at {items}/{head}, embeddings {embedded}")
            done = conn.execute("SELECT notification_id FROM memory_embeddings_tracking "
                                "WHERE application_name = 'memory'").fetchone()
            if items == head and done and done[0] == head:
                break
            time.sleep(2)
    (t0, n0), (t1, n1) = samples[0], samples[-1]
    return {"embedded": n1, "embeddings_per_second": (n1 - n0) / (t1 - t0) if t1 > t0 else None}


def load(base_url: str, users: list[tuple[str, str]], clients: int, seconds: float,
         request) -> tuple[list[float], int]:
    """`clients` threads calling request(http, token, rng) for `seconds`, each request as
    a user drawn at random; latencies, errors."""
    latencies, errors, lock = [], [0], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(index: int) -> None:
        http, rng = HttpClient(base_url), random.Random(1000 + index)
        try:
            while time.monotonic() < stop_at:
                token = rng.choice(users)[1]
                started = time.perf_counter()
                status = request(http, token, rng)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors[0] += status != 200
        finally:
            http.close()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    return sorted(latencies), errors[0]


def get(http: HttpClient, path: str, token: str) -> int:
    if http.conn is None:
        import http.client as hc
        http.conn = hc.HTTPConnection(http.host, http.port, timeout=30)
    http.conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = http.conn.getresponse()
    response.read()
    return response.status


ENDPOINTS = {
    "POST /api/memory/search": lambda http, token, rng: http.post(
        "/api/memory/search", {"query": rng.choice(QUERIES), "limit": 10}, token)[0],
    "GET /api/v1/memory/search?mode=hybrid": lambda http, token, rng: get(
        http, f"/api/v1/memory/search?mode=hybrid&limit=10&q={quote(rng.choice(QUERIES))}",
        token),
    "POST /api/memory/context": lambda http, token, rng: http.post(
        "/api/memory/context", {"chatId": f"chat-{rng.randint(1, 20)}", "maxTokens": 2000},
        token)[0],
}


def seed_and_report(server: ArqiumProcess, args: argparse.Namespace) -> list:
    users = register(server.url, args.users, uuid.uuid4().hex[:8])
    seed_seconds = seed(server.database_url, users, args.memories)
    progress(f"seeded {args.memories} memories in {seed_seconds:.1f} s")
    embedding = wait_for_projections(server.database_url)
    print(f"{'memories':<40} {args.memories} across {args.users} users")
    print(f"{'seeding (commands/s)':<40} {args.memories / seed_seconds:.1f}")
    print(f"{'embedding throughput (memories/s)':<40} "
          f"{embedding['embeddings_per_second'] or 0:.1f}")
    return users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15, help="per endpoint")
    parser.add_argument("--data-dir", type=Path,
                        help="keep the server's data here; reuse what an earlier run seeded")
    parser.add_argument("--api-processes", type=int, default=1,
                        help="ARQIUM_API_PROCESSES for the server (one per core scales reads)")
    args = parser.parse_args()
    os.environ["ARQIUM_ACCESS_TOKEN_MINUTES"] = "600"  # the seeding takes a while
    os.environ["ARQIUM_API_PROCESSES"] = str(args.api_processes)
    server = ArqiumProcess(args.data_dir)
    seeded = args.data_dir / "bench-users.json" if args.data_dir else None
    try:
        progress("starting arqium up")
        server.start()
        if seeded and seeded.exists():
            users = [tuple(user) for user in json.loads(seeded.read_text())]
            progress(f"searching the {len(users)} users seeded in {args.data_dir}")
        else:
            users = seed_and_report(server, args)
            if seeded:
                seeded.write_text(json.dumps(users))
        print(f"{'API processes':<40} {args.api_processes}")
        for name, request in ENDPOINTS.items():
            latencies, errors = load(server.url, users, args.clients, args.seconds, request)
            p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
            verdict = "met" if p95 * 1000 < TARGET_P95_MS else "NOT met"
            print(f"{name:<40} p50/p95 {p50 * 1000:.1f} / {p95 * 1000:.1f} ms "
                  f"({len(latencies)} requests, {errors} errors, {args.clients} clients; "
                  f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict})")
    finally:
        server.stop()


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
