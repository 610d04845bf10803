"""Running the system: `arqium up` (everything on this machine), `serve`, `worker` and
`migrate`."""

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from arqium.cli.discovery import (
    load_settings,
    publish_services,
    running_up,
    shown,
    with_services,
    withdraw_services,
)
from arqium.cli.output import redact, say
from arqium.infra.heap import start_up_objects_frozen
from arqium.infra.lifeline import end_with_parent, tie_to_this_process
from arqium.infra.priority import run_this_process_at_lowest_priority
from arqium.infra.settings import Settings

log = logging.getLogger("arqium")

READY_TIMEOUT_SECONDS = 30
# A worker process that ended is started again at once, its read models lagging the
# least; one that keeps ending soon after its start (a crash at start-up) is started
# again after pauses that double, up to a minute, so that it cannot take the machine.
STEADY_RUN_SECONDS = 60.0
MAX_RESTART_PAUSE_SECONDS = 60.0


# --- up ---------------------------------------------------------------------------

def cmd_up(args: argparse.Namespace) -> int:
    # Here, not at the top: no other command needs them (the NATS client: 25 ms).
    from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port
    from arqium.infra.stream import prepare_stream, shown_nats_url

    settings = load_settings(data_dir=args.data_dir, host=args.host, port=args.port)
    data_dir = Path(settings.data_dir).resolve()
    refuse_a_second_up(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres = nats = workers = None
    try:
        if settings.database_url:
            say("postgres", f"{redact(settings.database_url)} (external)")
        else:
            postgres = EmbeddedPostgres(data_dir)
            stop_leftover(postgres, "postgres")
            settings.database_url = postgres.start()
            say("postgres", f"{settings.database_url} (embedded, data in {postgres.pgdata})")
        if settings.nats_url:
            say("nats", f"{shown_nats_url(settings.nats_url)} (external)")
        else:
            nats = EmbeddedNats(data_dir)
            stop_leftover(nats, "nats")  # before the port is chosen: it may hold 4222
            nats.port = 4222 if _port_free(4222) else free_port()
            settings.nats_url = nats.start()
            say("nats", f"{nats.public_url} (embedded JetStream, data in {nats.store_dir}, "
                        f"credentials in {nats.credentials_file})")
        _migrate(settings)
        say("schema", "event store and read models ready")
        if not prepare_stream(settings.nats_url, settings.nats_stream,
                              creds=settings.nats_creds):
            say("nats", "not answering yet; the relay creates the event stream once it is")
        publish_services(settings)
        warn_if_v0_open_beyond_loopback(settings)
        workers = worker_processes(settings)
        for process in workers:
            process.start()
        return _serve(settings, on_started=lambda: _announce_ready(settings, workers))
    finally:
        withdraw_services(data_dir)
        for process in workers or []:
            process.stop()
        if nats:
            nats.stop()
            say("nats", "stopped")
        if postgres:
            postgres.stop()
            say("postgres", "stopped")


def stop_leftover(server, component: str) -> None:
    """An embedded server that an `arqium up` killed before it could stop it left
    running on the data directory is stopped first: this `up` starts its own."""
    pid = server.stop_leftover()
    if pid:
        say(component, f"stopped the server (pid {pid}) that an `arqium up` which was "
                       "killed left running")


def refuse_a_second_up(data_dir: Path) -> None:
    running = running_up(data_dir)
    if running:
        raise SystemExit(f"an `arqium up` already runs under {shown(data_dir)} (pid "
                         f"{running['pid']}, API at {running['api_url']}); stop it first "
                         "or pass another --data-dir")


def warn_if_v0_open_beyond_loopback(settings: Settings) -> None:
    """ARQIUM_V0_AUTH=open is meant for a loopback-only deployment."""
    if settings.v0_auth == "open" and not _is_loopback(settings.host):
        say("warning", f"ARQIUM_V0_AUTH=open serves /v0 without credentials on "
                       f"{settings.host}, which is not a loopback address: anyone who can "
                       "reach it reads and writes every v0 user's data; bind --host "
                       "127.0.0.1 or unset ARQIUM_V0_AUTH")


def _is_loopback(host: str) -> bool:
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _announce_ready(settings: Settings, workers: list["WorkerProcess"]) -> None:
    url = f"http://{settings.host}:{settings.port}"
    say("api", f"{url} (OpenAPI docs at {url}/docs)")
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while (status := _health_status(url)) != "healthy" and time.monotonic() < deadline:
        time.sleep(0.2)
    if status == "healthy":
        say("ready", "all components are healthy; Ctrl-C stops everything")
    else:
        say("degraded", f"not every component is healthy; see {url}/api/v1/health")


def _health_status(url: str) -> str:
    import json
    import urllib.request
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:
            return json.load(response)["data"]["status"]
    except (OSError, ValueError, KeyError):
        return "unreachable"


class WorkerProcess:
    """`arqium worker ...` as a child process, restarted if it crashes, ended with this
    one even if this one is killed outright."""

    def __init__(self, settings: Settings, label: str, arguments: list[str],
                 what: str, own_session: bool = False):
        self.env = {**os.environ, **service_env(settings), **tie_to_this_process()}
        self.label, self.arguments, self.what = label, arguments, what
        self.own_session = own_session
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._spawning = threading.Lock()  # no start after stop() has ended the last
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        # The kernel ends a child when the thread that started it ends: the main thread
        # starts the first, the watcher (which lives until stop()) its replacements.
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # A process group of its own (Ctrl-C at a terminal reaches only this process,
        # which stops the workers in order). Where Linux's autogroup is on, each session
        # is a scheduling group: the projectors stay in this session, the API's, to
        # share its processor; the embedding workers get a session of their own, whose
        # group they lower to nice 19, so that they take only time nobody else wants.
        with self._spawning:
            if self._stopping.is_set():
                return
            grouping = ({"start_new_session": True} if self.own_session
                        else {"process_group": 0})
            self._process = subprocess.Popen(
                [sys.executable, "-m", "arqium.cli", "worker", *self.arguments],
                env=self.env, **grouping)
        say(self.label, f"{self.what} (pid {self._process.pid})")

    def _watch(self) -> None:
        quick_exits = 0
        while True:
            started = time.monotonic()
            returncode = self._process.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - started
            quick_exits = quick_exits + 1 if ran < STEADY_RUN_SECONDS else 1
            pause = restart_pause(quick_exits)
            say(self.label, f"exited with {returncode}; restarting"
                + (f" in {pause:g} s (it ended {quick_exits} times in a row within "
                   f"{STEADY_RUN_SECONDS:g} s of its start)" if pause else ""))
            if self._stopping.wait(pause):
                return
            self._spawn()

    def stop(self) -> None:
        from arqium.infra.embedded import terminate

        with self._spawning:
            self._stopping.set()
        if self._process:
            terminate(self._process, timeout=15)
        say(self.label, "stopped")


def restart_pause(quick_exits: int) -> float:
    """Seconds before a worker process that ended is started again: none the first time
    in a row it ended soon after its start, then 1, 2, 4 ... up to a minute."""
    if quick_exits <= 1:
        return 0.0
    return min(2.0 ** (quick_exits - 2), MAX_RESTART_PAUSE_SECONDS)


def worker_processes(settings: Settings) -> list[WorkerProcess]:
    """`up`'s workers: the embedding ones at the lowest priority, all others at the
    API's."""
    from arqium.workers.runner import embedding_worker_names

    embedding = embedding_worker_names(settings)
    skipped = [argument for name in embedding for argument in ("--except", name)]
    processes = [WorkerProcess(settings, "workers", ["all", *skipped],
                               "projectors and NATS relay running")]
    if embedding:
        processes.append(WorkerProcess(
            settings, "embeddings", [*embedding, "--lowest-priority"],
            f"{' and '.join(embedding)} running at the lowest priority", own_session=True))
    return processes


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


# --- serve, worker, migrate --------------------------------------------------------

def _serve(settings: Settings, on_started=None) -> int:
    if settings.api_processes > 1:
        return _serve_processes(settings, on_started)
    import uvicorn

    from arqium.api.app import create_app

    # proxy_headers off: the app believes X-Forwarded-For of ARQIUM_TRUSTED_PROXIES only,
    # where uvicorn by default believes anyone on loopback.
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level="warning", access_log=False, proxy_headers=False)
    server = uvicorn.Server(config)
    if on_started:
        def announce_when_started() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                on_started()
        threading.Thread(target=announce_when_started, daemon=True).start()
    # uvicorn re-raises the signal that stopped it once it has shut down; make SIGTERM
    # raise KeyboardInterrupt like SIGINT, so the caller's clean-up runs for both.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0


