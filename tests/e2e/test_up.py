"""`arqium up` as a newcomer runs it: one command, real embedded services, Ctrl-C."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from arqium.infra.embedded import free_port
from tests.conftest import still_running

READY_TIMEOUT = 90


class Up:
    def __init__(self, data_dir: Path, port: int, **settings: str):
        env = {k: v for k, v in os.environ.items()
               if k not in ("ARQIUM_DATABASE_URL", "ARQIUM_NATS_URL")} | settings
        self.process = subprocess.Popen(
            [sys.executable, "-m", "arqium.cli", "up", "--data-dir", str(data_dir),
             "--port", str(port)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url = f"http://127.0.0.1:{port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if line.startswith("arqium: ready"):
                return
        self.process.kill()
        pytest.fail("arqium up did not get ready:\n" + "".join(self.lines))

    def interrupt(self) -> int:
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGINT)
        self.lines += self.process.communicate(timeout=60)[0].splitlines(keepends=True)
        self.children = children
        return self.process.returncode


def arqium(*args: str) -> subprocess.CompletedProcess:
    """Another `arqium` command, as a newcomer types it: no ARQIUM_* variable set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARQIUM_")}
    return subprocess.run([sys.executable, "-m", "arqium.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def postgres_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


def test_up_runs_everything_other_commands_find_it_and_ctrl_c_leaves_nothing_behind(
        postgres_home):
    data_dir, port = postgres_home / "data", free_port()
    up = Up(data_dir, port)
    up.wait_ready()
    components = {line.split()[1] for line in up.lines if line.startswith("arqium: ")}
    assert {"postgres", "nats", "workers", "api", "ready"} <= components
    pg_pid = postgres_pid(data_dir)
    with httpx.Client(base_url=up.url, timeout=10) as http:
        assert http.get("/api/v1/health").json()["data"]["status"] == "healthy"
        token = http.post("/api/v1/auth/register", json={
            "email": "ada@example.com", "password": "correct horse", "name": "Ada"}
        ).json()["data"]["access_token"]
        stored = http.post("/api/v1/memory/store", json={"key": "theme", "content": "dark"},
                           headers={"Authorization": f"Bearer {token}"})
        assert stored.status_code == 201
        stored = http.post("/api/v1/memory/store", json={  # sealed with a wrapped key
            "key": "pin", "content": "1234", "sensitivity": "secret"},
            headers={"Authorization": f"Bearer {token}"})
        assert stored.status_code == 201
        made = arqium("users", "create-admin", "--data-dir", str(data_dir),
                      "--email", "root@example.com", "--password", "admin password")
        assert made.returncode == 0, made.stderr
        status = arqium("projections", "status", "--data-dir", str(data_dir))
        assert status.returncode == 0 and "memory_items" in status.stdout, status.stderr
        admin = http.post("/api/v1/auth/login", json={
            "email": "root@example.com", "password": "admin password"}).json()["data"]
        verified = http.get("/api/v1/ledger/verify",
                            headers={"Authorization": f"Bearer {admin['access_token']}"})
        assert verified.status_code == 200
    assert up.interrupt() == 0
    nats_password = json.loads((data_dir / "nats" / "credentials.json").read_text())[
        "password"]
    assert not [line for line in up.lines if nats_password in line]
    assert not (data_dir / "services.json").exists()
    assert stat.S_IMODE((data_dir / "master.key").stat().st_mode) == 0o600
    time.sleep(0.5)
    survivors = [p for p in up.children if p.is_running() and p.status() != "zombie"]
    assert survivors == []
    assert not psutil.pid_exists(pg_pid) or psutil.Process(pg_pid).status() == "zombie"

    again = Up(data_dir, port)
    again.wait_ready()
    try:
        with httpx.Client(base_url=again.url, timeout=10) as http:
            login = http.post("/api/v1/auth/login", json={
                "email": "ada@example.com", "password": "correct horse"})
            assert login.status_code == 200
            headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}",
                       "X-Min-Position": stored.headers["X-Event-Position"]}
            items = http.get("/api/v1/memory/recent", headers=headers).json()["data"]["items"]
            # The next `up` loads the same master key: the secret opens.
            assert [(item["key"], item["content"]) for item in items] == [
                ("pin", "1234"), ("theme", "dark")]
    finally:
        assert again.interrupt() == 0


def test_up_can_serve_the_api_from_several_processes(postgres_home):
    up = Up(postgres_home / "data", free_port(), ARQIUM_API_PROCESSES="2")
    up.wait_ready()
    try:
        api_processes = [p for p in psutil.Process(up.process.pid).children(recursive=True)
                         if "spawn_main" in " ".join(p.cmdline())]
        assert len(api_processes) == 2
        with httpx.Client(base_url=up.url, timeout=10) as http:
            token = http.post("/api/v1/auth/register", json={
                "email": "ada@example.com", "password": "correct horse", "name": "Ada"}
            ).json()["data"]["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(10):  # spread over both processes by the kernel
                stored = http.post("/api/v1/memory/store", headers=headers,
                                   json={"key": f"k{n}", "content": "x"})
                assert stored.status_code == 201
            recent = http.get("/api/v1/memory/recent", headers={
                **headers, "X-Min-Position": stored.headers["X-Event-Position"]})
            assert len(recent.json()["data"]["items"]) == 10
    finally:
        assert up.interrupt() == 0
    time.sleep(0.5)
    assert [p for p in up.children if p.is_running() and p.status() != "zombie"] == []


def test_a_killed_up_leaves_no_process_behind_and_the_next_up_starts_cleanly(
        postgres_home):
    data_dir, port = postgres_home / "data", free_port()
    up = Up(data_dir, port, ARQIUM_API_PROCESSES="2")
    up.wait_ready()
    tree = psutil.Process(up.process.pid).children(recursive=True)
    commands = [" ".join(p.cmdline()) for p in tree]
    assert any("worker all" in c for c in commands)
    assert any("--lowest-priority" in c for c in commands)  # the embedding workers
    assert sum("spawn_main" in c for c in commands) == 2
    assert any("nats-server" in c for c in commands)

    up.process.kill()
    up.process.wait()
    survivors = still_running(tree, within_seconds=15)
    assert survivors == [], [" ".join(p.cmdline()) for p in survivors]

    leftover_postgres = postgres_pid(data_dir)
    again = Up(data_dir, port)
    again.wait_ready()
    assert any(line.startswith("arqium: postgres") and f"(pid {leftover_postgres})" in line
               for line in again.lines), "".join(again.lines)
    started_postgres = psutil.Process(postgres_pid(data_dir))
    assert again.interrupt() == 0
    assert still_running([started_postgres], within_seconds=15) == []


def test_the_served_api_believes_no_x_forwarded_for_from_loopback(postgres_home):
    """uvicorn would take it from any loopback peer: a local client could then rotate
    it past the per-address login limit."""
    up = Up(postgres_home / "data", free_port(), ARQIUM_LIMIT_LOGIN_ADDRESS="3/minute")
    up.wait_ready()
    try:
        with httpx.Client(base_url=up.url, timeout=10) as http:
            statuses = [http.post("/api/auth/login", headers={
                "X-Forwarded-For": f"203.0.113.{n}"}, json={
                "email": f"user{n}@example.com", "password": "whatever1"}).status_code
                for n in range(4)]
    finally:
        assert up.interrupt() == 0
    assert statuses == [401, 401, 401, 429]
