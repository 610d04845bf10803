"""Advisory locks: what one process's workers see of the locks other sessions hold."""

import time

from arqium.infra.locks import HELD_CHECK_SECONDS, REBUILD, AdvisoryLocks


def test_each_worker_sees_the_locks_other_sessions_hold_on_its_own_key(database):
    workers, rebuild = AdvisoryLocks(database), AdvisoryLocks(database)
    try:
        wanted, other = workers.of("memory_items:memory"), workers.of("contexts:memory")
        rebuild.of("memory_items:memory").acquire(REBUILD)
        assert wanted.held_elsewhere(REBUILD) and not other.held_elsewhere(REBUILD)
        # A lock the process holds itself is not held elsewhere.
        workers.of("vaults:memory").acquire(REBUILD)
        time.sleep(HELD_CHECK_SECONDS)
        assert not workers.of("vaults:memory").held_elsewhere(REBUILD)
        rebuild.of("memory_items:memory").release(REBUILD)
        # One look serves every worker for a moment; the next one sees the release.
        time.sleep(HELD_CHECK_SECONDS)
        assert not wanted.held_elsewhere(REBUILD)
    finally:
        workers.close()
        rebuild.close()
