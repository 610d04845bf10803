"""`arqium --help` and `arqium COMMAND --help` explain every command and option; a bad
setting stops a command with one line naming it."""

import argparse

import pytest
from pydantic import ValidationError

from arqium.cli.main import build_parser, main
from arqium.infra.settings import Settings
from arqium.workers.runner import worker_names


def parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action.choices.values():
                yield from parsers(choice)


def subcommand_helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    return {choice.dest: choice.help for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
            for choice in action._choices_actions}


def test_every_command_and_subcommand_has_a_one_line_description():
    helps = {name: text for parser in parsers(build_parser())
             for name, text in subcommand_helps(parser).items()}
    assert {"up", "serve", "worker", "migrate", "projections", "status", "rebuild",
            "ledger", "verify", "export", "replay", "users", "create-admin",
            "grant-role"} <= set(helps)
    assert [name for name, text in helps.items() if not text or "\n" in text] == []


def test_every_option_and_argument_is_explained():
    unexplained = [f"{parser.prog} {action.dest}" for parser in parsers(build_parser())
                   for action in parser._actions
                   if not action.help and not isinstance(action, argparse._SubParsersAction)]
    assert unexplained == []


def test_worker_help_lists_every_worker(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["worker", "--help"])
    assert stopped.value.code == 0
    listed = capsys.readouterr().out.split("workers: ")[1]
    assert all(name in listed for name in worker_names(Settings()))


def test_the_log_level_is_a_setting_in_any_case():
    assert Settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValidationError):
        Settings(log_level="chatty")


def test_a_bad_log_level_stops_the_command_with_one_line_naming_it(monkeypatch):
    monkeypatch.setenv("ARQIUM_LOG_LEVEL", "chatty")
    with pytest.raises(SystemExit) as stopped:
        main(["migrate"])
    assert str(stopped.value) == (
        "ARQIUM_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'")
