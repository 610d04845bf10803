"""`arqium up`'s worker process, as the scheduler and the terminal see it."""

import os

from arqium.cli.run import WorkerProcess


def test_the_workers_share_ups_session_in_a_process_group_of_their_own(settings):
    """Ctrl-C at a terminal reaches only `up` (the workers are not in its process group),
    while the workers stay in `up`'s session, which Linux's autogroup schedules as one:
    only there does the embedding threads' lower priority yield to the API's requests."""
    workers = WorkerProcess(settings)
    workers.start()
    try:
        pid = workers._process.pid
        assert os.getsid(pid) == os.getsid(0)
        assert os.getpgid(pid) == pid != os.getpgid(0)
    finally:
        workers.stop()
