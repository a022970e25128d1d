"""Measuring the lab itself: `validate` (the instrument checked on the loaded model, as HTML and/or
JSON), `token-readings` (emotion words read token by token, and what the tint shows) and `bench` (speed)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli import numbers
from lab.cli.options import open_engine
from lab.common.atomic import write_text
from lab.common.progress import TerminalProgress


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `validate`, `token-readings` and `bench` to the main parser's commands."""
    p = sub.add_parser("validate", parents=[common], help="check the instrument on the loaded model (accuracy, neutral, map, steering, lessons)")
    p.add_argument("--out", default="", metavar="FILE", help="write a self-contained HTML report here")
    p.add_argument("--json", action="store_true", help="the whole report as one JSON object")
    p.add_argument("--seeds", type=numbers.count, default=None, metavar="N", help="seeds per lesson (default: each scenario's own)")
    p.add_argument("--no-lessons", action="store_true", help="skip the lessons (minutes)")
    p.add_argument("--no-steering", action="store_true", help="skip steering efficacy (minutes)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("token-readings", parents=[common], help="per-token readings of emotion words against human ratings; what the tint shows")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=cmd_token_readings)

    p = sub.add_parser("bench", parents=[common], help="measure speed (steered+read vs plain generation, load, extraction)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--rounds", type=numbers.count, default=5, metavar="N", help="timed rounds per measurement (default 5)")
    p.set_defaults(handler=cmd_bench)


def cmd_validate(args: argparse.Namespace) -> int:
    """Everything the instrument can be checked on for the loaded model, as HTML and/or JSON."""
    from lab.diagnostics.validation_report import build_report, precision_text, render_html

    engine = open_engine(args)
    report = build_report(engine, seeds=args.seeds, lessons=not args.no_lessons, efficacy=not args.no_steering, progress=TerminalProgress())
    if args.out:
        write_text(Path(args.out), render_html(report))
        print(f"Wrote {args.out}.", file=sys.stderr)
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "map_png"}))
    else:
        print(precision_text(report["precision"]))
        for line in report["summary"]:
            print(line)
        for axis in report["map"]["axes"]:
            print(f"map axis: {axis['label']}")
        for row in report.get("steering_efficacy", []):
            print(f"steering {row['emotion']}: raised on {row['rate']}")
        for lesson in report.get("lessons", []):
            print(lesson["summary"])
    return 0


def cmd_token_readings(args: argparse.Namespace) -> int:
    """Per-token readings of emotion words against human ratings, and what the token tint shows."""
    from lab.diagnostics.token_readings import measure, report_lines

    engine = open_engine(args)
    result = measure(engine.lm, engine.directions)
    print(json.dumps(result) if args.json else "\n".join(report_lines(result)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from lab.diagnostics.bench import run_benchmarks

    results = run_benchmarks(args.model, rounds=args.rounds)
    print(json.dumps(results) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in results.items()))
    return 0
