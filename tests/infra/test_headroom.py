"""Work that can wait leaves a share of the machine idle: its pace by what the rest of
the machine uses (pause_after), and real readings of a machine kept busy."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from arqium.infra.headroom import LEAST_DUTY, PAUSE_BUDGET_SECONDS, Headroom, pause_after

WORKED = 0.02


def pause(others_share: float, headroom: float = 0.1, cores: int = 2, threads: int = 2,
          waited: float = 0.0) -> float:
    """The pause after WORKED seconds of processor that took WORKED + waited to get."""
    return pause_after(WORKED, WORKED + waited, others_share, headroom, cores, threads)


def test_on_an_idle_machine_the_work_pauses_only_for_the_headroom():
    # 2 cores, 2 threads, nothing else running: each thread may work 90 % of its time.
    assert pause(0.0) == pytest.approx(WORKED / 0.9 - WORKED)


def test_the_busier_the_rest_of_the_machine_the_longer_the_pause():
    pauses = [pause(others) for others in (0.0, 0.3, 0.6, 0.8)]
    assert pauses == sorted(pauses) and len(set(pauses)) == 4
    # Half the machine busy elsewhere: 0.4 of it (0.8 of a core) left to two threads.
    assert pause(0.5) == pytest.approx(WORKED / 0.4 - WORKED)


def test_however_busy_the_machine_the_work_goes_on_at_its_least_duty():
    for others in (0.9, 1.0):
        assert pause(others) == pytest.approx(WORKED / LEAST_DUTY - WORKED)


def test_the_time_the_work_waited_for_a_processor_counts_as_its_pause():
    assert pause(0.5, waited=0.01) == pytest.approx(pause(0.5) - 0.01)
    assert pause(0.0, waited=1.0) == 0


def test_no_headroom_and_a_machine_left_idle_is_no_pause():
    assert pause(0.0, headroom=0.0) == 0
    assert pause(0.2, cores=4) == 0  # 2.8 cores left to two threads


def test_a_headroom_of_nothing_never_waits():
    pace = Headroom(0.0).pacing(threads=1)
    started, cpu_started = time.monotonic(), time.thread_time()
    _work(WORKED)
    assert _timed(lambda: pace(started, cpu_started)) < WORKED


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc/stat")
def test_with_every_cpu_busy_elsewhere_the_work_slows_to_a_fraction_within_its_budget():
    # Half the machine kept idle: the hogs' use, however much of it the suite's other
    # processes take, leaves the work nothing but its least duty.
    headroom = Headroom(0.5)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(headroom.cores)]
    try:
        time.sleep(0.3)
        headroom.pause(time.monotonic(), time.thread_time(), threads=1)  # first reading
        time.sleep(0.25)
        pace = headroom.pacing(threads=1)
        took, waits = [], []
        for _ in range(3):
            started, cpu_started = time.monotonic(), time.thread_time()
            _work(0.1)
            took.append(time.monotonic() - started)
            waits.append(_timed(lambda: pace(started, cpu_started)))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    # The work got a tenth of its time at most, until the call had paused its budget.
    assert 0.1 / (took[0] + waits[0]) <= 0.1
    assert sum(waits) == pytest.approx(PAUSE_BUDGET_SECONDS, abs=0.1)


def _work(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _timed(call) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start
