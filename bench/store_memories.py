"""Benchmark: N concurrent HTTP clients storing memories against `arqium up`.

In the same run it measures the raw single-row INSERT commit rate of the same
PostgreSQL at the same concurrency (the physical limit), and reports requests/s,
p50/p95/p99 latency, the ratio to the raw rate, and the lag from command commit
to the read model and to NATS delivery. An event's commit time is the earlier of
its 201 response arriving and a sampler (polling every ~2 ms) seeing it in the event
table; the lag from the response alone is reported too.

Targets: ratio >= 0.3 at 16 clients, p95 lag < 100 ms.

    python bench/store_memories.py --clients 16 --duration 10
    python bench/store_memories.py --url http://127.0.0.1:8000 \
        --database-url postgresql://... --nats-url nats://127.0.0.1:4222

By default it starts `arqium up` on a temporary data directory and stops it at the
end. Progress goes to stderr; the report (or --json) to stdout.
"""

import argparse
import asyncio
import bisect
import http.client
import itertools
import json
import math
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0
CATCH_UP_TIMEOUT = 10.0
SAMPLE_INTERVAL = 0.002
MAX_RUN_SECONDS = 600.0  # bound for --requests runs
APPLICATION = "memory"
NATS_SUBJECT = "arqium.memory.>"
POSITIONS_QUERY = ("SELECT (SELECT max(notification_id) FROM memory_events), "
                   "(SELECT max(notification_id) FROM memory_items_tracking "
                   "WHERE application_name = %s)")
RAW_TABLE = "bench_raw"
CONTENT = "benchmark memory: the quick brown fox jumps over the lazy dog " * 2
TARGET_RATIO = 0.3
TARGET_LAG_MS = 100.0

now = time.perf_counter


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- statistics --------------------------------------------------------------------

def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary_ms(seconds: list[float]) -> dict:
    """p50/p95/p99 (and count) of durations given in seconds, in milliseconds."""
    values = sorted(s * 1000 for s in seconds)
    return {"count": len(values),
            **{f"p{p}": percentile(values, p) for p in (50, 95, 99)}}


# --- arqium up as a subprocess -----------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_nats_password(nats_url: str | None, data_dir: Path) -> str | None:
    """The embedded NATS URL with the password `arqium up` generated (its start-up line
    shows the user only)."""
    credentials = data_dir / "nats" / "credentials.json"
    if not nats_url or not credentials.exists():
        return nats_url
    secret = json.loads(credentials.read_text())
    host = nats_url.split("@", 1)[-1].removeprefix("nats://")
    return f"nats://{secret['user']}:{secret['password']}@{host}"


