"""Benchmark: how many events per second each read model applies, replaying a store of
N events (what a rebuild does, and the ceiling of the live projector: a read model that
applies fewer events per second than the write path stores falls ever further behind).

    python bench/projection_rate.py --memories 20000
    python bench/projection_rate.py --projections memory_items,contexts
    python bench/projection_rate.py --projections ledger_objects --transactions 50000
    python bench/projection_rate.py --cli    # the command itself, start-up counted

It starts its own embedded PostgreSQL on a temporary data directory, stores the events
the chosen read models read (memories through the memory application, owners and words
drawn as a chat memory would be; ledger objects and their transactions through the
ledger application), then rebuilds each named read model from the first event and
prints events/s with the CPU the rebuild and PostgreSQL spent per event. With --cli,
each rebuild is the command `arqium projections rebuild NAME` (a process of its own,
its start-up counted) instead of a call in this process. Progress goes to stderr; the
report to stdout.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import psutil
import psycopg

from arqium.domain.ledger.application import LedgerApplication
from arqium.domain.memory.application import MemoryApplication, MemoryDraft
from arqium.domain.shared import Cause
from arqium.infra.embedded import EmbeddedPostgres
from arqium.infra.eventstore import open_pool, shared_env
from arqium.infra.settings import Settings
from arqium.projections import projection_named
from arqium.system.bootstrap import migrate
from arqium.workers.rebuild import rebuild

WORDS = ("tea coffee garden meeting project deadline sister brother holiday train "
         "painting guitar concert recipe pasta running marathon doctor appointment "
         "birthday present novel chapter screenplay dance contemporary museum camera "
         "hiking mountain river budget invoice client launch release review").split()


BENCH = Cause(actor="bench")
STATUSES = ("draft", "sent", "signed", "paid", "archived")


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def sentence(rng: random.Random) -> str:
    """A chat turn's worth of words, with a rare word or two (names, numbers)."""
    words = rng.choices(WORDS, k=rng.randint(8, 24))
    words.append(f"name{rng.randint(0, 5000)}")
    return " ".join(words)


def store(settings: Settings, memories: int, owners: int, threads: int) -> None:
    pool = open_pool(settings)
    app = MemoryApplication(shared_env(settings, pool))

    def store_some(worker: int) -> None:
        rng = random.Random(worker)
        for number in range(worker, memories, threads):
            app.upsert(f"owner-{number % owners}", MemoryDraft(
                key=f"turn-{number}", content=sentence(rng), layer="permanent",
                tags=[rng.choice(WORDS)]), cause=BENCH)

    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(store_some, range(threads)))
    pool.close()


