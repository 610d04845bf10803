"""Benchmark: ARQIUM side by side with the plain service a user would write instead
(issue 20), on ONE PostgreSQL, in one run, so that the ratios hold however busy the
machine is.

It starts `arqium up` (API-key authentication, rate limits off, the default read-your-
writes consistency) and the peers of bench/peers/crud.py (same uvicorn, same number of
processes, same pool size) against ARQIUM's PostgreSQL, then runs each load for the
same time with the same clients, one after the other, the reads first (on a system
whose read models hold every event):

  search       8 clients over N memories: ARQIUM GET /api/v1/memory/search?mode=hybrid
               vs the search peer's GET /search (hybrid SQL, pgvector)
  recent       8 clients: GET /api/v1/memory/recent vs the peer's GET /memories/recent
  working set  8 clients: CEREBRO POST /api/memory/context vs the search peer
  writes       the raw single-row INSERT commit rate (the ceiling), then 16 clients:
               the CRUD peer's POST /memories vs ARQIUM POST /api/v1/memory/store;
               during ARQIUM's load, the lag from each command's commit to every memory
               read model and to NATS (ARQIUM's writes come last: its read models and
               embeddings go on working long after the load)

and prints, per load, throughput, p50/p95/p99, ARQIUM/peer ratios against the targets
of issue 20, and each side's CPU ms per request (from /proc: the API or peer process,
ARQIUM's workers and NATS, PostgreSQL).

Seeding N memories (through the memory application, then waiting for the read models
and the embeddings, ~55 embeddings/s on a busy 2-core machine) takes long at 100k; the
seeded data directory is kept (default ~/.cache/arqium-bench/compare-<N>-<users>) and
reused by the next run (on a copy: no run sees an earlier one's writes), which then
takes about 5 minutes (`--quick`: about 1 minute, 10k memories unless --memories says
otherwise). The search cost grows with the memories
of ONE owner: 10k memories over 10 users search as many per owner as 100k over 100.

    python bench/compare.py                     # 100k memories, 15 s per load
    python bench/compare.py --quick             # 10k memories, 4 s per load
    python bench/compare.py --memories 10000 --users 10   # 1,000 per owner, as at 100k
    python bench/compare.py --memories 20000 --duration 10 --fresh
    python bench/compare.py --profile /tmp/prof # py-spy records ARQIUM's API (perturbs)
    python bench/compare.py --memories 10000 --users 10 --writes-only   # A/B the writes
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg

from arqium.infra.headroom import processor_times

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from search_memories import QUERIES, WORDS, sentence  # noqa: E402
from store_memories import (  # noqa: E402
    CONTENT,
    ArqiumProcess,
    HttpClient,
    NatsWatcher,
    Series,
    free_port,
    parse_position,
    percentile,
    progress,
    run_raw_inserts,
)

PEER_SCRIPT = Path(__file__).parent / "peers" / "crud.py"
MEMORY_READ_MODELS = ("memory_items", "memory_embeddings", "contexts", "vaults",
                      "memory_activity")
SAMPLE_INTERVAL = 0.01  # the lag sampler's poll: fine for a 100 ms target, cheap
READY_TIMEOUT = 60.0
SEED_FILE = "compare-seed.json"
TICK = os.sysconf("SC_CLK_TCK")
now = time.perf_counter

# Issue 20's targets: ARQIUM / peer ratios measured in one run.
TARGETS = {"write throughput": 1.0, "write p99": 1.5, "search p95": 1.2,
           "recent p95": 1.2, "working set p95": 2.0, "lag p95 ms": 100.0,
           "API CPU write ms": 0.8, "API CPU search ms": 1.0}


# --- processes and their CPU ----------------------------------------------------------

def proc_table() -> dict[int, tuple[int, float, float, str]]:
    """pid -> (parent pid, own CPU s, reaped children's CPU s, command line)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        own, reaped = (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
        table[int(entry.name)] = (int(fields[1]), own / TICK, reaped / TICK, cmdline)
    return table


def stolen_seconds() -> float:
    """The processor time the hypervisor has taken from this machine so far (all CPUs):
    a virtual machine over its host's share stops whole, ~100 ms at a time, whatever
    runs on it."""
    return processor_times().get("steal", 0.0)


def descendants(table: dict, root: int) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, row in table.items() if row[0] == parent]
        found += children
        frontier += children
    return found


