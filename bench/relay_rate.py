"""Benchmark: how many events per second the NATS relay publishes when it catches up
(issue 20's "NATS relay catch-up >= 20k events/s"): what a relay back from a NATS outage,
or started on an existing event store, does.

    python bench/relay_rate.py                   # 20,000 memory events
    python bench/relay_rate.py --events 50000

It starts its own embedded PostgreSQL and NATS on a temporary data directory, stores the
memory events through the memory application (no relay running), then starts the relay
worker alone and times it from its start until the stream holds every event (its start-up
counted), and prints the CPU the relay's process, NATS and PostgreSQL spent per event.
Progress goes to stderr; the report to stdout.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
from projection_rate import ServerCpu, cpu_seconds, postmaster, progress, store

from arqium.domain.memory.application import MemoryApplication
from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres
from arqium.infra.eventstore import open_pool, shared_env
from arqium.infra.settings import Settings
from arqium.system.bootstrap import migrate, open_relay_tracking
from arqium.workers.runner import WorkerGroup


def relayed(settings: Settings, timeout: float) -> tuple[int, float, float]:
    """The memory application's events, the seconds from the relay's start until it
    recorded the last of them, and until it recorded its first batch."""
    pool = open_pool(settings)
    env = shared_env(settings, pool)
    head = MemoryApplication(env).recorder.max_notification_id() or 0
    tracking = open_relay_tracking(env)
    group = WorkerGroup(["nats_relay"], settings)
    started, first = time.perf_counter(), None
    group.start()
    try:
        while (done := tracking.max_tracking_id("memory") or 0) < head:
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"the relay published {done} of {head} in {timeout:.0f} s")
            if done and first is None:
                first = time.perf_counter() - started
            # Not too often: this process is the relay's too, and each look takes its
            # share of the interpreter.
            time.sleep(0.05)
        end = time.perf_counter() - started
        return head, end, first or end
    finally:
        group.stop()
        pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20000, help="memory events (20000)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds at most")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="arqium-bench-"))
    postgres, nats = EmbeddedPostgres(data_dir), EmbeddedNats(data_dir)
    try:
        settings = Settings(database_url=postgres.start(), nats_url=nats.start(),
                            data_dir=data_dir)
        migrate(settings)
        progress(f"storing {args.events} memory events")
        store(settings, args.events, owners=16, threads=4)
        progress("relaying them")
        nats_server = psutil.Process(int(nats.pid_file.read_text()))
        processes = (psutil.Process(), nats_server)
        cpu_before = [cpu_seconds(process) for process in processes]
        with ServerCpu(postmaster(postgres.pgdata)) as postgres_used:
            events, seconds, first = relayed(settings, args.timeout)
        relay_cpu, nats_cpu = ((cpu_seconds(process) - before) * 1e6 / events
                               for process, before in zip(processes, cpu_before,
                                                          strict=True))
        postgres_cpu = postgres_used.seconds * 1e6 / events
        print(f"relay catch-up: {events} events in {seconds:.2f} s = "
              f"{events / seconds:.0f} events/s (start-up included; the first batch was "
              f"recorded {first:.2f} s after the start)")
        print(f"CPU per event: relay {relay_cpu:.0f} µs, NATS {nats_cpu:.0f} µs, "
              f"PostgreSQL {postgres_cpu:.0f} µs")
        return 0
    finally:
        nats.stop()
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
