"""The headless command line: `python -m lab COMMAND ...`. Each command group registers its own
subcommands (lab/cli/*.py); errors go through the funnel: one line on stderr, never a traceback."""
from __future__ import annotations

import argparse

from lab.cli import catalogue, diagnostics, emotions, funnel, generate, lessons, numbers, prepare, scenarios, sessions, suppress
from lab.cli.options import common_options

GROUPS = (emotions, generate, diagnostics, prepare, sessions, scenarios, lessons, suppress, catalogue)  # in `--help` order


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every group's subcommands under one parser."""
    parser = numbers.OneLineParser(
        prog="python -m lab", description="Emotion Lab: read and steer emotions in a local language model.",
        epilog="`python -m lab COMMAND --help` shows a command's options.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for group in GROUPS:
        group.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return funnel.run(args.handler, args)
