"""Benchmark: Memory Service v0 `POST /v0/search` over many entries (issue 7's figure).

Starts `arqium up` on a temporary data directory with ARQIUM_V0_AUTH=open (the /v0 face
without credentials, as on a loopback-only deployment: the bench sends no tokens),
creates U v0 users, one vault each and M memories per user over HTTP (`POST /v0/users`,
`.../vaults`, `.../memories`), then adds N entries through the memory Application's
`add_entry` (the real command path: events, group commit; 16 threads), waits for the
`memory_items`, `memory_embeddings` and `vaults` read models (reporting the embedding
throughput), and runs C closed-loop HTTP clients for S seconds each against
`POST /v0/search` with a `memoryId` (one memory of a random user) and without one (all
of a random user's entries), after an unmeasured warm-up (--warmup: each API process
loads the embedding model on its first query). It prints the client-side p50/p95
latency per kind, the requests and errors (non-200), the server-reported
`processingTimeMs` (mean, p95), and answers holding another user's or memory's entries.
The two kinds take turns (--rounds) so neither only runs first.
Before the load it runs VACUUM (ANALYZE) on the searched tables, as autovacuum would
after a bulk import (otherwise it runs during the measurement).
Target: p95 < 50 ms.

    python bench/v0_search.py --entries 100000 --users 100 --clients 8
    python bench/v0_search.py --api-processes 2   # one API process per core
    python bench/v0_search.py --entries 2000 --users 10 --seconds 5   # a quick run
"""

import argparse
import http.client as http_client
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from search_memories import QUERIES, WORDS, sentence
from store_memories import ArqiumProcess, HttpClient, percentile, progress

MEMORY_TYPES = ("conversation", "notes", "preferences")
TARGET_P95_MS = 50.0
CATCH_UP_TIMEOUT = 3600.0
SEED_THREADS = 16
PROJECTIONS = ("memory_items", "memory_embeddings", "vaults")


@dataclass
class V0User:
    handle: str
    memory_ids: list[str] = field(default_factory=list)
    vault_id: str = ""
    owner_id: str = ""


def tags(rng: random.Random) -> list[str] | dict[str, str]:
    """1-2 tag words; a quarter of them in the Go SDK's object shape."""
    words = rng.sample(WORDS, rng.randint(1, 2))
    if rng.random() < 0.25:
        return dict(zip(("topic", "about"), words))
    return words


def created(client: HttpClient, path: str, body: dict) -> dict:
    status, _, data = client.post(path, body)
    if status != 201:
        raise RuntimeError(f"POST {path} failed: {status} {data[:300]!r}")
    return json.loads(data)


def create_users(base_url: str, users: int, memories_per_user: int, run_id: str
                 ) -> list[V0User]:
    """U v0 users over HTTP, each with one vault holding `memories_per_user` memories."""
    client, out = HttpClient(base_url), []
    try:
        for i in range(users):
            user = V0User(f"b{run_id}_{i}")
            created(client, "/v0/users", {"userId": user.handle,
                                          "email": f"v0-{run_id}-{i}@example.com",
                                          "displayName": f"bench user {i}"})
            base = f"/v0/users/{user.handle}/vaults"
            user.vault_id = created(client, base, {"title": "bench-vault",
                                                   "description": "v0 search bench"}
                                    )["vaultId"]
            for k in range(memories_per_user):
                user.memory_ids.append(created(
                    client, f"{base}/{user.vault_id}/memories",
                    {"title": f"memory-{k}",
                     "memoryType": MEMORY_TYPES[k % len(MEMORY_TYPES)]})["memoryId"])
            out.append(user)
    finally:
        client.close()
    return out


def seed(database_url: str, users: list[V0User], entries: int) -> float:
    """Add the entries through the Application, SEED_THREADS threads, spread evenly over
    the users and round-robin over each user's memories; returns seconds."""
    from arqium.domain.shared import Cause
    from arqium.infra.settings import Settings
    from arqium.system.bootstrap import open_system

    system = open_system(Settings(database_url=database_url, jwt_secret="b" * 40))
    for user in users:
        user.owner_id = system.identity.user_of_handle(user.handle)
    done, lock = [0], threading.Lock()
    started = time.perf_counter()

    def add_for(index: int) -> None:
        user, rng = users[index], random.Random(index)
        count = entries // len(users) + (index < entries % len(users))
        for n in range(count):
            system.memory.add_entry(
                user.owner_id, user.vault_id, user.memory_ids[n % len(user.memory_ids)],
                sentence(rng), tags(rng), None, {"n": n}, None, cause=Cause(actor="bench"))
            with lock:
                done[0] += 1
                if done[0] % 5000 == 0:
                    progress(f"seeded {done[0]} of {entries} entries")

    try:
        with ThreadPoolExecutor(SEED_THREADS) as pool:
            list(pool.map(add_for, range(len(users))))
    finally:
        system.close()
    return time.perf_counter() - started