class ArqiumProcess:
    """`arqium up` on a temporary data directory (or on `data_dir`, which is kept);
    stdout+stderr drained in a thread."""

    def __init__(self, data_dir: Path | None = None):
        self.temporary = data_dir is None
        self.data_dir = (data_dir or Path(tempfile.mkdtemp(prefix="arqium-bench-"))).resolve()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = self.nats_url = None
        self.process: subprocess.Popen | None = None
        self.tail: deque[str] = deque(maxlen=200)
        self.problems: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("ARQIUM_DATABASE_URL", "ARQIUM_NATS_URL")}
        # The bench measures the write path, not the per-user limits of seed 000.
        env["ARQIUM_RATE_LIMITS"] = "off"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arqium.cli", "up", "--data-dir", str(self.data_dir),
             "--port", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, env=env, start_new_session=True)
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_until_ready()
        self.nats_url = with_nats_password(self.nats_url, self.data_dir)

    def _drain(self) -> None:
        """Keep reading the server's output so it never blocks on a full pipe."""
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            if any(word in line for word in (" ERROR ", " WARNING ", "Traceback", " CRITICAL ")):
                self.problems.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_until_ready(self) -> None:
        deadline = now() + READY_TIMEOUT
        while (left := deadline - now()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError("arqium up exited before it was ready:\n" + self.log_tail())
            parts = line.split()
            if line.startswith("arqium: postgres") and len(parts) > 2:
                self.database_url = parts[2]
            elif line.startswith("arqium: nats") and len(parts) > 2:
                self.nats_url = parts[2]
            elif line.startswith("arqium: ready"):
                return
        raise RuntimeError(f"arqium up not ready after {READY_TIMEOUT:.0f} s:\n"
                           + self.log_tail())

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(list(self.tail)[-lines:])

    def stop(self) -> None:
        """SIGINT, wait; on timeout kill it and anything left under our data dir."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                progress("arqium up did not stop in time; killing it")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                reap_leftovers(self.data_dir)
        if self.temporary:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def reap_leftovers(data_dir: Path) -> None:
    """Kill the processes that mention our (unique) data directory: postgres, workers."""
    postmaster = data_dir / "postgres" / "postmaster.pid"
    if postmaster.exists():
        try:
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGQUIT)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            pass
    marker = str(data_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            mentions = (marker in (entry / "cmdline").read_bytes()
                        or marker in (entry / "environ").read_bytes())
            if mentions:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


# --- HTTP ----------------------------------------------------------------------------

class HttpClient:
    """One keep-alive connection (http.client: the leanest client in the stdlib)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, token: str | None = None
             ) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("POST", path, json.dumps(body).encode(), token)

    def get(self, path: str, token: str | None = None, headers: dict | None = None
            ) -> tuple[int, http.client.HTTPMessage, bytes]:
        return self.request("GET", path, None, token, headers)

    def request(self, method: str, path: str, body: bytes | None, token: str | None,
                headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.headers, response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def register_users(base_url: str, count: int, run_id: str) -> list[str]:
    """One user per client; returns their access tokens."""
    client, tokens = HttpClient(base_url), []
    try:
        for i in range(count):
            status, _, body = client.post("/api/v1/auth/register", {
                "email": f"bench-{run_id}-{i}@example.com",
                "password": "bench-password", "name": f"bench client {i}"})
            if status != 201:
                raise RuntimeError(f"register failed: {status} {body[:300]!r}")
            tokens.append(json.loads(body)["data"]["access_token"])
    finally:
        client.close()
    return tokens


@dataclass
class Request:
    start: float
    end: float
    status: int  # 0: connection error
    position: int | None


@dataclass
class LoadPlan:
    """When measuring starts and stops; with `requests`, a shared ticket counter."""
    measure_start: float
    end: float
    requests: int | None = None
    tickets: itertools.count = field(default_factory=itertools.count)

    def keep_going(self, t: float) -> bool:
        if t >= self.end:
            return False
        if self.requests is None or t < self.measure_start:
            return True
        return next(self.tickets) < self.requests


def store_loop(base_url: str, token: str, client_id: int, run_id: str, plan: LoadPlan,
               out: list[Request]) -> None:
    """One client: store memories back to back until the plan says stop."""
    client = HttpClient(base_url)
    try:
        for n in itertools.count():
            start = now()
            if not plan.keep_going(start):
                break
            body = {"content": CONTENT, "key": f"bench-{run_id}-{client_id}-{n}",
                    "tags": ["bench"]}
            try:
                status, headers, _ = client.post("/api/v1/memory/store", body, token)
            except (OSError, http.client.HTTPException):
                out.append(Request(start, now(), 0, None))
                continue
            out.append(Request(start, now(), status,
                               parse_position(headers.get("X-Event-Position"))))
    finally:
        client.close()


def parse_position(token: str | None) -> int | None:
    """The notification id in an X-Event-Position token of the memory application."""
    if not token:
        return None
    app, _, number = token.rpartition(".")
    return int(number) if app == APPLICATION and number.isdigit() else None


def run_http_load(base_url: str, tokens: list[str], run_id: str, warmup: float,
                  duration: float | None, requests: int | None) -> tuple[list[Request], float]:
    """All clients at once; returns every request (warm-up included) and when
    measuring began."""
    start = now()
    plan = LoadPlan(start + warmup, start + warmup + (duration or MAX_RUN_SECONDS), requests)
    results: list[list[Request]] = [[] for _ in tokens]
    threads = [threading.Thread(target=store_loop, daemon=True,
                                args=(base_url, token, i, run_id, plan, results[i]))
               for i, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, plan.end - now()) + HTTP_TIMEOUT + 5)
    return [r for client in results for r in client], plan.measure_start


# --- read model and NATS observers ---------------------------------------------------

class Series:
    """A non-decreasing position observed over time, kept only where it changed."""

    def __init__(self, position: int):
        self.latest = position
        self.times: list[float] = []
        self.positions: list[int] = []

    def observe(self, t: float, position: int) -> None:
        if position != self.latest:
            self.times.append(t)
            self.positions.append(position)
            self.latest = position

    def reached_at(self, position: int) -> float | None:
        """When the position was first seen at or past `position`."""
        i = bisect.bisect_left(self.positions, position)
        return self.times[i] if i < len(self.times) else None