@dataclass
class Sides:
    """The processes whose CPU is counted: ARQIUM's `up` (API, and its children: the
    workers process, NATS), the peer, PostgreSQL (postmaster and its backends)."""
    arqium: int
    peer: int | None
    postmaster: int

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each group: api, workers, nats, peer, postgres."""
        table = proc_table()
        groups = dict.fromkeys(("api", "workers", "nats", "peer", "postgres"), 0.0)
        for pid in [self.arqium, *descendants(table, self.arqium)]:
            if pid in table:
                command = table[pid][3]
                group = ("nats" if "nats-server" in command else
                         "workers" if " worker" in command else "api")
                groups[group] += table[pid][1]
        if self.peer:
            groups["peer"] = sum(table[p][1] for p in [self.peer, *descendants(
                table, self.peer)] if p in table)
        if self.postmaster in table:
            groups["postgres"] = sum(table[self.postmaster][1:3]) + sum(
                table[p][1] for p in descendants(table, self.postmaster) if p in table)
        return groups


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


class PeerProcess:
    """bench/peers/crud.py as a subprocess, its output kept for a failure message."""

    def __init__(self, database_url: str, workers: int, pool_size: int, overflow: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"compare-peer-{self.port}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(PEER_SCRIPT), "--database-url", database_url,
                 "--port", str(self.port), "--workers", str(workers),
                 "--pool-size", str(pool_size), "--pool-max-overflow", str(overflow)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the peer exited:\n" + self.log.read_text()[-3000:])
            try:
                status, _, _ = HttpClient(self.url).request(
                    "GET", "/memories/recent", None, None, {"X-Owner": "nobody"})
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the peer did not answer:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


# --- seeding ---------------------------------------------------------------------------

def register_with_key(base_url: str, label: str) -> dict:
    """A new user and an API key of theirs: {id, key}."""
    client = HttpClient(base_url)
    try:
        status, _, body = client.post("/api/v1/auth/register", {
            "email": f"{label}@example.com", "password": "bench-password", "name": label})
        if status != 201:
            raise RuntimeError(f"register failed: {status} {body[:300]!r}")
        data = json.loads(body)["data"]
        status, _, body = client.post("/api/v1/api-keys", {"name": "compare"},
                                      data["access_token"])
        if status != 201:
            raise RuntimeError(f"API key refused: {status} {body[:300]!r}")
        return {"id": data["user"]["id"], "key": json.loads(body)["data"]["key"]}
    finally:
        client.close()


def users_with_keys(base_url: str, count: int, prefix: str) -> list[dict]:
    run_id = uuid.uuid4().hex[:8]
    with ThreadPoolExecutor(4) as pool:  # Argon2 hashing of each password: ~0.1-0.3 s
        return list(pool.map(
            lambda i: register_with_key(base_url, f"{prefix}-{run_id}-{i}"), range(count)))


def seed_memories(database_url: str, data_dir: Path, users: list[dict], memories: int
                  ) -> float:
    """N memories spread over the users, through the memory application (16 threads,
    group commit); returns seconds."""
    from arqium.domain.memory.application import MemoryDraft
    from arqium.domain.shared import Cause
    from arqium.infra.settings import Settings
    from arqium.system.bootstrap import open_system

    system = open_system(Settings(database_url=database_url, data_dir=data_dir,
                                  jwt_secret="b" * 40))
    per_user, started = memories // len(users), now()

    def store_for(index: int) -> None:
        owner, rng = users[index]["id"], random.Random(index)
        for n in range(per_user):
            layer = rng.choice(("temporary", "temporary", "permanent", "context"))
            system.memory.upsert(owner, MemoryDraft(
                key=f"m{n}", content={"note": sentence(rng)}, layer=layer,
                confidence=round(rng.random(), 2), tags=[rng.choice(WORDS)],
                ttl_seconds=86400 * 365), cause=Cause(actor="bench"))
            if index == 0 and n % 100 == 0:
                progress(f"seeded ~{n * len(users)} of {memories} memories")

    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(store_for, range(len(users))))
    finally:
        system.close()
    return now() - started


def positions(conn, names) -> tuple[int, dict[str, int]]:
    """The memory application's head, and each read model's position."""
    query = "SELECT (SELECT max(notification_id) FROM memory_events)" + "".join(
        f", (SELECT max(notification_id) FROM {name}_tracking "
        "WHERE application_name = 'memory')" for name in names)
    head, *tracked = conn.execute(query).fetchone()
    return head or 0, {name: p or 0 for name, p in zip(names, tracked)}


def wait_for_read_models(database_url: str, timeout: float, quiet: bool = False) -> float:
    """Seconds until every memory read model holds the head (timeout: gives up)."""
    started = now()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while now() - started < timeout:
            head, tracked = positions(conn, MEMORY_READ_MODELS)
            behind = {n: head - p for n, p in tracked.items() if p < head}
            if not behind:
                break
            if not quiet:
                progress(f"read models behind the head ({head}): {behind}")
            time.sleep(2 if not quiet else 0.1)
    return now() - started


def vacuumed(database_url: str) -> None:
    """Every table, ARQIUM's and the peers', vacuumed and analyzed before a run's loads,
    as autovacuum keeps a database that has run a while: once only the peers' tables
    were (at seeding), and ARQIUM's first loads ran beside autovacuum's first pass over
    its seeded tables, planned without statistics (a page of recent memories: 0.93 ms
    a query without them, 0.40 with)."""
    progress("VACUUM ANALYZE")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def seed_peer_tables(database_url: str, owners: list[str]) -> None:
    """The peers' tables hold the same memories as ARQIUM's read models (the search
    peer's vectors: ARQIUM's own embeddings of the same text, same model)."""
    sys.path.insert(0, str(PEER_SCRIPT.parent))
    from crud import MEMORIES, SEARCHED, create_schema

    with psycopg.connect(database_url, autocommit=True) as conn:
        create_schema(conn)
        conn.execute(f"TRUNCATE {MEMORIES}, {SEARCHED}")
        conn.execute(f"""INSERT INTO {MEMORIES} (id, owner, key, content, tags, created_at)
            SELECT id, owner_id, key, content, tags, created_at FROM memory_items
            WHERE owner_id = ANY(%s) AND gone_at IS NULL""", (owners,))
        conn.execute(f"""INSERT INTO {SEARCHED} (id, owner, key, content, tags, created_at,
                embedding)
            SELECT m.id, m.owner_id, m.key, m.content, m.tags, m.created_at,
                e.embedding::vector
            FROM memory_items m JOIN memory_embeddings e USING (id)
            WHERE m.owner_id = ANY(%s) AND m.gone_at IS NULL""", (owners,))


def prepared(args, server: ArqiumProcess) -> dict:
    """The seeded users and memories of this data directory: stored first if it has
    none; a run stopped while the read models caught up goes on waiting."""
    seed_file = server.data_dir / SEED_FILE
    seed = stored_seed(server.data_dir)
    if seed is None:
        progress(f"seeding {args.memories} memories for {args.users} users "
                 "(once per data dir)")
        users = users_with_keys(server.url, args.users, "search")
        seconds = seed_memories(server.database_url, server.data_dir, users, args.memories)
        seed = {"memories": args.memories // args.users * args.users, "users": users,
                "store_seconds": seconds, "ready": False}
        seed_file.write_text(json.dumps(seed))
        progress(f"stored in {seconds:.0f} s; waiting for the read models and embeddings")
    if not seed["ready"]:
        seed["projected_seconds"] = wait_for_read_models(server.database_url, 24 * 3600)
        progress("copying the memories into the peers' tables")
        seed_peer_tables(server.database_url, [u["id"] for u in seed["users"]])
        seed["ready"] = True
        seed_file.write_text(json.dumps(seed))
    return seed


def stored_seed(data_dir: Path) -> dict | None:
    """What the data directory's seed file records (None before any seeding)."""
    seed_file = data_dir / SEED_FILE
    return json.loads(seed_file.read_text()) if seed_file.exists() else None