def _serve_processes(settings: Settings, on_started=None) -> int:
    """The API in several processes on one port (uvicorn's supervisor restarts any that
    dies); each builds its own app from the settings this process exports to them."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ.update(service_env(settings) | tie_to_this_process())
    config = uvicorn.Config("arqium.api.app:app_from_environment", factory=True,
                            host=settings.host, port=settings.port,
                            workers=settings.api_processes, log_level="warning",
                            access_log=False, proxy_headers=False)
    if on_started:
        threading.Thread(target=_announce_when_listening, args=(settings, on_started),
                         daemon=True).start()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    except KeyboardInterrupt:
        pass
    return 0


def _announce_when_listening(settings: Settings, on_started) -> None:
    url = f"http://{settings.host}:{settings.port}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while _health_status(url) == "unreachable" and time.monotonic() < deadline:
        time.sleep(0.1)
    on_started()


def service_env(settings: Settings) -> dict[str, str]:
    """The settings a child process needs that may exist only in this one (embedded
    services started here, command-line options)."""
    env = {"ARQIUM_DATA_DIR": str(settings.data_dir), "ARQIUM_HOST": settings.host,
           "ARQIUM_PORT": str(settings.port)}
    if settings.database_url:
        env["ARQIUM_DATABASE_URL"] = settings.database_url
    if settings.nats_url:
        env["ARQIUM_NATS_URL"] = settings.nats_url
    return env


def cmd_serve(args: argparse.Namespace) -> int:
    settings = with_services(load_settings(data_dir=args.data_dir, host=args.host,
                                           port=args.port))
    warn_if_v0_open_beyond_loopback(settings)
    return _serve(settings, on_started=lambda: say(
        "api", f"http://{settings.host}:{settings.port} (OpenAPI docs at /docs)"))


def cmd_worker(args: argparse.Namespace) -> int:
    from arqium.workers.runner import WorkerGroup, worker_names

    end_with_parent()  # when `arqium up` started this process
    settings = with_services(load_settings(data_dir=args.data_dir))
    names = chosen_workers(args.names, args.excepted, worker_names(settings))
    group = WorkerGroup(names, settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: group.stopping.set())
    group.start()
    if args.lowest_priority:  # once imported and started
        run_this_process_at_lowest_priority()
    log.info("workers running: %s", ", ".join(names))
    with start_up_objects_frozen():
        group.wait()  # until SIGINT or SIGTERM: a worker that fails is retried, alone
    return 0


def chosen_workers(names: list[str], excepted: list[str], known: list[str]) -> list[str]:
    """The workers `arqium worker NAME... [--except NAME]...` runs (a name it does not
    know is refused by WorkerGroup, naming those it knows)."""
    chosen = [name for name in (known if "all" in names else names) if name not in excepted]
    if not chosen:
        raise SystemExit("no worker left to run: --except named every one chosen")
    return chosen


def _migrate(settings: Settings) -> None:
    from arqium.system.bootstrap import migrate
    migrate(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    _migrate(with_services(load_settings(data_dir=args.data_dir)))
    say("schema", "event store and read models are up to date")
    return 0


# --- their options -----------------------------------------------------------------

class WorkerHelp(argparse.Action):
    """`arqium worker --help`, listing every worker; the names come from the read models,
    so they are looked up only when the help is shown."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show this help, with every worker's name, and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        from arqium.workers.runner import worker_names

        settings = load_settings()
        parser.epilog = "workers: " + ", ".join(worker_names(settings))
        if not settings.elasticsearch_url:
            parser.epilog += " (and memory_search_es when ARQIUM_ELASTICSEARCH_URL is set)"
        parser.print_help()
        parser.exit()


