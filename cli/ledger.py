"""`arqium ledger`: the audit trail exported, verified offline, and replayed to a time.
`verify` loads no database driver and no event-store code: imports stay in the commands
that read the database."""

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

from arqium.cli.discovery import load_settings, with_services
from arqium.cli.output import add_progress_option


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
    with stored_entries(args) as entries:
        count = write_all(export_lines(recorded_between(entries, times["--from"],
                                                        times["--to"])))
    print(f"arqium: exported {count} ledger events", file=sys.stderr)
    return 0


def cmd_ledger_replay(args: argparse.Namespace) -> int:
    from arqium.infra.ledger_audit import state_at, state_lines, state_table, write_all

    until = parse_times({"--until": args.until})["--until"]
    with exported_entries(args) if args.file else stored_entries(args) as entries:
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
def stored_entries(args: argparse.Namespace):
    """The ledger's entries from the database (ARQIUM_DATABASE_URL, else that of
    --data-dir's `arqium up`), a progress bar on stderr."""
    from arqium.domain.ledger.application import LedgerApplication
    from arqium.infra.eventstore import eventsourcing_env
    from arqium.infra.ledger_audit import with_progress

    settings = with_services(load_settings(data_dir=args.data_dir), nats=False)
    ledger = LedgerApplication(eventsourcing_env(settings, pool_size=1))
    try:
        head = ledger.recorder.max_notification_id() or 0
        yield with_progress(ledger.entries(), head, "ledger", not args.no_progress)
    finally:
        ledger.close()


@contextmanager
def exported_entries(args: argparse.Namespace):
    """The entries of an NDJSON export, a progress bar (bytes read) on stderr."""
    from arqium.infra.ledger_audit import counted, progress_bar, read_entries

    path: Path = args.file
    with path.open("rb") as file, progress_bar(path.stat().st_size, "read", "B",
                                                not args.no_progress) as bar:
        yield read_entries(counted(file, bar))


def add_ledger_commands(commands, data_dir: argparse.ArgumentParser) -> None:
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
    add_progress_option(verify)
    verify.set_defaults(func=cmd_ledger_verify)
    export = sub.add_parser(
        "export", parents=[data_dir], help="write the ledger's events as NDJSON to stdout",
        description="Read every ledger event from the database (ARQIUM_DATABASE_URL, else "
                    "that of the `arqium up` running under --data-dir) in position order "
                    "and write each as one line of canonical JSON (hash and prev_hash "
                    "included, numbers exactly as sent): arqium ledger export > "
                    "ledger.ndjson. Times are ISO 8601; without a zone they are UTC.")
    export.add_argument("--from", dest="start", metavar="TIME",
                        help="only events recorded at or after TIME")
    export.add_argument("--to", dest="end", metavar="TIME",
                        help="only events recorded at or before TIME")
    add_progress_option(export)
    export.set_defaults(func=cmd_ledger_export)
    replay = sub.add_parser(
        "replay", parents=[data_dir], help="print every object as it was at a time",
        description="Fold every object's events recorded at or before --until (creation, "
                    "then each transaction merged as a JSON merge patch) and print each "
                    "object as a JSON line {object_id, type_name, version, data}, or as a "
                    "table. Reads the database as `export` does, or an export given "
                    "with --file.")
    replay.add_argument("--until", required=True, metavar="TIME",
                        help="ISO 8601 time, e.g. 2026-01-31T12:00:00Z (UTC without a zone)")
    replay.add_argument("--file", type=Path, help="replay this NDJSON export instead")
    replay.add_argument("--table", action="store_true", help="a table instead of JSON lines")
    add_progress_option(replay)
    replay.set_defaults(func=cmd_ledger_replay)