# --- loads ----------------------------------------------------------------------------

@dataclass
class Sample:
    start: float
    end: float
    ok: bool
    position: int | None = None


def run_load(base_url: str, clients: int, warmup: float, duration: float, request
             ) -> tuple[list[Sample], float, float]:
    """`clients` threads calling request(http, client, n, rng) -> (ok, position) back to
    back; every sample, when measuring began and when it ended."""
    start = now()
    measure_start, end = start + warmup, start + warmup + duration
    samples: list[list[Sample]] = [[] for _ in range(clients)]

    def client_loop(index: int) -> None:
        http, rng, n = HttpClient(base_url), random.Random(index), 0
        try:
            while (t := now()) < end:
                try:
                    ok, position = request(http, index, n, rng)
                except OSError:
                    ok, position = False, None
                samples[index].append(Sample(t, now(), ok, position))
                n += 1
        finally:
            http.close()

    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [s for client in samples for s in client], measure_start, end


@dataclass
class Result:
    requests: int  # all answered, warm-up included (for CPU per request)
    throughput: float
    errors: int
    p50: float | None
    p95: float | None
    p99: float | None
    cpu: dict[str, float]
    stolen: float = 0.0  # seconds of the machine's processor the hypervisor took meanwhile

    def cpu_ms(self, group: str) -> float | None:
        return self.cpu[group] * 1000 / self.requests if self.requests else None


