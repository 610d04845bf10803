"""Benchmark: the PostgreSQL connections ARQIUM holds, idle and under load.

Starts its own PostgreSQL (stock max_connections) and NATS, runs `arqium migrate`, then
`--apis` API processes (`arqium serve`, one port each) and one `arqium worker all`, each
with its own application_name (PGAPPNAME), and samples pg_stat_activity every 10 ms:
first while idle, then while HTTP clients write (memories, session messages, ledger
transactions) and read their own writes through every API process. It prints each
process's peak and the peak of their sum. Target: one API process and the workers
hold at most 25 (README, "Connections").

    python bench/connections.py                 # one API process
    python bench/connections.py --apis 3 --clients 12 --idle 5 --load 20
"""

import argparse
import http.client
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
from collections import Counter
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from arqium.infra.embedded import DATABASE, EmbeddedNats, EmbeddedPostgres, free_port

BUDGET = 25
READY_TIMEOUT = 90.0
SAMPLE_SECONDS = 0.01
COUNT_BY_PROCESS = ("SELECT application_name, count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend' GROUP BY 1")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Sampler:
    """Peak connections per process (application_name) and of their sum, per phase."""

    def __init__(self, admin_url: str):
        self.phase = "idle"
        self.peaks: dict[str, Counter] = {}
        self._admin_url = admin_url
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with psycopg.connect(self._admin_url, autocommit=True) as conn:  # not counted
            while not self._stopping.wait(SAMPLE_SECONDS):
                counts = dict(conn.execute(COUNT_BY_PROCESS, (DATABASE,)).fetchall())
                counts["total"] = sum(counts.values())
                peaks = self.peaks.setdefault(self.phase, Counter())
                for name, count in counts.items():
                    peaks[name] = max(peaks[name], count)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def start_processes(args: argparse.Namespace, env: dict[str, str]
                    ) -> tuple[list[subprocess.Popen], list[int]]:
    ports = [free_port() for _ in range(args.apis)]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "arqium.cli", "serve", "--port", str(port)],
        env={**env, "PGAPPNAME": f"api-{n}"}, start_new_session=True)
        for n, port in enumerate(ports, 1)]
    processes.append(subprocess.Popen([sys.executable, "-m", "arqium.cli", "worker", "all"],
                                      env={**env, "PGAPPNAME": "workers"},
                                      start_new_session=True))
    return processes, ports


def call(port: int, method: str, path: str, body: dict | None = None,
         token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, json.dumps(body) if body else None, headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def wait_until_healthy(ports: list[int]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    for port in ports:
        while True:
            try:
                if call(port, "GET", "/api/v1/health")[1]["data"]["status"] == "healthy":
                    break
            except (OSError, KeyError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the API on port {port} is not healthy")
            time.sleep(0.2)


def client(number: int, ports: list[int], until: float, statuses: Counter) -> None:
    """One user writing to every context and reading its own writes, round robin over
    the API processes."""
    port = itertools.cycle(ports)
    _, body = call(next(port), "POST", "/api/v1/auth/register", {
        "email": f"c{number}@example.com", "password": "correct horse", "name": "C"})
    token = body["data"]["access_token"]
    _, session = call(next(port), "POST", "/api/v1/sessions", {"title": "bench"}, token)
    _, ledger = call(next(port), "POST", "/api/ledger/objects",
                     {"typeName": "contract", "data": {"amount": number}}, token)
    for n in itertools.count():
        if time.monotonic() > until:
            return
        for method, path, request in (
                ("POST", "/api/v1/memory/store", {"key": f"k{n}", "content": f"note {n}"}),
                ("POST", f"/api/v1/sessions/{session['data']['id']}/messages",
                 {"role": "user", "content": f"m{n}"}),
                ("POST", "/api/ledger/transactions", {
                    "objectId": ledger["object"]["id"], "action": "update",
                    "data": {"step": n}}),
                ("GET", "/api/v1/memory/recent", None)):
            try:
                statuses[call(next(port), method, path, request, token)[0]] += 1
            except OSError as error:
                statuses[type(error).__name__] += 1


def run_load(args: argparse.Namespace, ports: list[int]) -> Counter:
    statuses: Counter = Counter()
    until = time.monotonic() + args.load
    threads = [threading.Thread(target=client, args=(n, ports, until, statuses))
               for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def report(args: argparse.Namespace, sampler: Sampler, statuses: Counter,
           max_connections: str) -> str:
    names = sorted({name for peaks in sampler.peaks.values() for name in peaks} - {"total"})
    lines = [f"PostgreSQL max_connections = {max_connections}; {args.apis} API process(es) "
             f"+ `arqium worker all`; {args.clients} clients for {args.load:g} s",
             f"{'connections (peak)':<22}{'idle':>8}{'load':>8}"]
    for name in [*names, "total"]:
        idle, load = (sampler.peaks.get(phase, Counter())[name] for phase in ("idle", "load"))
        lines.append(f"{name:<22}{idle:>8}{load:>8}")
    lines.append(f"requests: {dict(statuses)}")
    if args.apis == 1:
        worst = max(peaks["total"] for peaks in sampler.peaks.values())
        lines.append(f"budget {BUDGET}: {'met' if worst <= BUDGET else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apis", type=int, default=1, help="API processes (default 1)")
    parser.add_argument("--clients", type=int, default=8, help="HTTP clients (default 8)")
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds (default 5)")
    parser.add_argument("--load", type=float, default=15.0, help="load seconds (default 15)")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="arqium-bench-connections-"))
    postgres, nats = EmbeddedPostgres(data_dir), EmbeddedNats(data_dir)
    processes: list[subprocess.Popen] = []
    try:
        database_url, nats_url = postgres.start(), nats.start()
        env = {**os.environ, "ARQIUM_DATABASE_URL": database_url, "ARQIUM_NATS_URL": nats_url,
               "ARQIUM_DATA_DIR": str(data_dir), "ARQIUM_RATE_LIMITS": "off",
               "ARQIUM_JWT_SECRET": "bench-" + "0" * 32,  # one for every API process
               "ARQIUM_PASSWORD_HASH_TIME_COST": "1", "ARQIUM_PASSWORD_HASH_MEMORY_KIB": "1024"}
        subprocess.run([sys.executable, "-m", "arqium.cli", "migrate"], env=env, check=True)
        admin_url = make_conninfo(database_url, dbname="postgres")
        with psycopg.connect(admin_url) as conn:
            max_connections = conn.execute("SHOW max_connections").fetchone()[0]
        sampler = Sampler(admin_url)
        processes, ports = start_processes(args, env)
        wait_until_healthy(ports)
        progress(f"idle for {args.idle:g} s")
        time.sleep(args.idle)
        sampler.phase = "load"
        progress(f"{args.clients} clients for {args.load:g} s")
        statuses = run_load(args, ports)
        time.sleep(1.0)  # the workers catch up
        sampler.stop()
        print(report(args, sampler, statuses, max_connections))
        return 0
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=60)
        nats.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
