"""Looking after a running system: its read models (`arqium projections`) and its users
(`arqium users`)."""

import argparse
from contextlib import contextmanager

from arqium.cli.discovery import load_settings, with_services
from arqium.cli.output import add_progress_option, say


def cli_cause():
    """Who acted, for the events the CLI's commands store (imported here: `arqium ledger
    verify` loads no event-store code)."""
    from arqium.domain.shared import Cause

    return Cause(actor="system:cli")


@contextmanager
def running_system(args: argparse.Namespace):
    """The system over the services of --data-dir's `arqium up` (or ARQIUM_*_URL), for
    one command."""
    from arqium.system.bootstrap import open_system

    system = open_system(with_services(load_settings(data_dir=args.data_dir)))
    try:
        yield system
    finally:
        system.close()


def cmd_projections_status(args: argparse.Namespace) -> int:
    from arqium.system.status import worker_positions

    with running_system(args) as system:
        rows = worker_positions(system)
    print(f"{'worker':<18} {'application':<12} {'running':<8} {'position':>10} "
          f"{'head':>10} {'lag':>8}  state")
    for row in rows:
        running = "yes" if row["running"] else "no"
        print(f"{row['worker']:<18} {row['application']:<12} {running:<8} "
              f"{_shown(row['position']):>10} {_shown(row['head']):>10} "
              f"{_shown(row['lag']):>8}  {row['state']}")
    for row in rows:
        print_failure_and_skips(row)
    return 0


def _shown(value) -> str:
    return "-" if value is None else str(value)


def print_failure_and_skips(row: dict) -> None:
    worker = f"{row['worker']} ({row['application']})"
    if failure := row["failure"]:
        stuck = (f" on the event at position {failure['position']}"
                 if failure["position"] is not None else "")
        print(f"\n{worker} FAILED{stuck}: {failure['error']}\n"
              f"  {failure['attempts']} attempts since {failure['first_failed_at']}, "
              f"next at {failure['retry_at']}")
        if failure["position"] is not None and row["worker"] != "nats_relay":
            print(f"  if that event can never be applied: arqium projections skip "
                  f"{row['worker']} --position {failure['position']} --reason \"...\"")
    for skip in row["skipped"]:
        print(f"\n{worker} skipped position {skip['position']} ({skip['skipped_at']}, by "
              f"{skip['actor']}): {skip['reason']}"
              + (f"\n  it failed with {skip['error']}" if skip["error"] else ""))


def cmd_projections_skip(args: argparse.Namespace) -> int:
    import getpass

    from arqium.system.skips import SkipRefused, skip_event

    actor = args.actor or getpass.getuser()
    with running_system(args) as system:
        try:
            skip = skip_event(system, args.name, args.position, args.reason, actor,
                              force=args.force)
        except SkipRefused as refused:
            raise SystemExit(f"not skipped: {refused}") from None
    say("skip", f"{skip.worker} steps over {skip.application} position {skip.position} "
                f"(recorded, by {skip.actor}); its worker goes on from there at its next "
                "attempt")
    return 0


def cmd_projections_rebuild(args: argparse.Namespace) -> int:
    from arqium.infra.worker_failures import describe
    from arqium.projections import projection_named
    from arqium.workers.feed import EventFailed
    from arqium.workers.rebuild import rebuild

    settings = with_services(load_settings(data_dir=args.data_dir), nats=False)
    projection = projection_named(args.name)
    try:
        position = rebuild(projection, settings, show_progress=not args.no_progress)
    except EventFailed as failed:
        raise SystemExit(
            f"arqium projections rebuild: {args.name} cannot apply the "
            f"{projection.application.name} event at position {failed.position} "
            f"({describe(failed.error)}); the live read model is unchanged. Fix the cause "
            f"and rebuild again, or step over that event: arqium projections skip "
            f"{args.name} --position {failed.position} --reason \"...\" --force") from None
    say("rebuild", f"{args.name} rebuilt up to position {position} and swapped in")
    return 0