def summarize(samples: list[Sample], measure_start: float, end: float, cpu: dict,
              stolen: float = 0.0) -> Result:
    measured = [s for s in samples if s.start >= measure_start]
    ok = sorted((s.end - s.start) * 1000 for s in measured if s.ok)
    return Result(requests=len(samples), throughput=len(ok) / (end - measure_start),
                  errors=len(measured) - len(ok), p50=percentile(ok, 50),
                  p95=percentile(ok, 95), p99=percentile(ok, 99), cpu=cpu, stolen=stolen)


def measured(sides: Sides, name: str, base_url: str, clients: int, args, request,
             after=None) -> tuple[Result, list[Sample]]:
    """One load with the CPU of every process around it (`after` runs before the CPU
    is read again: work the load left behind, such as projections catching up)."""
    progress(f"{name}: {clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s")
    before, stolen_before = sides.cpu(), stolen_seconds()
    samples, measure_start, end = run_load(base_url, clients, args.warmup, args.duration,
                                           request)
    stolen = stolen_seconds() - stolen_before
    if after:
        after()
    return summarize(samples, measure_start, end, cpu_delta(before, sides.cpu()),
                     stolen), samples


def arqium_request(method: str, path_of, body_of=None, expect: int = 200):
    def request(http: HttpClient, client: int, n: int, rng: random.Random, key: str):
        body = json.dumps(body_of(client, n, rng)).encode() if body_of else None
        status, headers, _ = http.request(method, path_of(rng), body, key)
        return status == expect, parse_position(headers.get("X-Event-Position"))
    return request


def as_user(users: list[dict], request):
    """Each request as a user drawn at random (with their API key)."""
    return lambda http, client, n, rng: request(http, client, n, rng,
                                                rng.choice(users)["key"])


def peer_get(path_of, users: list[dict]):
    def request(http: HttpClient, client: int, n: int, rng: random.Random):
        status, _, _ = http.request("GET", path_of(rng), None, None,
                                    {"X-Owner": rng.choice(users)["id"]})
        return status == 200, None
    return request


def write_body(run_id: str):
    return lambda client, n, rng: {"content": CONTENT, "key": f"w-{run_id}-{client}-{n}",
                                   "tags": ["bench"]}


RECENT_PATH = "/api/v1/memory/recent?per_page=20"


def search_path(rng) -> str:
    return f"/api/v1/memory/search?mode=hybrid&per_page=10&q={quote(rng.choice(QUERIES))}"


# --- lag ------------------------------------------------------------------------------

class LagSampler(threading.Thread):
    """Polls, in one query every 10 ms, the head of the memory events and the position
    of every memory read model."""

    def __init__(self, database_url: str, names: list[str]):
        super().__init__(daemon=True)
        self.names = names
        self.conn = psycopg.connect(database_url, autocommit=True)
        head, tracked = positions(self.conn, names)
        self.head = Series(head)
        self.tracked = {name: Series(p) for name, p in tracked.items()}
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                head, tracked = positions(self.conn, self.names)
                t = now()
                self.head.observe(t, head)
                for name, p in tracked.items():
                    self.tracked[name].observe(t, p)
                time.sleep(SAMPLE_INTERVAL)
        finally:
            self.conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def lag_p95(commits: list[tuple[float, int]], arrival_of) -> tuple[float | None, int]:
    """p95 of the lag (ms) from each commit to its arrival, and how many never arrived
    (counted as the slowest)."""
    lags, missing = [], 0
    for committed_at, position in commits:
        arrived = arrival_of(position)
        if arrived is None:
            missing += 1
        else:
            lags.append(max(0.0, arrived - committed_at) * 1000)
    lags = sorted(lags) + [float("inf")] * missing
    return percentile(lags, 95), missing


