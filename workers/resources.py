"""What the workers of one process share, so that the process holds few connections
whatever the number of workers (README, "Connections")."""

from contextlib import ExitStack
from typing import Any, Self

from arqium.infra.eventstore import open_pool, shared_env
from arqium.infra.listener import Listener
from arqium.infra.locks import AdvisoryLocks
from arqium.infra.settings import Settings


class WorkerResources:
    """One connection pool for every application and read model of the workers (its
    env routes them to it), one connection holding all their advisory locks, one
    LISTEN connection waking all their feeds."""

    def __init__(self, settings: Settings):
        self.settings = settings
        with ExitStack() as opened:  # closes what opened if the next one fails
            self.pool: Any = open_pool(settings)
            opened.callback(self.pool.close)
            self.env = shared_env(settings, self.pool)
            self.locks = AdvisoryLocks(settings.database_url or "")
            opened.callback(self.locks.close)
            self.listener = Listener(settings.database_url or "")
            opened.pop_all()

    def close(self) -> None:
        self.listener.close()
        self.locks.close()
        self.pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
