"""What application tests of concurrency share: commands released together, from one
API process or from two."""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from eventsourcing.application import Application

from arqium.domain.shared import Conflict


@pytest.fixture(params=[1, 2], ids=["one_process", "two_processes"])
def processes(request, system, clock) -> Iterator[Callable[[Application], list]]:
    """processes(app): that application of one API process, or of two on one database
    (a second application stands for another process: its commands do not take turns
    with ours, so their clashes are retried)."""
    opened = []

    def of(application: Application) -> list[Application]:
        others = [type(application)(system.env, clock=clock)
                  for _ in range(request.param - 1)]
        opened.extend(others)
        return [application, *others]

    yield of
    for other in opened:
        other.close()


def at_once(count: int, command: Callable) -> list:
    """command(n) from `count` threads released together; each result, or the conflict
    it raised."""
    start = Barrier(count)

    def run(n: int):
        start.wait()
        try:
            return command(n)
        except Conflict as refused:
            return refused

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))