def lags(samples: list[Sample], sampler: LagSampler, watcher: NatsWatcher | None) -> dict:
    """Per read model and NATS: (p95 ms, missing); a commit's time is the earlier of
    its response and the sampler seeing it in the event table."""
    commits = [(min(s.end, sampler.head.reached_at(s.position) or s.end), s.position)
               for s in samples if s.ok and s.position is not None]
    out = {name: lag_p95(commits, series.reached_at)
           for name, series in sampler.tracked.items()}
    if watcher:
        out["NATS"] = lag_p95(commits, watcher.seen().get)
    return out


# --- the run --------------------------------------------------------------------------

def run(args, measure=None) -> dict:
    """ARQIUM and the peers started on the seeded data, `measure` (default: `loads`)
    run on them; its results."""
    ending_on_sigterm()
    data_dir = Path(args.data_dir or Path.home() / ".cache" / "arqium-bench" /
                    f"compare-{args.memories}-{args.users}").resolve()
    if args.fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["ARQIUM_API_PROCESSES"] = str(args.processes)
    from arqium.infra.settings import Settings
    pool_size = Settings.model_fields["db_pool_size"].default
    overflow = Settings.model_fields["db_pool_max_overflow"].default

    seed = seeded(args, data_dir)
    run_dir = data_dir.with_name(data_dir.name + ".run")
    server, peer, results = ArqiumProcess(copy_of(data_dir, run_dir)), None, {}
    progress(f"starting arqium up (data in {run_dir})")
    server.start()
    try:
        users = seed["users"]
        peer = PeerProcess(server.database_url, args.processes, pool_size, overflow)
        sides = Sides(server.process.pid, peer.process.pid, postmaster_pid(run_dir))
        writers = users_with_keys(server.url, args.write_clients, "writer")
        progress("waiting for every memory read model to hold every event")
        wait_for_read_models(server.database_url, 24 * 3600)
        vacuumed(server.database_url)
        results = (measure or loads)(args, server, peer, sides, users, writers)
        results["seed"] = seed
        results["setup"] = {"processes": args.processes, "pool": f"{pool_size}+{overflow}",
                            "cpus": os.cpu_count(), "postgres": postgres_version(
                                server.database_url)}
    finally:
        if peer:
            peer.stop()
        progress("stopping arqium up")
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    return results


