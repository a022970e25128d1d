"""The `lessons` command: test every built-in scenario's claim on the loaded model (lab.scenarios.lessons)."""
from __future__ import annotations

import argparse
import json

from lab.cli import numbers
from lab.common.errors import LabError


def add_lessons_command(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register `lessons` on the main parser's subcommands."""
    p = sub.add_parser("lessons", parents=[common], help="test each built-in scenario's lesson over seeds: shows / does not show / inconclusive")
    p.add_argument("--seeds", type=numbers.count, default=None, help="seeds 0..N-1 per variant (default: each scenario's declared count)")
    p.add_argument("--scenario", action="append", default=[], metavar="NAME", help="only this built-in scenario (repeatable)")
    p.add_argument("--max-tokens", type=numbers.tokens, default=None, help="cap every model turn at this many tokens")
    p.add_argument("--json", action="store_true", help="one JSON object per scenario")
    p.set_defaults(handler=cmd_lessons)


def cmd_lessons(args: argparse.Namespace) -> int:
    from lab.cli.models import engine_options, open_cli_engine
    from lab.common.progress import TerminalProgress
    from lab.scenarios.lessons import lesson_verdicts

    if args.seeds is not None and args.seeds < 2:
        raise LabError("--seeds must be at least 2: a verdict needs an interval over seeds.")
    engine = open_cli_engine(args.model, args.method, args.dtype, **engine_options(args))
    verdicts = lesson_verdicts(engine, args.seeds, args.scenario or None, args.max_tokens, TerminalProgress())
    for verdict in verdicts:
        print(json.dumps(verdict.to_json()) if args.json else verdict.summary(), flush=True)
    return 0
