"""Drill: the API killed (SIGKILL) under keyed write load; every request is retried
under its Idempotency-Key until it gets an answer.

Starts its own PostgreSQL and NATS, runs `arqium migrate` and one `arqium serve`;
`--clients` HTTP clients each store memories (one key each) and apply ledger
transactions to an object of their own, every request with its own Idempotency-Key,
retried on a refused or broken connection, a 5xx or a 409 "still being answered". The
API is killed `--kills` times, `--every` seconds apart, and started again. Then it
prints: requests answered, retries, answers rebuilt from the event store, memories and
transactions stored once / twice / never, keys still unanswered. Target: nothing twice,
nothing lost, no stuck key, every request answered (issue 13, point 3).

    python bench/idempotency_kills.py
    python bench/idempotency_kills.py --clients 8 --kills 5 --every 4
"""

import argparse
import http.client
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

from arqium.domain.memory.domainmodel import memory_id_for
from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port

READY_TIMEOUT = 120.0
RETRY_PAUSE = 0.2


def progress(message: str) -> None:
    print(f"drill: {message}", file=sys.stderr, flush=True)


def call(port: int, path: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, json.dumps(body),
                     {"Content-Type": "application/json", **headers})
        response = conn.getresponse()
        return (response.status, json.loads(response.read() or b"{}"),
                {k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()


class Api:
    """One `arqium serve`, killed and started again on the same port."""

    def __init__(self, env: dict[str, str]):
        self.env, self.port = env, free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arqium.cli", "serve", "--port", str(self.port)],
            env=self.env, start_new_session=True, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ping")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the API did not start")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=60)


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter = Counter()
        self.memories: list = []  # ids of the memories acknowledged
        self.transactions: Counter = Counter()  # acknowledged, per ledger object

    def add(self, **counts: int) -> None:
        with self.lock:
            self.counts.update(counts)


def answered(api: Api, path: str, body: dict, headers: dict, tally: Tally) -> tuple:
    """The request's answer, retried under its key until there is one."""
    while True:
        try:
            status, data, got = call(api.port, path, body, headers)
        except OSError:
            tally.add(retries=1, connection_errors=1)
            time.sleep(RETRY_PAUSE)
            continue
        if status >= 500 or status == 409 and "still being answered" in json.dumps(data):
            tally.add(retries=1, **{f"status_{status}": 1})
            time.sleep(RETRY_PAUSE)
            continue
        tally.add(answered=1, rebuilt=got.get("idempotent-replayed") == "true")
        return status, data


def client(number: int, api: Api, until: float, tally: Tally) -> None:
    email = f"c{number}@example.com"
    _, body = answered(api, "/api/v1/auth/register", {
        "email": email, "password": "correct horse", "name": "C"},
        {"Idempotency-Key": f"register-{number}"}, tally)
    token, user_id = body["data"]["access_token"], body["data"]["user"]["id"]
    auth = {"Authorization": f"Bearer {token}"}
    _, created = answered(api, "/api/ledger/objects", {
        "typeName": "account", "data": {"step": 0}},
        {**auth, "Idempotency-Key": f"object-{number}"}, tally)
    object_id = created["object"]["id"]
    n = 0
    while time.monotonic() < until:
        n += 1
        key = f"c{number}-m{n}"
        status, _ = answered(api, "/api/v1/memory/store", {"key": key, "content": key},
                             {**auth, "Idempotency-Key": key}, tally)
        if status == 201:
            with tally.lock:
                tally.memories.append(memory_id_for(user_id, key))
        status, _ = answered(api, "/api/ledger/transactions", {
            "objectId": object_id, "action": "update", "data": {"step": n}},
            {**auth, "Idempotency-Key": f"c{number}-t{n}"}, tally)
        if status == 200:
            with tally.lock:
                tally.transactions[object_id] += 1


def stored_versions(database_url: str, table: str, ids: list) -> dict:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(f"SELECT originator_id, count(*) FROM {table} "
                            "WHERE originator_id = ANY(%s) GROUP BY 1", (ids,)).fetchall()
    return {str(originator): count for originator, count in rows}


def report(database_url: str, tally: Tally) -> str:
    memories = stored_versions(database_url, "memory_events", tally.memories)
    objects = stored_versions(database_url, "ledger_events", list(tally.transactions))
    twice = sum(1 for count in memories.values() if count > 1)
    never = sum(1 for memory in tally.memories if str(memory) not in memories)
    extra = sum(max(0, objects.get(str(o), 0) - 1 - acked)
                for o, acked in tally.transactions.items())
    lost = sum(max(0, 1 + acked - objects.get(str(o), 0))
               for o, acked in tally.transactions.items())
    with psycopg.connect(database_url) as conn:
        stuck = conn.execute("SELECT count(*) FROM idempotent_responses "
                             "WHERE status IS NULL").fetchone()[0]
    counts = tally.counts
    causes = [f"{counts['connection_errors']} connection errors", *(
        f"{v} answered {k.removeprefix('status_')}" for k, v in sorted(counts.items())
        if k.startswith("status_"))]
    return "\n".join([
        (f"requests answered: {counts['answered']} (after {counts['retries']} retries: "
         f"{', '.join(causes)})"),
        f"answers repeated from the store (Idempotent-Replayed): {counts['rebuilt']}",
        f"memories acknowledged {len(tally.memories)}: stored twice {twice}, never {never}",
        (f"transactions acknowledged {sum(tally.transactions.values())}: "
         f"stored twice {extra}, never {lost}"),
        f"keys still unanswered: {stuck}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6, help="HTTP clients (default 6)")
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs (default 3)")
    parser.add_argument("--every", type=float, default=3.0,
                        help="seconds of load between kills (default 3)")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="arqium-drill-idempotency-"))
    postgres, nats = EmbeddedPostgres(data_dir), EmbeddedNats(data_dir)
    api = None
    try:
        database_url, nats_url = postgres.start(), nats.start()
        env = {**os.environ, "ARQIUM_DATABASE_URL": database_url,
               "ARQIUM_NATS_URL": nats_url, "ARQIUM_DATA_DIR": str(data_dir),
               "ARQIUM_RATE_LIMITS": "off", "ARQIUM_JWT_SECRET": "drill-" + "0" * 32,
               "ARQIUM_PASSWORD_HASH_TIME_COST": "1",
               "ARQIUM_PASSWORD_HASH_MEMORY_KIB": "1024"}
        subprocess.run([sys.executable, "-m", "arqium.cli", "migrate"], env=env, check=True)
        api = Api(env)
        api.start()
        tally = Tally()
        until = time.monotonic() + args.every * (args.kills + 1)
        threads = [threading.Thread(target=client, args=(n, api, until, tally))
                   for n in range(args.clients)]
        for thread in threads:
            thread.start()
        for kill in range(1, args.kills + 1):
            time.sleep(args.every)
            progress(f"kill -9 number {kill}")
            api.kill()
            api.start()
        for thread in threads:
            thread.join()
        print(report(database_url, tally))
        return 0
    finally:
        if api is not None:
            api.stop()
        nats.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