def wait_for_projections(database_url: str) -> dict:
    """Poll until the read models the search uses reach the memory application's head;
    the embedding rate while they catch up."""
    positions = ", ".join(
        f"(SELECT notification_id FROM {name}_tracking WHERE application_name = 'memory')"
        for name in PROJECTIONS)
    samples = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        head = conn.execute("SELECT max(notification_id) FROM memory_events").fetchone()[0]
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while True:
            *at, embedded = conn.execute(
                f"SELECT {positions}, (SELECT count(*) FROM memory_embeddings)").fetchone()
            samples.append((time.monotonic(), embedded))
            progress(", ".join(f"{name} at {p}/{head}" for name, p in zip(PROJECTIONS, at))
                     + f"; {embedded} embeddings")
            if all(p == head for p in at):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"read models not caught up after {CATCH_UP_TIMEOUT:.0f} s")
            time.sleep(2)
    (t0, n0), (t1, n1) = samples[0], samples[-1]  # the catch-up after the seeding
    return {"embedded": n1, "embeddings_per_second": (n1 - n0) / (t1 - t0) if t1 > t0 else None}


def vacuum_analyze(database_url: str) -> float:
    """What autovacuum does after a bulk load, done now instead of during the load
    phase (visibility maps and planner statistics of the searched tables); seconds."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) memory_items, memory_items_words, "
                     "memory_embeddings, vaults_memories, vaults_contexts")
    return time.monotonic() - started


@dataclass
class LoadResult:
    latencies: list[float]  # seconds, ascending, every request
    processing_ms: list[float]  # the server's processingTimeMs of the 200s, ascending
    errors: int
    statuses: dict[int, int]
    hits: int  # answers with at least one entry
    wrong: int  # 200s with an entry of another user or (with memoryId) another memory
    first_error: str | None


def load(base_url: str, users: list[V0User], clients: int, seconds: float,
         with_memory: bool | None) -> LoadResult:
    """`clients` threads posting /v0/search back to back for `seconds`, each request as a
    user drawn at random (and one of its memories when `with_memory`; either, at random,
    when it is None)."""
    latencies, processing, statuses = [], [], {}
    hits, wrong, first_error, lock = [0], [0], [None], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(index: int) -> None:
        http, rng = HttpClient(base_url), random.Random(1000 + index)
        try:
            while time.monotonic() < stop_at:
                user = rng.choice(users)
                body = {"userId": user.handle, "query": rng.choice(QUERIES), "limit": 10}
                if with_memory or (with_memory is None and rng.random() < 0.5):
                    body["memoryId"] = rng.choice(user.memory_ids)
                started = time.perf_counter()
                try:
                    status, _, data = http.post("/v0/search", body)
                except (OSError, http_client.HTTPException) as error:
                    status, data = 0, repr(error).encode()
                elapsed = time.perf_counter() - started
                answer = json.loads(data) if status == 200 else None
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                    if answer is not None:
                        processing.append(float(answer["processingTimeMs"]))
                        hits[0] += answer["count"] > 0
                        wrong[0] += any(
                            hit["entry"]["userId"] != user.handle or (
                                "memoryId" in body
                                and hit["entry"]["memoryId"] != body["memoryId"])
                            for hit in answer["entries"])
                    elif first_error[0] is None:
                        first_error[0] = f"{status} {data[:300]!r}"
        finally:
            http.close()

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    errors = sum(n for status, n in statuses.items() if status != 200)
    return LoadResult(sorted(latencies), sorted(processing), errors, statuses, hits[0],
                      wrong[0], first_error[0])


def merged(results: list[LoadResult]) -> LoadResult:
    """One kind's figures over all its rounds."""
    statuses: dict[int, int] = {}
    for result in results:
        for status, n in result.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return LoadResult(sorted(x for r in results for x in r.latencies),
                      sorted(x for r in results for x in r.processing_ms),
                      sum(r.errors for r in results), statuses,
                      sum(r.hits for r in results), sum(r.wrong for r in results),
                      next((r.first_error for r in results if r.first_error), None))


