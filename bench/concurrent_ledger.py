"""Benchmark: N concurrent HTTP requests on ONE ledger object and on ONE chat session
(issue 13 point 6): how many are refused, and whether every accepted one is kept.

Over HTTP against `arqium up` (started here on a temporary data directory unless --url
is given). For each N (default 32 and 64): a fresh ledger object, then N clients (a
thread and a keep-alive connection each, released together) each POST one
`/api/ledger/transactions` without `expectedVersion`; the object is read back once the
read model reached the last accepted one. Target: 0 refused, final version = accepted
+ 1, every client's key in its data. Then the same with N messages appended to a fresh
session: 0 refused, their `seq` 1..N without gaps, `message_count` = N.

    python bench/concurrent_ledger.py
    python bench/concurrent_ledger.py --requests 32 64 128 --api-processes 2
    python bench/concurrent_ledger.py --url http://127.0.0.1:8000   # a running system
"""

import argparse
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from urllib.request import Request, urlopen

from store_memories import HTTP_TIMEOUT, ArqiumProcess, HttpClient, progress, register_users

Send = Callable[[HttpClient, int], tuple[int, dict, bytes]]


def all_at_once(base_url: str, count: int, send: Send) -> list[tuple[int, dict, bytes]]:
    """`count` clients, each connected first, then released together to send one
    request; every (status, headers, body)."""
    start = threading.Barrier(count)

    def one(n: int) -> tuple[int, dict, bytes]:
        client = HttpClient(base_url)
        client.conn = HTTPConnection(client.host, client.port, timeout=HTTP_TIMEOUT)
        try:
            client.conn.connect()  # before the barrier: the requests leave together
            start.wait()
            return send(client, n)
        finally:
            client.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(count) as pool:
        responses = list(pool.map(one, range(count)))
    progress(f"{count} requests answered in {time.perf_counter() - started:.2f} s")
    return responses


def get(base_url: str, path: str, token: str, after: list) -> dict:
    """GET once the read model reached the last accepted request of `after`."""
    headers = {"Authorization": f"Bearer {token}"}
    positions = [h["X-Event-Position"] for status, h, _ in after if status < 300]
    if positions:
        headers["X-Min-Position"] = max(positions, key=lambda p: int(p.rpartition(".")[2]))
    with urlopen(Request(base_url + path, headers=headers), timeout=HTTP_TIMEOUT) as reply:
        return json.load(reply)


def statuses(responses: list) -> str:
    counts = Counter(status for status, _, _ in responses)
    accepted = sum(n for status, n in counts.items() if status < 300)
    others = ", ".join(f"{n} × {status}" for status, n in sorted(counts.items())
                       if status >= 300) or "none"
    return f"{accepted} accepted, refused or failed: {others}"


def ledger_round(base_url: str, token: str, count: int) -> str:
    client = HttpClient(base_url)
    _, _, body = client.post("/api/ledger/objects", {
        "typeName": "contract", "data": {"title": "bench"}}, token)
    client.close()
    object_id = json.loads(body)["object"]["id"]
    responses = all_at_once(base_url, count, lambda c, n: c.post(
        "/api/ledger/transactions",
        {"objectId": object_id, "action": "update", "data": {f"k{n}": n}}, token))
    accepted = sum(status < 300 for status, _, _ in responses)
    stored = get(base_url, f"/api/ledger/objects/{object_id}", token, responses)["object"]
    kept = sum(f"k{n}" in stored["data"] for n in range(count))
    return (f"ledger object, {count} concurrent transactions: {statuses(responses)}; "
            f"final version {stored['version']} (accepted + 1: "
            f"{'yes' if stored['version'] == accepted + 1 else 'NO'}), "
            f"{kept} of {count} keys in its data")


def session_round(base_url: str, token: str, count: int) -> str:
    client = HttpClient(base_url)
    _, _, body = client.post("/api/v1/sessions", {"title": "bench"}, token)
    client.close()
    session_id = json.loads(body)["data"]["id"]
    responses = all_at_once(base_url, count, lambda c, n: c.post(
        f"/api/v1/sessions/{session_id}/messages",
        {"role": "user", "content": f"message {n}"}, token))
    seqs = sorted(json.loads(body)["data"]["seq"] for status, _, body in responses
                  if status < 300)
    stored = get(base_url, f"/api/v1/sessions/{session_id}", token, responses)["data"]
    gapless = seqs == list(range(1, len(seqs) + 1))
    return (f"session, {count} concurrent messages: {statuses(responses)}; "
            f"message_count {stored['message_count']}, seq 1..{len(seqs)} without gaps: "
            f"{'yes' if gapless else 'NO'}")


def run(base_url: str, counts: list[int]) -> None:
    token = register_users(base_url, 1, uuid.uuid4().hex[:8])[0]
    for count in counts:
        print(ledger_round(base_url, token, count), flush=True)
    for count in counts:
        print(session_round(base_url, token, count), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, nargs="+", default=[32, 64],
                        help="concurrent requests per round (default 32 64)")
    parser.add_argument("--api-processes", type=int, default=1,
                        help="ARQIUM_API_PROCESSES of the server started here: above 1, "
                             "clashes between processes are retried too")
    parser.add_argument("--url", help="a running system instead of starting `arqium up`")
    args = parser.parse_args()
    if args.url:
        run(args.url, args.requests)
        return
    os.environ["ARQIUM_API_PROCESSES"] = str(args.api_processes)
    server = ArqiumProcess()
    progress(f"starting arqium up, {args.api_processes} API process(es)")
    try:
        server.start()
        run(server.url, args.requests)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
