"""The command line's shape (lab.cli.main assembling each group's subcommands): every command and
argument explains itself in --help, positional arguments are named for what they mean, and a bad
session id is a one-line usage error before anything is opened."""
from __future__ import annotations

import argparse

import pytest

from lab.cli.main import build_parser, main


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(words, parser, help) for every command and subcommand, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield prefix + (name,), sub, helps.get(name)
                yield from commands(sub, prefix + (name,))


def test_every_command_and_argument_says_what_it_is():
    found = list(commands(build_parser()))
    assert {words for words, _, _ in found} >= {("sessions", "compare"), ("scenarios", "import"), ("models", "get"), ("generate",)}
    for words, parser, help_text in found:
        assert help_text, words
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) or action.dest == "help":
                continue
            if not action.option_strings:  # a positional: named in capitals for what it means
                assert action.metavar and action.metavar.upper() == action.metavar and action.help, (words, action.dest)


@pytest.mark.parametrize("argv, words", [
    (["sessions", "compare", "--help"], ["FIRST", "SECOND", "--emotion NAME", "--db PATH"]),
    (["sessions", "export", "--help"], ["ID", "OUT"]),
    (["scenarios", "import", "--help"], ["CONFIG", "OUT", "--templates DIR"]),
    (["models", "get", "--help"], ["NAME|HUB_ID"]),
    (["--help"], ["sessions", "scenarios", "COMMAND --help"]),
])
def test_help_names_the_arguments(argv, words, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    out = capsys.readouterr().out
    assert exit.value.code == 0 and all(word in out for word in words), out


def test_only_rerun_of_the_session_commands_takes_model_options(capsys):
    assert build_parser().parse_args(["sessions", "rerun", "3", "--model", "m"]).model == "m"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sessions", "list", "--model", "m"])
    assert "unrecognized arguments: --model m" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["sessions", "compare", "1", "two"], ["sessions", "show", "x"], ["sessions", "compare", "1"]])
def test_a_bad_session_id_is_a_one_line_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and err.count("\n") == 1 and err.startswith("error: python -m lab sessions "), err
    assert "SECOND" in err or "is not a session id" in err
