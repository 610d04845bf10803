"""Child processes tied to their parent end when it dies, even by `kill -9`."""

import os
import signal
import subprocess
import sys

import psutil

from arqium.infra.lifeline import PARENT_PID_VARIABLE
from tests.conftest import still_running

WAIT_SECONDS = 15
TIED_CHILD = ("from arqium.infra.lifeline import end_with_parent; import time; "
              "end_with_parent(); print('tied', flush=True); time.sleep(60)")
# A parent that starts a tied child and a nats-like one, prints their pids, and waits.
PARENT = f"""
import os, subprocess, sys, time
from arqium.infra.lifeline import end_with_this_process, tie_to_this_process
tied = subprocess.Popen([sys.executable, "-c", {TIED_CHILD!r}],
                        env={{**os.environ, **tie_to_this_process()}}, stdout=subprocess.PIPE)
tied.stdout.readline()
foreign = subprocess.Popen(["sleep", "60"], preexec_fn=end_with_this_process())
print(tied.pid, foreign.pid, flush=True)
time.sleep(60)
"""


def test_children_tied_to_a_process_end_when_it_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              text=True)
    children = [psutil.Process(int(pid)) for pid in parent.stdout.readline().split()]
    parent.kill()
    parent.wait()
    survivors = still_running(children, within_seconds=WAIT_SECONDS)
    for survivor in survivors:
        survivor.kill()
    assert survivors == []


def test_a_child_whose_parent_died_before_it_was_tied_stops_at_once():
    gone = subprocess.Popen(["true"])
    gone.wait()
    child = subprocess.Popen([sys.executable, "-c", TIED_CHILD],
                             env={**os.environ, PARENT_PID_VARIABLE: str(gone.pid)})
    try:
        assert child.wait(timeout=WAIT_SECONDS) == -signal.SIGTERM
    finally:
        child.kill()