def ending_on_sigterm() -> None:
    """SIGTERM (a `timeout`, a cancelled job) ends the run as Ctrl-C does, through its
    `finally`s: the servers it started are stopped, not left running on."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def seeded(args, data_dir: Path) -> dict:
    """The seed of the data directory, seeded (and projected) first if need be: only
    then is ARQIUM started on the seed itself."""
    seed = stored_seed(data_dir)
    if seed is None or not seed["ready"]:
        server = ArqiumProcess(data_dir)
        progress(f"starting arqium up (seeded data in {data_dir})")
        server.start()
        try:
            seed = prepared(args, server)
        finally:
            server.stop()
    progress(f"{seed['memories']} seeded memories of {len(seed['users'])} users")
    return seed


def copy_of(data_dir: Path, run_dir: Path) -> Path:
    """A copy of the seeded data directory for one run: each run starts from the seed
    alone (the writes of earlier runs would otherwise pile up in the read models and
    slow ARQIUM's searches from run to run, never the peer's)."""
    shutil.rmtree(run_dir, ignore_errors=True)
    progress(f"copying the seeded data to {run_dir}")
    # cp -a keeps the owner of PostgreSQL's files (its own system user, when run as root).
    subprocess.run(["cp", "-a", str(data_dir), str(run_dir)], check=True)
    return run_dir


def loads(args, server, peer, sides: Sides, users, writers) -> dict:
    profile = (Profiler(args.profile, server.process.pid, workers_pid(server.process.pid))
               if args.profile else None)

    # Reads first, on a settled system; then the writes, ARQIUM's last: its read models
    # and embeddings go on working long after the load (the lag is measured meanwhile).
    reads = {} if args.writes_only else read_loads(args, server, peer, sides, users,
                                                   profile)
    return {**reads, **writes(args, server, peer, sides, writers, profile)}


def read_loads(args, server, peer, sides: Sides, users, profile) -> dict:
    """Search, recent and working set, each side's."""
    out = {}
    searching = as_user(users, arqium_request("GET", search_path))
    with profiled(profile, "search", args):
        out["ARQIUM search"], _ = measured(sides, "ARQIUM search", server.url,
                                           args.read_clients, args, searching)
    out["peer search"], _ = measured(
        sides, "peer search", peer.url, args.read_clients, args,
        peer_get(lambda rng: f"/search?limit=10&q={quote(rng.choice(QUERIES))}", users))
    with profiled(profile, "recent", args):
        out["ARQIUM recent"], _ = measured(
            sides, "ARQIUM recent", server.url, args.read_clients, args,
            as_user(users, arqium_request("GET", lambda rng: RECENT_PATH)))
    out["peer recent"], _ = measured(
        sides, "peer recent", peer.url, args.read_clients, args,
        peer_get(lambda rng: "/memories/recent", users))
    context = arqium_request("POST", lambda rng: "/api/memory/context",
                             lambda c, n, rng: {"chatId": f"chat-{rng.randint(1, 20)}",
                                                "maxTokens": 2000})
    with profiled(profile, "working-set", args):
        out["ARQIUM working set"], _ = measured(
            sides, "ARQIUM working set", server.url, args.read_clients, args,
            as_user(users, context))
    return out


def writes(args, server, peer, sides: Sides, writers, profile) -> dict:
    """The raw INSERT rate, the peer's writes, ARQIUM's with the lag behind them."""
    run_id, out = uuid.uuid4().hex[:8], {}
    progress(f"raw INSERT: {args.write_clients} connections, {args.duration:g} s")
    out["raw inserts/s"], _ = run_raw_inserts(server.database_url, args.write_clients,
                                              min(args.warmup, 2.0), args.duration)

    out["peer writes"], _ = measured(
        sides, "peer writes", peer.url, args.write_clients, args,
        lambda http, c, n, rng: (http.request(
            "POST", "/memories", json.dumps(write_body(run_id)(c, n, rng)).encode(), None,
            {"X-Owner": writers[c]["id"]})[0] == 201, None))

    sampler = LagSampler(server.database_url, list(MEMORY_READ_MODELS))
    watcher = NatsWatcher(server.nats_url) if server.nats_url else None
    sampler.start()
    if watcher:
        watcher.start()
        watcher.ready.wait(timeout=10)
    caught_up = {}
    store = arqium_request("POST", lambda rng: "/api/v1/memory/store",
                           write_body(run_id), expect=201)
    with profiled(profile, "writes", args):
        out["ARQIUM writes"], samples = measured(
            sides, "ARQIUM writes", server.url, args.write_clients, args,
            lambda http, c, n, rng: store(http, c, n, rng, writers[c]["key"]),
            after=lambda: caught_up.setdefault("s", wait_for_read_models(
                server.database_url, args.catch_up, quiet=True)))
    sampler.stop()
    if watcher:
        positions_sent = {s.position for s in samples if s.ok and s.position}
        deadline = now() + 30
        while now() < deadline and not positions_sent <= watcher.seen().keys():
            time.sleep(0.05)
        watcher.stop()
    out["lag"] = lags(samples, sampler, watcher)
    out["caught up s"] = caught_up["s"]
    return out