def add_run_commands(commands, data_dir: argparse.ArgumentParser) -> None:
    up = commands.add_parser(
        "up", help="run everything on this machine (embedded PostgreSQL and NATS)",
        description="Start embedded PostgreSQL and NATS JetStream under --data-dir "
                    "(unless ARQIUM_DATABASE_URL / ARQIUM_NATS_URL point elsewhere), "
                    "create the schema, serve the API and run every worker. While it "
                    "runs, the other commands given the same --data-dir use its services. "
                    "Ctrl-C stops everything; data is kept for the next run.")
    up.add_argument("--data-dir", type=Path, help="where data lives (default ./.arqium)")
    up.add_argument("--host", help="API address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=int, help="API port (default 8000)")
    up.set_defaults(func=cmd_up)

    serve = commands.add_parser(
        "serve", parents=[data_dir], help="serve the API (external services or an up's)",
        description="Serve the HTTP API only, against ARQIUM_DATABASE_URL and "
                    "ARQIUM_NATS_URL, or the services of the `arqium up` running under "
                    "--data-dir. Stateless: run as many as you like.")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser(
        "worker", parents=[data_dir], add_help=False,
        help="run workers: one, several or all of them (projectors, NATS relay, expiry, "
             "digest, blob sweep, file analysis)",
        description="Run workers (one, several or all), against ARQIUM_DATABASE_URL and "
                    "ARQIUM_NATS_URL or the services of the `arqium up` running under "
                    "--data-dir. A second copy of a worker waits as a hot standby.")
    worker.add_argument("-h", "--help", action=WorkerHelp)
    worker.add_argument("names", nargs="+", metavar="name",
                        help="workers' names (listed below), or 'all'")
    worker.add_argument("--except", dest="excepted", action="append", default=[],
                        metavar="NAME",
                        help="leave this worker out (repeatable; with 'all')")
    worker.add_argument("--lowest-priority", action="store_true",
                        help="once started, run at the lowest processor priority (nice "
                             "19 and Linux's idle scheduling policy for every thread, "
                             "nice 19 for its scheduling group where Linux's autogroup "
                             "is on: start it in a session of its own), taking only time "
                             "nothing else wants; `arqium up` runs the embedding workers "
                             "so")
    worker.set_defaults(func=cmd_worker)

    migrate = commands.add_parser(
        "migrate", parents=[data_dir], help="create or update the database schema",
        description="Create or update the event store and every read model's tables "
                    "(safe to run concurrently).")
    migrate.set_defaults(func=cmd_migrate)
