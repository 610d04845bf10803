"""Commands per second straight through the memory Application (no HTTP), with and
without group commit, on an embedded PostgreSQL: what the write path itself can do, and
its CPU per command in this process (PostgreSQL's not counted).

    python bench/append_commands.py --threads 16 --commands 200
    python bench/append_commands.py --threads 1 --commands 2000 --keyless  # no key: no read
"""

import argparse
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.shared import Cause
from arqium.infra.embedded import EmbeddedPostgres
from arqium.infra.settings import Settings
from arqium.system.bootstrap import migrate, open_system


def commands_per_second(settings: Settings, threads: int, commands: int,
                        keyless: bool = False) -> tuple[float, float]:
    """Each thread stores `commands` new memories (under new keys, or none); returns
    the overall rate and the CPU ms per command."""
    system = open_system(settings)
    try:
        def work(_: int) -> None:
            for _ in range(commands):
                draft = MemoryDraft(key=None if keyless else uuid.uuid4().hex, content="x")
                system.memory.upsert("bench", draft, cause=Cause(actor="bench"))

        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(work, range(threads)))
        count = threads * commands
        return (count / (time.perf_counter() - started),
                (time.process_time() - cpu) * 1000 / count)
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--commands", type=int, default=200, help="per thread")
    parser.add_argument("--keyless", action="store_true",
                        help="store without keys (a new memory each, nothing to read)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        postgres = EmbeddedPostgres(Path(data_dir))
        url = postgres.start()
        try:
            migrate(Settings(database_url=url, jwt_secret="b" * 40))
            for group_commit in (False, True):
                settings = Settings(database_url=url, jwt_secret="b" * 40,
                                    group_commit=group_commit)
                rate, cpu_ms = commands_per_second(settings, args.threads, args.commands,
                                                   args.keyless)
                label = "group commit" if group_commit else "one transaction each"
                print(f"{label:<22} {args.threads:>3} threads  {rate:8.1f} commands/s  "
                      f"{cpu_ms:5.2f} ms CPU each")
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
