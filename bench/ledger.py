"""Benchmark: the ledger's bulk load, replay and verification (issue 5's figures).

Against `arqium up` (started here on a temporary data directory) it creates O objects
and then T transactions through the ledger Application from 16 threads (the real command
path: aggregate versions, hash chain, group commit; each thread owns its objects, so no
transaction waits on another), and reports events/s stored next to the raw single-row
INSERT commit rate of the same PostgreSQL at the same concurrency. Once the live
workers have caught up it measures:

- replay: `arqium projections rebuild ledger_objects` (every event into a fresh read
  model, then swapped in), events/s, process start included;
- verify, server-side path: every event read from the store (`ledger.entries()`) and
  its hash recomputed (`chain.verify`), events/s;
- verify, offline path: an NDJSON export written, then `verify_file` on it, events/s;
- a ledger digest sealed from scratch (every head read and checked).

Targets: replay and verify of 100,000 events each under 20 s.

    python bench/ledger.py --objects 1000 --transactions 100000
    python bench/ledger.py --objects 50 --transactions 2000      # a quick run
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from store_memories import ArqiumProcess, progress, run_raw_inserts

THREADS = 16
RAW_SECONDS = 5.0
CATCH_UP_TIMEOUT = 1800.0
TARGET_SECONDS = 20.0
STATUSES = ("draft", "sent", "signed", "paid", "archived")
REPLAYED = "ledger_objects"
now = time.perf_counter


def create_objects(system, count: int) -> tuple[list, float]:
    """`count` objects from THREADS threads; their ids and the seconds it took."""
    from arqium.domain.shared import Cause

    def create(n: int):
        created, _ = system.ledger.create_object(f"owner-{n % THREADS}", "contract", {
            "amount": Decimal(f"{n}.50"), "status": "draft"}, cause=Cause(actor="bench"))
        return created.id

    started = now()
    with ThreadPoolExecutor(THREADS) as pool:
        ids = list(pool.map(create, range(count)))
    return ids, now() - started


def transact_all(system, ids: list, count: int) -> float:
    """`count` transactions, thread k on the objects k, k + THREADS, ...; seconds."""
    def run(thread: int) -> None:
        from arqium.domain.shared import Cause

        owned = ids[thread::THREADS]
        for n in range(thread, count, THREADS):
            object_id = owned[(n // THREADS) % len(owned)]
            system.ledger.transact(f"owner-{thread}", object_id, "update", {
                "status": STATUSES[n % len(STATUSES)], "amount": Decimal(f"{n}.25")},
                {"n": n}, cause=Cause(actor="bench"))
            if thread == 0 and n and n % (500 * THREADS) == 0:
                progress(f"~{n} of {count} transactions")

    started = now()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(run, range(min(THREADS, len(ids)))))
    return now() - started


def wait_for_workers(system) -> float:
    """Until the live ledger projection (when there is one) and the NATS relay reached
    the head, so the timings below do not share the CPU with them; seconds waited."""
    head = system.ledger.recorder.max_notification_id() or 0
    started = now()
    while now() - started < CATCH_UP_TIMEOUT:
        relayed = system.relay_tracking.max_tracking_id("ledger") or 0
        projected = (system.views[REPLAYED].position("ledger") if REPLAYED in system.views
                     else head)
        if relayed >= head and projected >= head:
            break
        progress(f"waiting for the workers: projected {projected}, relayed {relayed} "
                 f"of {head}")
        time.sleep(2)
    return now() - started


def replay(server: ArqiumProcess, system) -> str:
    if REPLAYED not in system.views:
        return f"skipped: there is no {REPLAYED} projection"
    events = system.ledger.recorder.max_notification_id() or 0
    env = {**os.environ, "ARQIUM_DATABASE_URL": server.database_url,
           "ARQIUM_NATS_URL": server.nats_url}
    started = now()
    subprocess.run([sys.executable, "-m", "arqium.cli", "projections", "rebuild", REPLAYED,
                    "--no-progress"], env=env, check=True, stdout=subprocess.DEVNULL)
    return rate(events, now() - started)


def verify_stored(system) -> tuple[dict, float]:
    from arqium.domain.ledger import chain

    started = now()
    result = chain.verify(system.ledger.entries())
    return result, now() - started


def verify_http(server: ArqiumProcess, system) -> tuple[dict, float]:
    """`GET /api/v1/ledger/verify` as an admin: the result and its duration."""
    import json
    import urllib.request

    from arqium.domain.shared import Cause
    from arqium.system.bootstrap import make_admin

    make_admin(system, "bench-auditor@example.com", "bench-password",
               cause=Cause(actor="bench"))
    login = urllib.request.Request(
        f"{server.url}/api/v1/auth/login", method="POST",
        data=json.dumps({"email": "bench-auditor@example.com",
                         "password": "bench-password"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(login) as response:
        token = json.load(response)["data"]["access_token"]
    request = urllib.request.Request(f"{server.url}/api/v1/ledger/verify",
                                     headers={"Authorization": f"Bearer {token}"})
    started = now()
    with urllib.request.urlopen(request, timeout=600) as response:
        result = json.load(response)["data"]
    return result, now() - started


def verify_export(system, directory: Path) -> tuple[dict, float, float]:
    """Export to a file, then verify the file offline; the result and both durations."""
    from arqium.infra.ledger_audit import export_lines, verify_file

    path = directory / "ledger.ndjson"
    started = now()
    with path.open("w") as file:
        file.writelines(export_lines(system.ledger.entries()))
    exported = now() - started
    started = now()
    result = verify_file(path)
    return result, exported, now() - started


def seal_from_scratch(system) -> float:
    from arqium.domain.ledger.digest import seal_digest
    from arqium.domain.shared import Cause

    started = now()
    seal_digest(system.ledger, system.clock(), cause=Cause(actor="bench"))
    return now() - started


def rate(events: int, seconds: float, target: bool = True) -> str:
    text = f"{events} events in {seconds:.1f} s = {events / seconds:,.0f} events/s"
    if target:
        met = "met" if seconds < TARGET_SECONDS else "NOT met"
        text += f" (target < {TARGET_SECONDS:.0f} s: {met})"
    return text


def run(args: argparse.Namespace, server: ArqiumProcess) -> None:
    from arqium.infra.settings import Settings
    from arqium.system.bootstrap import open_system

    system = open_system(Settings(database_url=server.database_url, jwt_secret="b" * 40))
    try:
        progress(f"creating {args.objects} objects")
        ids, create_seconds = create_objects(system, args.objects)
        progress(f"{args.transactions} transactions from {THREADS} threads")
        transact_seconds = transact_all(system, ids, args.transactions)
        progress(f"raw INSERT baseline: {THREADS} connections, {RAW_SECONDS:g} s")
        raw_rate, raw_errors = run_raw_inserts(server.database_url, THREADS, 1.0, RAW_SECONDS)
        waited = wait_for_workers(system)
        events = system.ledger.recorder.max_notification_id() or 0
        print(f"{'objects created':<32} {rate(args.objects, create_seconds, False)}")
        print(f"{'transactions stored':<32} "
              f"{rate(args.transactions, transact_seconds, False)} "
              f"({THREADS} threads, {args.objects} objects)")
        print(f"{'raw INSERT commits/s':<32} {raw_rate:,.0f} ({THREADS} connections, same "
              f"PostgreSQL{', errors: ' + raw_errors[0] if raw_errors else ''}); "
              f"ratio {args.transactions / transact_seconds / raw_rate:.2f}")
        print(f"{'live workers caught up':<32} {waited:.1f} s after the load")
        progress("replay")
        print(f"{'replay (rebuild ' + REPLAYED + ')':<32} {replay(server, system)}")
        progress("verify, server-side path")
        stored, seconds = verify_stored(system)
        print(f"{'verify: store + chain':<32} {rate(stored['checked_events'], seconds)}"
              f"{'' if stored['ok'] else ' FAILED: ' + str(stored['first_failure'])}")
        progress("verify, GET /api/v1/ledger/verify")
        served, seconds = verify_http(server, system)
        print(f"{'verify: GET /ledger/verify':<32} {rate(served['checked_events'], seconds)}"
              f"{'' if served['ok'] else ' FAILED: ' + str(served['first_failure'])}")
        with tempfile.TemporaryDirectory() as directory:
            progress("export and offline verify")
            offline, exported, seconds = verify_export(system, Path(directory))
        same = "same digest" if offline.get("digest") == stored.get("digest") else "DIGESTS DIFFER"
        print(f"{'export (NDJSON)':<32} {rate(offline['checked_events'], exported, False)}")
        print(f"{'verify: offline, file':<32} {rate(offline['checked_events'], seconds)} "
              f"({same})")
        print(f"{'digest sealed from scratch':<32} {seal_from_scratch(system):.1f} s "
              f"({events} events in the log)")
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--transactions", type=int, default=100_000)
    args = parser.parse_args()
    if args.objects < 1 or args.transactions < 1:
        parser.error("--objects and --transactions must be >= 1")
    server = ArqiumProcess()
    try:
        progress(f"starting arqium up (data in {server.data_dir})")
        server.start()
        run(args, server)
        if server.problems:
            print(f"{'server log problems':<32} {len(server.problems)} lines, first: "
                  f"{server.problems[0]}")
    finally:
        progress("stopping arqium up")
        server.stop()


if __name__ == "__main__":
    main()
