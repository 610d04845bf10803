"""`arqium up`'s worker processes, as the scheduler and the terminal see them."""

import os
import signal
from pathlib import Path

import psutil
import pytest

from arqium.cli.run import chosen_workers, restart_pause, worker_processes
from tests.conftest import eventually

KNOWN = ["memory_items", "memory_embeddings", "contexts", "nats_relay"]


def niceness_of_group(pid: int) -> int | None:
    """The nice value of the process's autogroup (None where Linux has none)."""
    path = Path(f"/proc/{pid}/autogroup")
    return int(path.read_text().split("nice")[1]) if path.exists() else None


def threads_policies(pid: int) -> set[int]:
    """The scheduling policies of the process's threads."""
    return of_its_threads(pid, os.sched_getscheduler)


def threads_niceness(pid: int) -> set[int]:
    """The nice values of the process's threads."""
    return of_its_threads(pid, lambda thread: os.getpriority(os.PRIO_PROCESS, thread))


def of_its_threads(pid: int, read) -> set[int]:
    """What `read` gives for each thread (by its id) of the process."""
    return {read(int(thread)) for thread in os.listdir(f"/proc/{pid}/task")}


@pytest.fixture
def processes(settings):
    started = worker_processes(settings)
    for process in started:
        process.start()
    yield {process.label: process for process in started}
    for process in started:
        process.stop()


def test_the_projectors_share_ups_session_in_a_process_group_of_their_own(processes):
    """Ctrl-C at a terminal reaches only `up` (the workers are not in its process group),
    while the projectors stay in `up`'s session, which Linux's autogroup schedules as
    one with the API."""
    pid = processes["workers"]._process.pid
    assert os.getsid(pid) == os.getsid(0)
    assert os.getpgid(pid) == pid != os.getpgid(0)
    assert "--except" in processes["workers"].arguments


def test_the_embedding_workers_run_alone_at_the_lowest_priority(processes):
    """In a session of their own (out of reach of Ctrl-C too), whose scheduling group,
    like each of their threads, has nice 19 once started, the threads under the idle
    policy: they take only time nothing else wants, and yield it at once."""
    embeddings = processes["embeddings"]
    pid = embeddings._process.pid
    assert os.getsid(pid) == pid != os.getsid(0)
    assert embeddings.arguments[:2] == ["memory_embeddings", "document_chunk_embeddings"]
    assert eventually(lambda: threads_niceness(pid) == {19}, 20)
    assert eventually(lambda: threads_policies(pid) == {os.SCHED_IDLE}, 5)
    assert threads_policies(processes["workers"]._process.pid) == {os.SCHED_OTHER}
    if niceness_of_group(0) is not None:
        assert niceness_of_group(pid) == 19
        assert niceness_of_group(os.getpid()) == 0


def test_workers_are_chosen_by_name_all_and_except():
    assert chosen_workers(["all"], ["memory_embeddings"], KNOWN) == [
        "memory_items", "contexts", "nats_relay"]
    assert chosen_workers(["nats_relay", "memory_items"], [], KNOWN) == [
        "nats_relay", "memory_items"]
    with pytest.raises(SystemExit, match="no worker left"):
        chosen_workers(["contexts"], ["contexts"], KNOWN)


def test_a_worker_process_killed_outright_is_started_again_at_once_then_after_pauses(
        processes, capsys):
    """Killed once, the projectors' process is replaced without a pause (its read models
    lag the least); ended again soon after its start, after a pause (a crash loop)."""
    workers = processes["workers"]
    first = workers._process.pid
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: workers._process.pid != first, 10)
    second = workers._process.pid
    os.kill(second, signal.SIGKILL)
    assert eventually(lambda: workers._process.pid != second, 10)
    assert psutil.Process(workers._process.pid).status() != psutil.STATUS_ZOMBIE
    restarts = [line for line in capsys.readouterr().out.splitlines()
                if "exited with -9" in line]
    assert restarts[0].endswith("exited with -9; restarting")
    assert "restarting in 1 s (it ended 2 times in a row" in restarts[1]


def test_restarts_pause_more_the_more_often_a_worker_ends_soon_after_its_start():
    assert [restart_pause(n) for n in range(1, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