def postgres_version(database_url: str) -> str:
    with psycopg.connect(database_url, autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        vector = conn.execute("SELECT extversion FROM pg_extension "
                              "WHERE extname = 'vector'").fetchone()
    return f"{version}, pgvector {vector[0] if vector else 'missing'}"


# --- py-spy ---------------------------------------------------------------------------

class Profiler:
    """py-spy recording ARQIUM's API process, only the thread holding the GIL (the
    Python CPU; idle threads and the event loop's waits left out), and the workers
    process, every thread (the embedding model runs without the GIL): DIR/<load>.txt
    and DIR/<load>-workers.txt. Its samples perturb the figures."""

    def __init__(self, folder: str, api: int, workers: int | None):
        self.folder, self.api, self.workers = Path(folder), api, workers
        self.folder.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, seconds: float) -> list[subprocess.Popen]:
        runs = [(self.api, name, ["--gil"])]
        if self.workers:
            runs.append((self.workers, f"{name}-workers", []))
        return [subprocess.Popen(
            ["py-spy", "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", "200", "--format", "raw", "--threads", "--nonblocking", *options,
             "--output", str(self.folder / f"{label}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid, label, options in runs]


def workers_pid(arqium: int) -> int | None:
    """The `arqium worker all` process `up` started (the projectors and the relay; not
    the embedding workers', which run at the lowest priority in a process of their own)."""
    table = proc_table()
    return next((pid for pid in descendants(table, arqium)
                 if " worker all" in table[pid][3]), None)


class profiled:
    """py-spy over one load, when asked for."""

    def __init__(self, profiler: Profiler | None, name: str, args):
        self.profiler, self.name, self.args, self.processes = profiler, name, args, []

    def __enter__(self):
        if self.profiler:
            seconds = self.args.warmup + self.args.duration
            self.processes = self.profiler.start(self.name, seconds)

    def __exit__(self, *exc):
        for process in self.processes:
            process.wait(timeout=60)


# --- report ---------------------------------------------------------------------------

def fmt(value: float | None, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    return "inf" if value == float("inf") else f"{value:.{digits}f}{suffix}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def verdict(value: float | None, target: float, at_least: bool = False,
            below: bool = False) -> str:
    """Whether `value` meets the target: at least it, below it, or at most it."""
    if value is None:
        return "n/a"
    met = value >= target if at_least else value < target if below else value <= target
    sign = ">=" if at_least else "<" if below else "<="
    return f"{'met' if met else 'NOT met'} ({sign} {target:g})"


def report(r: dict, args) -> str:
    lines = [f"ARQIUM vs peers: {r['seed']['memories']} memories over "
             f"{len(r['seed']['users'])} users; {args.write_clients} writing / "
             f"{args.read_clients} reading clients; {args.warmup:g} s warm-up + "
             f"{args.duration:g} s per load; {r['setup']['processes']} API process(es) "
             "each, "
             f"pool {r['setup']['pool']}; PostgreSQL {r['setup']['postgres']}; "
             f"{r['setup']['cpus']} CPUs shared by clients and servers", ""]
    head = (f"{'load':<20}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'err':>6}"
            f"{'CPU ms/request: server':>25}{'workers+NATS':>14}{'PostgreSQL':>12}"
            f"{'stolen ms':>11}")
    lines += [head, "-" * len(head)]
    for name in ("ARQIUM writes", "peer writes", "ARQIUM search", "peer search",
                 "ARQIUM recent", "peer recent", "ARQIUM working set"):
        if name not in r:  # --writes-only
            continue
        x = r[name]
        server = x.cpu_ms("api") if name.startswith("ARQIUM") else x.cpu_ms("peer")
        workers = ((x.cpu["workers"] + x.cpu["nats"]) * 1000 / x.requests
                   if x.requests else None)
        lines.append(f"{name:<20}{x.throughput:>9.1f}{fmt(x.p50):>9}{fmt(x.p95):>9}"
                     f"{fmt(x.p99):>9}{x.errors:>6}{fmt(server, 2):>25}"
                     f"{fmt(workers, 2) if name.startswith('ARQIUM') else '':>14}"
                     f"{fmt(x.cpu_ms('postgres'), 2):>12}{fmt(x.stolen * 1000, 0):>11}")
    raw = r["raw inserts/s"]
    lines.append(f"{'raw INSERT':<20}{raw:>9.1f}   (single-row commits, "
                 f"{args.write_clients} connections)")
    aw, pw = r["ARQIUM writes"], r["peer writes"]
    rows = [
        ("writes: throughput ARQIUM/peer", ratio(aw.throughput, pw.throughput),
         verdict(ratio(aw.throughput, pw.throughput), TARGETS["write throughput"], True)),
        ("writes: p99 ARQIUM/peer", ratio(aw.p99, pw.p99),
         verdict(ratio(aw.p99, pw.p99), TARGETS["write p99"])),
        ("writes: ARQIUM/raw INSERT", ratio(aw.throughput, raw), ""),
        ("writes: peer/raw INSERT", ratio(pw.throughput, raw), ""),
        ("API CPU ms per write", aw.cpu_ms("api"),
         verdict(aw.cpu_ms("api"), TARGETS["API CPU write ms"])),
    ] + (read_rows(r) if "ARQIUM search" in r else [])
    lines += ["", *(f"{name:<38}{fmt(value, 2):>8}   {note}" for name, value, note in rows)]
    lines += ["", f"lag under ARQIUM's write load, commit -> ... p95 (target < "
                  f"{TARGETS['lag p95 ms']:g} ms; all caught up {r['caught up s']:.1f} s "
                  "after the load ended):"]
    for name, (p95, missing) in r["lag"].items():
        note = (f", {missing} not there {args.catch_up:g} s after the load"
                if missing else "")
        lines.append(f"  {name:<20}{fmt(p95, 0, ' ms'):>10}   "
                     f"{verdict(p95, TARGETS['lag p95 ms'], below=True)}{note}")
    return "\n".join(lines)


def read_rows(r: dict) -> list[tuple[str, float | None, str]]:
    """The read loads' ratios and the API's CPU per search, against the targets."""
    search = ratio(r["ARQIUM search"].p95, r["peer search"].p95)
    recent = ratio(r["ARQIUM recent"].p95, r["peer recent"].p95)
    working = ratio(r["ARQIUM working set"].p95, r["peer search"].p95)
    return [
        ("search: p95 ARQIUM/peer", search, verdict(search, TARGETS["search p95"])),
        ("recent: p95 ARQIUM/peer", recent, verdict(recent, TARGETS["recent p95"])),
        ("working set: p95 / peer search p95", working,
         verdict(working, TARGETS["working set p95"])),
        ("API CPU ms per search", r["ARQIUM search"].cpu_ms("api"),
         verdict(r["ARQIUM search"].cpu_ms("api"), TARGETS["API CPU search ms"])),
    ]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="The seeded data directory is reused: delete it, or pass --fresh, to seed "
               "again. Progress goes to stderr, the report to stdout.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int,
                        help="memories to search over (100000; 10000 with --quick)")
    parser.add_argument("--users", type=int, default=100,
                        help="owners of those memories (100); reads pick one at random")
    parser.add_argument("--write-clients", type=int, default=16,
                        help="concurrent clients of the write loads (16)")
    parser.add_argument("--read-clients", type=int, default=8,
                        help="concurrent clients of search, recent, working set (8)")
    parser.add_argument("--duration", type=float, help="measured seconds per load "
                                                       "(15; 4 with --quick)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per load "
                                                     "(2; 1 with --quick)")
    parser.add_argument("--processes", type=int, default=1,
                        help="API processes of ARQIUM and uvicorn workers of the peer (1)")
    parser.add_argument("--catch-up", type=float, default=120.0,
                        help="how long to wait for ARQIUM's read models after its write "
                             "load before the next load (120 s)")
    parser.add_argument("--quick", action="store_true",
                        help="about a minute: 10k memories (unless --memories), 1 + 4 s "
                             "per load")
    parser.add_argument("--data-dir", help="where the seeded ARQIUM lives (default ~/.cache"
                                           "/arqium-bench/compare-<memories>-<users>)")
    parser.add_argument("--fresh", action="store_true",
                        help="delete that data directory first and seed again")
    parser.add_argument("--profile", metavar="DIR",
                        help="record ARQIUM's API process with py-spy during its write, "
                             "search, recent and working-set loads (raw stacks in DIR; "
                             "perturbs the figures)")
    parser.add_argument("--writes-only", action="store_true",
                        help="only the write loads (raw INSERT, the peer's, ARQIUM's with "
                             "its lag): to compare two versions of the write path")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.memories = args.memories or (10_000 if args.quick else 100_000)
    args.duration = args.duration or (4.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)
    if min(args.memories, args.users, args.write_clients, args.read_clients,
           args.processes) < 1 or args.memories < args.users:
        parser.error("counts must be >= 1, and --memories >= --users")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    results = run(args)
    if args.json:
        print(json.dumps(results, default=vars, indent=2))
    else:
        print(report(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
