"""Benchmark: where a memory write's CPU goes, by process, and what the API serves
alone (issue 20's write ratio, taken apart).

On compare.py's seeded data and servers (ARQIUM's `arqium up` and the CRUD peer, one
PostgreSQL), each round runs three write loads of the same clients and length: the
peer's POST /memories; ARQIUM's POST /api/v1/memory/store with everything running; and
the same with ARQIUM's worker processes stopped (SIGSTOP) for the load, then resumed,
so the API runs alone (the projections and the relay catch up afterwards). It prints
each load's writes/s and the CPU ms per write of every process group.

    python bench/write_budget.py                       # 10k memories, 2 rounds of 8 s
    python bench/write_budget.py --rounds 3 --duration 15
"""

import argparse
import json
import os
import signal
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import compare  # noqa: E402


def worker_processes(arqium: int) -> list[int]:
    """`arqium up`'s worker processes (the projectors and relay, the embedders)."""
    table = compare.proc_table()
    return [pid for pid in compare.descendants(table, arqium)
            if " worker " in table[pid][3]]


class paused:
    """The processes stopped (SIGSTOP) for the block, resumed after it whatever happens."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def __enter__(self):
        for pid in self.pids:
            os.kill(pid, signal.SIGSTOP)

    def __exit__(self, *exc):
        for pid in self.pids:
            os.kill(pid, signal.SIGCONT)


def budget_loads(rounds: int):
    def loads(args, server, peer, sides, users, writers) -> dict:
        run_id, out = uuid.uuid4().hex[:8], {"rounds": []}
        store = compare.arqium_request("POST", lambda rng: "/api/v1/memory/store",
                                       compare.write_body(run_id), expect=201)

        def arqium_writes(http, c, n, rng):
            return store(http, c, n, rng, writers[c]["key"])

        def peer_writes(http, c, n, rng):
            body = json.dumps(compare.write_body(run_id)(c, n, rng)).encode()
            status = http.request("POST", "/memories", body, None,
                                  {"X-Owner": writers[c]["id"]})[0]
            return status == 201, None

        for _ in range(rounds):
            result = {}
            result["peer"], _ = compare.measured(sides, "peer writes", peer.url,
                                                 args.write_clients, args, peer_writes)
            result["ARQIUM"], _ = compare.measured(sides, "ARQIUM writes", server.url,
                                                   args.write_clients, args, arqium_writes)
            compare.wait_for_read_models(server.database_url, args.catch_up, quiet=True)
            with paused(worker_processes(server.process.pid)):
                result["ARQIUM API alone"], _ = compare.measured(
                    sides, "ARQIUM writes, workers stopped", server.url,
                    args.write_clients, args, arqium_writes)
            compare.wait_for_read_models(server.database_url, args.catch_up, quiet=True)
            out["rounds"].append(result)
        return out

    return loads


def report(results: dict) -> str:
    lines = [f"{'load':<18}{'writes/s':>9}{'p99 ms':>8}   CPU ms per write: "
             f"{'API/peer':>8}{'workers':>9}{'NATS':>6}{'PostgreSQL':>11}{'ratio':>7}"]
    for number, result in enumerate(results["rounds"], 1):
        peer = result["peer"]
        lines.append(f"round {number}")
        for name, load in result.items():
            server = load.cpu_ms("peer" if name == "peer" else "api")
            workers = "" if name == "peer" else compare.fmt(
                load.cpu["workers"] * 1000 / load.requests, 2)
            nats = "" if name == "peer" else compare.fmt(
                load.cpu["nats"] * 1000 / load.requests, 2)
            lines.append(f"  {name:<16}{load.throughput:>9.0f}{load.p99:>8.1f}"
                         f"{'':>21}{compare.fmt(server, 2):>8}{workers:>9}{nats:>6}"
                         f"{compare.fmt(load.cpu_ms('postgres'), 2):>11}"
                         f"{load.throughput / peer.throughput:>7.2f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000,
                        help="seeded memories (10000; compare.py's seed is reused)")
    parser.add_argument("--users", type=int, default=10, help="their owners (10)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of three loads (2)")
    parser.add_argument("--duration", type=float, default=8.0,
                        help="measured seconds per load (8)")
    args = parser.parse_args(argv)
    compare_args = compare.parse_args(["--memories", str(args.memories), "--users",
                                       str(args.users), "--duration", str(args.duration)])
    print(report(compare.run(compare_args, measure=budget_loads(args.rounds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