def store_ledger(settings: Settings, transactions: int, owners: int, threads: int) -> None:
    """Objects (one per 20 transactions) and transactions changing them, as invoices
    going from draft to paid."""
    pool = open_pool(settings)
    app = LedgerApplication(shared_env(settings, pool))
    objects = [app.create_object(f"owner-{number % owners}", "invoice", {
        "amount": Decimal(f"{number}.50"), "status": "draft"}, cause=BENCH)[0]
        for number in range(max(transactions // 20, 1))]

    def transact_some(worker: int) -> None:
        for number in range(worker, transactions, threads):
            chosen = objects[number % len(objects)]
            app.transact(chosen.owner_id, chosen.id, "update", {
                "status": STATUSES[number % len(STATUSES)],
                "amount": Decimal(f"{number}.25")}, {"n": number}, cause=BENCH)

    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(transact_some, range(threads)))
    pool.close()


def cpu_seconds(process: psutil.Process) -> float:
    """The CPU the process and its children (live ones and those reaped) have used."""
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


class ServerCpu:
    """The CPU a server's processes (the postmaster and its children) use while the
    block runs, each read every 20 ms and counted up to its last reading: read only
    before and after, a backend that ended in between, not yet reaped, was counted in
    neither reading (a rebuild's backends end as it does). Read from /proc, a few
    files a time: psutil lists a process's children by reading every process's files,
    in the measured process (the relay, an in-process rebuild) and under its GIL."""

    def __init__(self, server: psutil.Process):
        self.server = server.pid
        self.seconds = 0.0
        # By (pid, start time): a pid may be another process's by the next reading.
        self._first: dict[tuple[int, int], float] = {}
        self._last: dict[tuple[int, int], float] = {}
        self._done = threading.Event()

    def _read(self, first: bool) -> None:
        try:
            children = Path(f"/proc/{self.server}/task/{self.server}/children").read_text()
        except OSError:
            children = ""
        for pid in [self.server, *map(int, children.split())]:
            if (read := _cpu_of(pid)) is not None:
                process, seconds = read
                self._first.setdefault(process, seconds if first else 0.0)
                self._last[process] = seconds

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self._read(first=False)

    def __enter__(self) -> "ServerCpu":
        self._read(first=True)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
        self._read(first=False)
        self.seconds = sum(last - self._first[process]
                           for process, last in self._last.items())


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> tuple[tuple[int, int], float] | None:
    """A process's (pid, start time) and its user and system CPU seconds (None once it
    is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command's name: utime, stime and starttime are the 12th, 13th and 20th.
    return (pid, int(fields[19])), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rebuild_by_command(name: str, settings: Settings) -> int:
    """`arqium projections rebuild NAME`, run as a user runs it; the position it reached."""
    env = {**os.environ, "ARQIUM_DATABASE_URL": settings.database_url or ""}
    done = subprocess.run([sys.executable, "-m", "arqium.cli", "projections", "rebuild",
                           name, "--data-dir", str(settings.data_dir)],
                          env=env, check=True, stdout=subprocess.PIPE, text=True)
    return int(re.search(r"up to position (\d+)", done.stdout).group(1))


def postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=20000, help="events stored (20000)")
    parser.add_argument("--transactions", type=int, default=20000,
                        help="ledger transactions stored, for ledger read models (20000)")
    parser.add_argument("--owners", type=int, default=16, help="distinct owners (16)")
    parser.add_argument("--projections", default="memory_items",
                        help="comma-separated read models to rebuild (memory_items)")
    parser.add_argument("--cli", action="store_true",
                        help="rebuild by `arqium projections rebuild` (start-up counted)")
    args = parser.parse_args()
    chosen = [projection_named(name) for name in args.projections.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="arqium-bench-"))
    postgres = EmbeddedPostgres(data_dir)
    try:
        settings = Settings(database_url=postgres.start(), data_dir=data_dir)
        migrate(settings)
        started = time.perf_counter()
        if any(p.application is MemoryApplication for p in chosen):
            progress(f"storing {args.memories} memories of {args.owners} owners")
            store(settings, args.memories, args.owners, threads=4)
        if any(p.application is LedgerApplication for p in chosen):
            progress(f"storing {args.transactions} ledger transactions")
            store_ledger(settings, args.transactions, args.owners, threads=4)
        progress(f"stored in {time.perf_counter() - started:.1f} s")
        # Autovacuum would otherwise clean up after the store during the first rebuild,
        # and count in PostgreSQL's CPU per event.
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        server, bench = postmaster(postgres.pgdata), psutil.Process()
        print(f"{'read model':<20} {'events':>8} {'seconds':>8} {'events/s':>9} "
              f"{'µs CPU/event: rebuild':>22} {'PostgreSQL':>11}")
        for projection in chosen:
            started = time.perf_counter()
            own_before = cpu_seconds(bench)
            with ServerCpu(server) as server_cpu:
                position = (rebuild_by_command(projection.name, settings) if args.cli
                            else rebuild(projection, settings, show_progress=True))
            seconds = time.perf_counter() - started
            own = cpu_seconds(bench) - own_before
            print(f"{projection.name:<20} {position:>8} {seconds:>8.1f} "
                  f"{position / seconds:>9.0f} {own * 1e6 / position:>22.0f} "
                  f"{server_cpu.seconds * 1e6 / position:>11.0f}", flush=True)
        return 0
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