def cmd_users_create_admin(args: argparse.Namespace) -> int:
    from arqium.system.bootstrap import make_admin

    with running_system(args) as system:
        make_admin(system, args.email, args.password, args.name, cause=cli_cause())
    say("users", f"{args.email} is an admin")
    return 0


def cmd_users_grant_role(args: argparse.Namespace) -> int:
    with running_system(args) as system:
        system.identity.grant_role(args.email, args.role, cause=cli_cause())
    say("users", f"{args.email} has the role {args.role}")
    return 0


def add_projection_commands(commands, data_dir: argparse.ArgumentParser) -> None:
    projections = commands.add_parser(
        "projections", help="inspect or rebuild read models",
        description="Inspect or rebuild the read models of a running system.")
    sub = projections.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = sub.add_parser("status", parents=[data_dir],
                            help="each worker's position, lag, and whether it runs")
    status.set_defaults(func=cmd_projections_status)
    rebuild = sub.add_parser(
        "rebuild", parents=[data_dir], help="rebuild a read model from the first event",
        description="Replay every event into a fresh copy of the read model, then swap "
                    "it in atomically. Safe while the system runs: queries keep the old "
                    "model until the new one is complete.")
    rebuild.add_argument("name", help="projection name, e.g. memory_items")
    add_progress_option(rebuild)
    rebuild.set_defaults(func=cmd_projections_rebuild)
    add_skip_command(sub, data_dir)


def add_skip_command(sub, data_dir: argparse.ArgumentParser) -> None:
    skip = sub.add_parser(
        "skip", parents=[data_dir],
        help="step a failing projection over an event it can never apply (recorded)",
        description="A projection that fails on an event stops there (the others go "
                    "on) and is retried, failing again, until an operator decides: fix "
                    "the cause (a deployment, a constraint) and it moves on by itself, or "
                    "skip the event with this command. It moves the projection's "
                    "position past exactly the event at --position, which must be the "
                    "one it is stuck on (the next after its position; `arqium "
                    "projections status` shows it), and records who skipped it, when, "
                    "why and the error it failed with; the skip is shown by `status` and "
                    "in /api/v1/health. The running worker goes on after it at its next "
                    "attempt. The read model then lacks that event's effect: a rebuild "
                    "applies it again (and fails again, if nothing changed).")
    skip.add_argument("name", help="projection name, e.g. memory_items")
    skip.add_argument("--position", type=int, required=True,
                      help="the position of the event to skip")
    skip.add_argument("--reason", required=True, help="why, for whoever reads it later")
    skip.add_argument("--actor", help="who skips it (default: your OS user name)")
    skip.add_argument("--force", action="store_true",
                      help="skip to --position even when it is not the event the "
                           "projection is stuck on: every event up to it is skipped")
    skip.set_defaults(func=cmd_projections_skip)


def add_user_commands(commands, data_dir: argparse.ArgumentParser) -> None:
    users = commands.add_parser("users", help="make admins and grant roles",
                                description="Make admins and grant roles.")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    create_admin = actions.add_parser(
        "create-admin", parents=[data_dir],
        help="register an admin, or make an existing user one",
        description="Register --email as an admin with --password; if it is already "
                    "registered, grant it the admin role (its password is left as it is).")
    create_admin.add_argument("--email", required=True, help="the admin's e-mail address")
    create_admin.add_argument("--password", required=True, help="as the configured password policy asks (at least 8 characters)")
    create_admin.add_argument("--name", default="Administrator",
                              help="display name (default Administrator)")
    create_admin.set_defaults(func=cmd_users_create_admin)
    grant = actions.add_parser("grant-role", parents=[data_dir],
                               help="grant a role (admin, auditor) to a user")
    grant.add_argument("--email", required=True, help="the user's e-mail address")
    grant.add_argument("--role", required=True, help="admin or auditor")
    grant.set_defaults(func=cmd_users_grant_role)