class TrackingSampler(threading.Thread):
    """Polls, in one query every ~2 ms, the head of the event table (what is
    committed) and the read model's tracking position (what is projected)."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.conn = psycopg.connect(database_url, autocommit=True)
        committed, projected = self._read()
        self.committed, self.projected = Series(committed), Series(projected)
        self.stopping = threading.Event()
        self.error: Exception | None = None

    def _read(self) -> tuple[int, int]:
        committed, projected = self.conn.execute(POSITIONS_QUERY, (APPLICATION,)).fetchone()
        return committed or 0, projected or 0

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                committed, projected = self._read()
                t = now()
                self.committed.observe(t, committed)
                self.projected.observe(t, projected)
                time.sleep(SAMPLE_INTERVAL)
        except Exception as error:  # reported, not raised: the load still counts
            self.error = error
        finally:
            self.conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


class NatsWatcher(threading.Thread):
    """A core NATS subscriber on its own event loop; records raw arrivals cheaply and
    parses them later, so it steals little CPU during the load."""

    def __init__(self, nats_url: str):
        super().__init__(daemon=True)
        self.nats_url = nats_url
        self.arrivals: list[tuple[float, bytes]] = []
        self.ready = threading.Event()
        self.error: Exception | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._seen: dict[int, float] = {}
        self._parsed = 0

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as error:
            self.error = error
        finally:
            self.ready.set()

    async def _main(self) -> None:
        import nats

        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        nc = await nats.connect(self.nats_url, connect_timeout=5, max_reconnect_attempts=5,
                                allow_reconnect=True, name="arqium-bench")

        async def arrived(msg) -> None:
            self.arrivals.append((now(), msg.data))

        try:
            await nc.subscribe(NATS_SUBJECT, cb=arrived)
            await nc.flush()
            self.ready.set()
            await self._stop_event.wait()
        finally:
            await nc.close()

    def seen(self) -> dict[int, float]:
        """position -> first arrival time, for everything received so far."""
        count = len(self.arrivals)
        for t, data in self.arrivals[self._parsed:count]:
            try:
                self._seen.setdefault(int(json.loads(data)["position"]), t)
            except (ValueError, KeyError, TypeError):
                pass
        self._parsed = count
        return self._seen

    def stop(self) -> None:
        if self._loop is not None and self._stop_event is not None:
            self._loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=10)


def wait_until(condition, timeout: float) -> bool:
    deadline = now() + timeout
    while now() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def lags(commits: list[tuple[float, int]], arrival_of) -> tuple[list[float], int]:
    """Lag (s, clamped at 0) per commit, and how many never arrived."""
    found, missing = [], 0
    for committed_at, position in commits:
        arrived = arrival_of(position)
        if arrived is None:
            missing += 1
        else:
            found.append(max(0.0, arrived - committed_at))
    return found, missing


# --- raw PostgreSQL baseline ---------------------------------------------------------

def raw_insert_loop(database_url: str, start: float, measure_start: float, end: float,
                    counts: list[int], slot: int, errors: list[str]) -> None:
    """Single-row INSERTs, each its own committed transaction, on one connection."""
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while (t := now()) < start:
                time.sleep(min(0.01, start - t))
            sql, payload = f"INSERT INTO {RAW_TABLE}(payload) VALUES (%s)", (CONTENT,)
            while (t := now()) < end:
                conn.execute(sql, payload)
                if t >= measure_start:
                    counts[slot] += 1
    except Exception as error:
        errors.append(repr(error))


def durability_settings(database_url: str) -> dict[str, str]:
    """The settings that decide what a commit costs (context for the raw rate)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0]
                for name in ("fsync", "synchronous_commit", "wal_sync_method")}


