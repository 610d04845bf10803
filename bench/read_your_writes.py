"""Benchmark: what reading your own writes by default costs, under write load.

16 clients store memories back to back (the write benchmark's load) while reader clients
each store a memory of their own and then read: `GET /api/v1/memory/recent` and
`GET /api/v1/memory/search?mode=hybrid`, by default (the query waits until the read
models hold every event stored before it began) and with `X-Consistency: eventual` (no
wait). It prints, per read and consistency, p50/p95 latency, how many answered 503 (the
wait's bound passed) and, for eventual reads, how many missed the reader's own memory.

    python bench/read_your_writes.py --writers 16 --readers 4 --duration 20

It starts `arqium up` on a temporary data directory (see store_memories.py).
Progress goes to stderr; the report to stdout.
"""

import argparse
import itertools
import json
import sys
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from store_memories import (
    ArqiumProcess,
    HttpClient,
    LoadPlan,
    now,
    percentile,
    progress,
    register_users,
    store_loop,
)

READS = {
    "recent": "/api/v1/memory/recent?limit=20",
    "search": "/api/v1/memory/search?mode=hybrid&limit=10&q=",
}
# Eventual first: after a default read waited, an eventual one would always be fresh.
CONSISTENCIES = {"eventual": {"X-Consistency": "eventual"}, "default": {}}


@dataclass
class Reads:
    """Each (read, consistency)'s latencies, 503s and misses of the reader's own write."""
    seconds: dict = field(default_factory=lambda: defaultdict(list))
    unavailable: dict = field(default_factory=lambda: defaultdict(int))
    missed: dict = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: tuple[str, str], seconds: float, status: int, found: bool) -> None:
        with self.lock:
            if status == 503:
                self.unavailable[name] += 1
            elif status == 200:
                self.seconds[name].append(seconds)
                self.missed[name] += not found


def read_loop(base_url: str, token: str, reader: int, plan: LoadPlan, reads: Reads) -> None:
    """Store a memory with a word of its own, then read it back every way; repeat."""
    client = HttpClient(base_url)
    try:
        for n in itertools.count():
            if not plan.keep_going(now()):
                break
            word = f"zq{reader}x{n}{uuid.uuid4().hex[:6]}"
            status, _, _ = client.post("/api/v1/memory/store",
                                       {"content": f"reader note {word}", "key": word}, token)
            if status not in (200, 201):
                continue
            for (read, path), (consistency, headers) in itertools.product(
                    READS.items(), CONSISTENCIES.items()):
                target = path + word if read == "search" else path
                started = now()
                status, _, body = client.get(target, token, headers)
                if now() >= plan.measure_start:
                    found = status == 200 and word in body.decode()
                    reads.add((read, consistency), now() - started, status, found)
    finally:
        client.close()


def run(base_url: str, writers: int, readers: int, warmup: float, duration: float
        ) -> tuple[Reads, int, float]:
    run_id = uuid.uuid4().hex[:8]
    progress(f"registering {writers} writers and {readers} readers")
    tokens = register_users(base_url, writers + readers, run_id)
    start = now()
    plan = LoadPlan(start + warmup, start + warmup + duration)
    writes: list[list] = [[] for _ in range(writers)]
    reads = Reads()
    threads = [threading.Thread(target=store_loop, daemon=True,
                                args=(base_url, tokens[i], i, run_id, plan, writes[i]))
               for i in range(writers)]
    threads += [threading.Thread(target=read_loop, daemon=True,
                                 args=(base_url, tokens[writers + i], i, plan, reads))
                for i in range(readers)]
    progress(f"{writers} writers and {readers} readers: {warmup:.0f} s warm-up + "
             f"{duration:.0f} s")
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = sum(1 for client in writes for r in client
                 if r.status in (200, 201) and r.start >= plan.measure_start)
    return reads, stored, duration


def latencies_ms(reads: Reads, name: tuple[str, str]) -> list[float]:
    return sorted(seconds * 1000 for seconds in reads.seconds[name])


def report(reads: Reads, stored: int, duration: float) -> str:
    lines = [f"writes (16-client load)   {stored / duration:.1f} stored/s",
             f"{'read':<8} {'consistency':<12} {'reads':>6} {'p50 ms':>8} {'p95 ms':>8} "
             f"{'503':>5} {'own write missed':>17}"]
    for read, consistency in itertools.product(READS, CONSISTENCIES):
        name = (read, consistency)
        values = latencies_ms(reads, name)
        p50, p95 = percentile(values, 50), percentile(values, 95)
        lines.append(f"{read:<8} {consistency:<12} {len(values):>6} "
                     f"{p50 or 0:>8.1f} {p95 or 0:>8.1f} {reads.unavailable[name]:>5} "
                     f"{reads.missed[name]:>17}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=16, help="writing clients (16)")
    parser.add_argument("--readers", type=int, default=4, help="reading clients (4)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured (20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    server = ArqiumProcess()
    progress(f"starting arqium up (data in {server.data_dir}, port {server.port})")
    try:
        server.start()
        reads, stored, duration = run(server.url, args.writers, args.readers, args.warmup,
                                      args.duration)
    finally:
        progress("stopping arqium up")
        server.stop()
    if args.json:
        print(json.dumps({"stored_per_second": stored / duration, "reads": {
            f"{read}/{consistency}": {
                "count": len(reads.seconds[(read, consistency)]),
                "p50_ms": percentile(latencies_ms(reads, (read, consistency)), 50),
                "p95_ms": percentile(latencies_ms(reads, (read, consistency)), 95),
                "unavailable": reads.unavailable[(read, consistency)],
                "missed": reads.missed[(read, consistency)]}
            for read, consistency in itertools.product(READS, CONSISTENCIES)}}))
    else:
        print(report(reads, stored, duration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