KINDS = {
    "POST /v0/search with memoryId": True,
    "POST /v0/search (all the user's entries)": False,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--memories-per-user", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15, help="per kind of search")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the kinds take turns, --seconds split over this many rounds")
    parser.add_argument("--warmup", type=float, default=5,
                        help="seconds of both searches first, not measured: each API "
                             "process loads the embedding model on its first query")
    parser.add_argument("--api-processes", type=int, default=1,
                        help="ARQIUM_API_PROCESSES for the server (one per core scales reads)")
    parser.add_argument("--server-log", help="write the server's output after it was "
                                             "ready to this file")
    args = parser.parse_args()
    if min(args.entries, args.users, args.memories_per_user, args.clients, args.rounds) < 1 \
            or args.seconds <= 0 or args.warmup < 0:
        parser.error("--entries, --users, --memories-per-user and --clients must be >= 1, "
                     "--seconds > 0, --warmup >= 0")
    os.environ["ARQIUM_V0_AUTH"] = "open"  # the bench sends no credentials (loopback)
    os.environ["ARQIUM_API_PROCESSES"] = str(args.api_processes)
    server = ArqiumProcess()
    try:
        progress(f"starting arqium up (data in {server.data_dir}, port {server.port})")
        server.start()
        progress(f"creating {args.users} v0 users with {args.memories_per_user} memories each")
        users = create_users(server.url, args.users, args.memories_per_user,
                             uuid.uuid4().hex[:6])
        seed_seconds = seed(server.database_url, users, args.entries)
        progress(f"seeded {args.entries} entries in {seed_seconds:.1f} s")
        embedding = wait_for_projections(server.database_url)
        vacuum_seconds = vacuum_analyze(server.database_url)
        rows = [
            ("entries", f"{args.entries} across {args.users} users "
                        + f"({args.memories_per_user} memories each)"),
            ("API processes", f"{args.api_processes} (ARQIUM_V0_AUTH=open: no tokens)"),
            ("seeding (add_entry commands/s)", f"{args.entries / seed_seconds:.1f}"),
            ("embedding throughput (entries/s)",
             f"{embedding['embeddings_per_second'] or 0:.1f}"),
            ("VACUUM (ANALYZE) after the load", f"{vacuum_seconds:.1f} s"),
        ]
        if args.warmup:
            progress(f"warm-up: {args.clients} clients, {args.warmup:g} s")
            r = load(server.url, users, args.clients, args.warmup, None)
            rows.append(("warm-up (not measured)",
                         f"{len(r.latencies)} requests in {args.warmup:g} s, slowest "
                         + f"{(r.latencies[-1] if r.latencies else 0) * 1000:.0f} ms "
                         + f"(first queries load the model), {r.errors} errors"))
        rounds: dict[str, list[LoadResult]] = {name: [] for name in KINDS}
        for round_number in range(args.rounds):  # alternated: neither kind runs first only
            for name, with_memory in KINDS.items():
                progress(f"load: {name}, {args.clients} clients, "
                         f"{args.seconds / args.rounds:g} s (round {round_number + 1})")
                rounds[name].append(load(server.url, users, args.clients,
                                         args.seconds / args.rounds, with_memory))
        for name in KINDS:
            r = merged(rounds[name])
            p50, p95 = percentile(r.latencies, 50), percentile(r.latencies, 95)
            verdict = "met" if p95 is not None and p95 * 1000 < TARGET_P95_MS else "NOT met"
            mean_pt = sum(r.processing_ms) / len(r.processing_ms) if r.processing_ms else 0
            rows.append((name, f"p50/p95 {p50 * 1000:.1f} / {p95 * 1000:.1f} ms ("
                               + f"{len(r.latencies)} requests, "
                               + f"{len(r.latencies) / args.seconds:.1f} req/s, "
                               + f"{r.errors} errors, {args.clients} clients; "
                               + f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict})"))
            rows.append(("  server processingTimeMs mean/p95",
                         f"{mean_pt:.1f} / {percentile(r.processing_ms, 95) or 0:.0f} ms; "
                         + f"{r.hits} answers with entries, {r.wrong} with another "
                         + "user's or memory's entries"))
            if r.errors:
                rows.append(("  errors by status", f"{r.statuses}; first: {r.first_error}"))
        if server.problems:
            rows.append(("server log problems", f"{len(server.problems)} lines, "
                                                + f"first: {server.problems[0]}"))
        width = max(len(name) for name, _ in rows) + 2
        print("\n".join(f"{name:<{width}}{value}" for name, value in rows))
    finally:
        server.stop()
        for line in server.problems:
            progress(f"server: {line}")
        if args.server_log:
            save_log(server, args.server_log)


def save_log(server: ArqiumProcess, path: str) -> None:
    """The server's lines since it was ready (its drain thread queued them all)."""
    lines = []
    while not server._lines.empty():
        line = server._lines.get_nowait()
        if line is not None:
            lines.append(line)
    with open(path, "w") as out:
        out.write("\n".join(lines) + "\n")
    progress(f"server log: {len(lines)} lines in {path}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