def run_raw_inserts(database_url: str, clients: int, warmup: float,
                    duration: float) -> tuple[float, list[str]]:
    """Raw INSERT commits/s at `clients` concurrent connections (table made and dropped)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        conn.execute(f"CREATE TABLE {RAW_TABLE} (id bigserial PRIMARY KEY, payload text)")
    counts, errors = [0] * clients, []
    start = now() + 1.0  # time for every connection to open
    measure_start, end = start + warmup, start + warmup + duration
    threads = [threading.Thread(target=raw_insert_loop, daemon=True,
                                args=(database_url, start, measure_start, end, counts, i,
                                      errors))
               for i in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=end - now() + 30)
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
    return sum(counts) / duration, errors


# --- the run ---------------------------------------------------------------------------

def measure(args: argparse.Namespace, url: str, database_url: str | None,
            nats_url: str | None) -> dict:
    """Everything the report needs, against a running system."""
    run_id = uuid.uuid4().hex[:8]
    progress(f"registering {args.clients} users")
    tokens = register_users(url, args.clients, run_id)

    sampler = TrackingSampler(database_url) if database_url else None
    watcher = NatsWatcher(nats_url) if nats_url else None
    if sampler:
        sampler.start()
    if watcher:
        watcher.start()
        watcher.ready.wait(timeout=10)

    what = f"{args.requests} requests" if args.requests else f"{args.duration:g} s"
    progress(f"HTTP load: {args.clients} clients, {args.warmup:g} s warm-up + {what}")
    cpu_before = time.process_time()
    requests, measure_start = run_http_load(url, tokens, run_id, args.warmup,
                                            None if args.requests else args.duration,
                                            args.requests)
    result, ok = summarize_load(requests, measure_start, args.clients)
    # The bench's own CPU (all its threads) during warm-up + load: the client's share.
    result["client_cpu_s"] = time.process_time() - cpu_before
    progress("waiting for the read model and NATS to catch up")
    result |= observe_lags(sampler, watcher, [(r.end, r.position) for r in ok])

    if database_url:
        raw_seconds = args.duration if not args.requests else max(result["elapsed_s"], 1.0)
        progress(f"raw INSERT baseline: {args.clients} connections, {raw_seconds:g} s")
        raw_rate, raw_errors = run_raw_inserts(database_url, args.clients,
                                               min(args.warmup, 2.0), raw_seconds)
        result["raw_inserts_per_s"] = raw_rate
        result["raw_errors"] = raw_errors
        result["postgres_durability"] = durability_settings(database_url)
        result["ratio_to_raw"] = result["throughput_rps"] / raw_rate if raw_rate else None
    else:
        result["raw_inserts_per_s"] = result["ratio_to_raw"] = None
    result["targets_met"] = targets_met(result)
    return result


def summarize_load(requests: list[Request], measure_start: float, clients: int
                   ) -> tuple[dict, list[Request]]:
    """Throughput, latency and errors of the measured requests; and the good ones."""
    measured = [r for r in requests if r.start >= measure_start]
    ok = [r for r in measured if r.status == 201 and r.position is not None]
    elapsed = (max(r.end for r in measured) - measure_start) if measured else 0.0
    result = {"clients": clients, "requests": len(measured), "ok": len(ok),
              "elapsed_s": elapsed,
              "throughput_rps": len(ok) / elapsed if elapsed else 0.0,
              "latency_ms": summary_ms([r.end - r.start for r in ok]),
              "errors": len(measured) - len(ok),
              "error_statuses": dict(Counter(
                  str(r.status) if r.status != 201 else "no position" for r in measured
                  if r.status != 201 or r.position is None)),
              "warmup_requests": len(requests) - len(measured)}
    return result, ok


def targets_met(r: dict) -> dict:
    """Which targets this run met (None: not measured)."""
    def lag_ok(lag: dict | None) -> bool | None:
        if not lag or lag["p95"] is None:
            return None
        return lag["p95"] < TARGET_LAG_MS and lag["missing"] == 0
    ratio = r["ratio_to_raw"]
    return {"ratio_to_raw": None if ratio is None else ratio >= TARGET_RATIO,
            "lag_read_model_p95": lag_ok(r["lag_read_model_ms"]),
            "lag_nats_p95": lag_ok(r["lag_nats_ms"])}


def observe_lags(sampler: TrackingSampler | None, watcher: NatsWatcher | None,
                 responses: list[tuple[float, int]]) -> dict:
    """Wait (bounded) for the read model and NATS to catch up, then the lags of each
    event from its commit: the earlier of its 201 response and the sampler seeing it
    in the event table (under load the response can trail the commit by a lot).
    The `*_from_response` figures use the response time alone."""
    positions = {p for _, p in responses}
    last = max(positions, default=0)
    if sampler:
        wait_until(lambda: sampler.projected.latest >= last or not sampler.is_alive(),
                   CATCH_UP_TIMEOUT)
        sampler.stop()
    if watcher:
        wait_until(lambda: positions <= watcher.seen().keys() or not watcher.is_alive(),
                   CATCH_UP_TIMEOUT)
        watcher.stop()
    commits = [(min(t, (sampler.committed.reached_at(p) if sampler else None) or t), p)
               for t, p in responses]
    result = {}
    for name, observer, arrival_of in (
            ("read_model", sampler, sampler and sampler.projected.reached_at),
            ("nats", watcher, watcher and watcher.seen().get)):
        result[f"lag_{name}_ms"] = lag_summary(commits, observer, arrival_of)
        result[f"lag_{name}_from_response_ms"] = lag_summary(responses, observer, arrival_of)
    return result


def lag_summary(commits, observer, arrival_of) -> dict | None:
    if observer is None:
        return None
    found, missing = lags(commits, arrival_of)
    return {**summary_ms(found), "missing": missing,
            "error": repr(observer.error) if observer.error else None}


# --- report ----------------------------------------------------------------------------

def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_p(figures: dict | None) -> str:
    """p50 / p95 / p99 ms."""
    if figures is None:
        return "n/a"
    return " / ".join(fmt(figures[k]) for k in ("p50", "p95", "p99")) + " ms"


def fmt_lag(lag: dict | None) -> str:
    if lag is None:
        return "n/a (not measured)"
    text = fmt_p(lag)
    text += f" (missing: {lag['missing']}"
    return text + (f", observer error: {lag['error']})" if lag["error"] else ")")


def report(r: dict) -> str:
    met = r["targets_met"]
    rows = [
        ("clients", str(r["clients"])),
        ("requests", f"{r['requests']} in {r['elapsed_s']:.1f} s "
                     f"(+{r['warmup_requests']} warm-up)"),
        ("throughput", f"{r['throughput_rps']:.1f} req/s"),
        ("latency p50/p95/p99", fmt_p(r["latency_ms"])),
        ("raw INSERT commits/s", f"{fmt(r['raw_inserts_per_s'])} ({r['clients']} "
                                 f"connection{'s' if r['clients'] != 1 else ''}, "
                                 "same PostgreSQL"
                                 + durability(r.get("postgres_durability")) + ")"),
        ("ratio to raw", f"{fmt(r['ratio_to_raw'], 2)} (target >= {TARGET_RATIO:.2f}"
                         f"{verdict(met['ratio_to_raw'])})"),
        ("lag to read model p50/p95/p99", fmt_lag(r["lag_read_model_ms"])
         + lag_target(met["lag_read_model_p95"])),
        ("lag to NATS p50/p95/p99", fmt_lag(r["lag_nats_ms"])
         + lag_target(met["lag_nats_p95"])),
        ("  from 201 response instead", "read model " + fmt_p(
            r["lag_read_model_from_response_ms"]) + "; NATS "
         + fmt_p(r["lag_nats_from_response_ms"])),
        ("errors", str(r["errors"]) + (f" {r['error_statuses']}" if r["errors"] else "")),
        ("bench client CPU", f"{r['client_cpu_s']:.1f} s during warm-up + load "
                             f"({os.cpu_count()} CPUs shared with the server)"),
    ]
    if r.get("raw_errors"):
        rows.append(("raw INSERT errors", "; ".join(r["raw_errors"][:3])))
    if r.get("server_log_problems"):
        rows.append(("server log problems", f"{len(r['server_log_problems'])} lines, "
                                            f"first: {r['server_log_problems'][0]}"))
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{value}" for name, value in rows)


def durability(settings: dict | None) -> str:
    return "".join(f", {k}={v}" for k, v in (settings or {}).items())


def verdict(met: bool | None) -> str:
    return "" if met is None else (": met" if met else ": NOT met")


def lag_target(met: bool | None) -> str:
    return "" if met is None else f" [target p95 < {TARGET_LAG_MS:.0f} ms{verdict(met)}]"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="measured seconds (10); ignored with --requests")
    parser.add_argument("--requests", type=int,
                        help="measured requests in total instead of a duration")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument("--url", help="an already running API, e.g. http://127.0.0.1:8000 "
                                      "(default: start `arqium up` here)")
    parser.add_argument("--database-url", help="its PostgreSQL (with --url): raw "
                                               "baseline and read-model lag")
    parser.add_argument("--nats-url", help="its NATS (with --url): NATS lag")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0 or args.warmup < 0 or (
            args.requests is not None and args.requests < 1):
        parser.error("--clients and --requests must be >= 1, --duration > 0, --warmup >= 0")
    for name in ("url", "database_url", "nats_url"):
        value = getattr(args, name)
        if value and not is_loopback(value):
            parser.error(f"--{name.replace('_', '-')} must point at this machine (loopback)")
    return args


def is_loopback(url: str) -> bool:
    """Loopback host or a unix socket (a postgres URL with host=/path)."""
    host = urlsplit(url).hostname
    if host is None:
        return True  # unix socket: postgresql://user@/db?host=/path
    return host in ("localhost", "::1") or host.startswith("127.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = None
    try:
        if args.url:
            url, database_url, nats_url = args.url.rstrip("/"), args.database_url, args.nats_url
        else:
            server = ArqiumProcess()
            progress(f"starting arqium up (data in {server.data_dir}, port {server.port})")
            server.start()
            url, database_url, nats_url = server.url, server.database_url, server.nats_url
        result = measure(args, url, database_url, nats_url)
        if server:
            result["server_log_problems"] = list(server.problems)
    finally:
        if server:
            progress("stopping arqium up")
            server.stop()
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
