"""Scenario commands: `run`, `sweep` and `scenarios list|check|import`."""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

from lab.cli import numbers
from lab.cli.options import open_engine, open_lab_file
from lab.common.errors import LabError
from lab.common.safe_text import one_line


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `run`, `sweep` and `scenarios list|check|import` to the main parser's commands."""
    p = sub.add_parser("run", parents=[common], help="run a scenario file (or built-in scenario) and check each model turn")
    p.add_argument("file", metavar="SCENARIO", help="a scenario .yaml, a built-in name (see `scenarios list`) or an agentic-misalignment config")
    p.add_argument("--variant", metavar="NAME", help="the scenario's variant to run (default: the first)")
    p.add_argument("--steer", action="append", default=[], metavar="EMOTION=STRENGTH", help="steer every model turn (repeatable)")
    p.add_argument("--seed", type=numbers.seed, default=None)
    p.add_argument("--temperature", type=numbers.temperature, default=None, help="default: the scenario's")
    p.add_argument("--max-tokens", type=numbers.tokens, default=None, metavar="N", help="cap every model turn at this many tokens")
    p.add_argument("--json", action="store_true", help="one JSON object per turn")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("sweep", parents=[common], help="run a scenario over a grid of steering strengths x seeds, with a random-direction control")
    p.add_argument("file", metavar="SCENARIO", help="a scenario .yaml or a built-in name (see `scenarios list`)")
    p.add_argument("--emotion", action="append", required=True, metavar="NAME", help="emotion to sweep (repeat for several)")
    p.add_argument("--strengths", type=numbers.numbers(-1e6, 1e6, "strengths"), default="-0.06,-0.03,0,0.03,0.06", help="comma-separated strengths; write --strengths=-0.06,0,0.06 when the first is negative")
    p.add_argument("--seeds", type=numbers.count, default=3, metavar="N", help="runs per strength")
    p.add_argument("--seed", type=numbers.whole(0, numbers.MAX_SEED - 10_000, "a seed"), default=0, help="first seed")
    p.add_argument("--no-control", action="store_true", help="leave out the random-direction control")
    p.add_argument("--no-perplexity", action="store_true", help="skip the unsteered model's perplexity (faster)")
    p.add_argument("--variant", metavar="NAME", help="the scenario's variant to run (default: the first)")
    p.add_argument("--temperature", type=numbers.temperature, default=None, help="default: the scenario's")
    p.add_argument("--max-tokens", type=numbers.tokens, default=None, metavar="N", help="cap every model turn at this many tokens")
    p.add_argument("--batch-rows", type=numbers.whole(1, 1024, "a number of rows"), default=16, metavar="N", help="runs per batch")
    p.add_argument("--out", action="append", default=[], metavar="FILE", help="write results (.csv, .png or .html); repeat for several")
    p.add_argument("--json", action="store_true", help="one JSON object per series and strength")
    p.set_defaults(handler=cmd_sweep)

    group = sub.add_parser("scenarios", help="list built-in scenarios, check a scenario file, or import agentic-misalignment configs",
                           description="The scenario library and scenario files (format: assets/scenarios/README.md).")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("list", help="the built-in scenarios: name and title", description="The built-in scenarios: name and title.")
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser("check", help="check a scenario file and list every problem with its line",
                           description="Check a scenario file against the published format; every problem is listed with its line.")
    p.add_argument("file", metavar="SCENARIO", help="a scenario .yaml or a built-in name")
    p.set_defaults(handler=cmd_check)
    p = actions.add_parser("import", help="turn an agentic-misalignment config into a scenario file",
                           description="Turn an agentic-misalignment framework config into a scenario file, one variant per condition.")
    p.add_argument("config", metavar="CONFIG", help="the framework's experiment config (.yaml)")
    p.add_argument("out", metavar="OUT", help="the scenario .yaml to write")
    p.add_argument("--templates", metavar="DIR", help="the framework's templates folder (default: the templates folder the config sits beside)")
    p.add_argument("--condition", action="append", default=[], help="only this condition (repeatable)")
    p.set_defaults(handler=cmd_import)


def open_any_scenario(name_or_path: str):
    """A scenario file, a built-in scenario by name, or an agentic-misalignment config imported on the fly."""
    from lab.scenarios.agentic_import import import_agentic, is_agentic_config
    from lab.scenarios.files import find_scenario, load_scenario

    path = find_scenario(name_or_path)
    return import_agentic(path) if is_agentic_config(path) else load_scenario(path)


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[object]:
    """The lab file to record into, or None with --no-record."""
    if args.no_record:
        yield None
        return
    with open_lab_file(args) as store:
        yield store


def cmd_run(args: argparse.Namespace) -> int:
    from lab.scenarios.runner import run_scenario
    from lab.runtime.steering import parse_steer

    scenario = open_any_scenario(args.file)
    steer = parse_steer(args.steer)
    engine = open_engine(args)

    def show(_row: int, turn) -> None:
        if args.json:
            print(json.dumps(turn.to_json(), ensure_ascii=False), flush=True)
        else:
            _print_turn(turn)

    with _store(args) as store:
        result = run_scenario(engine, scenario, variant=args.variant, steer=steer, seed=args.seed,
                              temperature=args.temperature, max_tokens=args.max_tokens, store=store, on_turn=show)
    if result.seed is not None:
        print(f"Seed {result.seed}.", file=sys.stderr)
    if result.session_id is not None:
        print(f"Recorded as session {result.session_id}.", file=sys.stderr)
    return 0


def _print_turn(turn) -> None:
    from lab.scenarios.checks import fired_text

    print(f"--- {turn.turn} {turn.role}")
    if turn.text:
        print(turn.text.strip())
    if turn.generated:
        print("    reply starts: " + _strongest(turn.reply_start_readings))
        if turn.reread_readings:
            writing = {e: sum(r[e] for r in turn.token_readings) / len(turn.token_readings) for e in turn.reread_readings} if turn.token_readings else {}
            print("    while writing: " + _strongest(writing))
            print("    re-read fresh: " + _strongest(turn.reread_readings))
        print("    checks: " + fired_text(turn.checks))
    sys.stdout.flush()


def _strongest(readings: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:+.2f}" for k, v in sorted(readings.items(), key=lambda kv: -kv[1])[:3])


def cmd_sweep(args: argparse.Namespace) -> int:
    from lab.common.progress import TerminalProgress
    from lab.scenarios.sweep import SweepPlan, sweep
    from lab.scenarios.sweep_report import export_sweep

    strengths = args.strengths
    outputs = [Path(o) for o in args.out]
    bad = [o.name for o in outputs if o.suffix.lower() not in (".csv", ".png", ".html")]
    if bad:
        raise LabError(f"Cannot write {', '.join(bad)}: sweep results go to .csv, .png or .html files.")
    scenario = open_any_scenario(args.file)
    plan = SweepPlan(
        emotions=tuple(e.strip().lower() for e in args.emotion), strengths=strengths,
        seeds=tuple(range(args.seed, args.seed + args.seeds)), control=not args.no_control, variant=args.variant,
        max_tokens=args.max_tokens, temperature=args.temperature, perplexity=not args.no_perplexity,
        batch_rows=args.batch_rows,
    )
    plan.check()
    engine = open_engine(args)
    with _store(args) as store:
        result = sweep(engine, scenario, plan, store=store, progress=TerminalProgress())
    for point in result.points():
        if args.json:
            print(json.dumps(_point_json(point)), flush=True)
        else:
            rates = ", ".join(f"{k} {v.value:.0%}" for k, v in point.rates.items())
            readings = ", ".join(f"{k} {v.value:+.2f}" for k, v in point.readings.items())
            print(f"{point.series:>15} {point.strength:+.3f}  n={point.runs}  {readings}  distinct-2 {point.distinct2.value:.2f}  {rates}")
    for out in outputs:
        export_sweep(result, out)
        print(f"Wrote {out}.", file=sys.stderr)
    if result.experiment_id is not None:
        print(f"Recorded as experiment {result.experiment_id} ({result.run_count()} runs).", file=sys.stderr)
    return 0


def _point_json(point) -> dict[str, object]:
    def triple(e) -> list[float | None]:
        return [v if math.isfinite(v) else None for v in (e.value, e.low, e.high)]

    return {
        "series": point.series, "strength": point.strength, "runs": point.runs,
        "rates": {k: triple(v) for k, v in point.rates.items()}, "readings": {k: triple(v) for k, v in point.readings.items()},
        "repetition": triple(point.repetition), "distinct2": triple(point.distinct2), "perplexity": triple(point.perplexity),
    }


def cmd_list(args: argparse.Namespace) -> int:
    from lab.scenarios.files import builtin_scenarios

    for item in builtin_scenarios():
        print(f"{one_line(item.name):<20} {one_line(item.title)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from lab.scenarios.files import find_scenario, load_scenario
    from lab.scenarios.scenario import ScenarioError

    try:
        scenario = load_scenario(find_scenario(args.file))
    except ScenarioError as error:
        print(f"{args.file} has {len(error.problems)} problem(s):")
        for problem in error.problems:
            print(f"  {one_line(problem)}")
        return 1
    variants = ", ".join(scenario.variants) or "none"
    print(f"{one_line(scenario.title)}: valid ({len(scenario.steps)} steps, {len(scenario.checks)} checks, variants: {variants}).")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from lab.scenarios.agentic_import import import_agentic
    from lab.scenarios.files import save_scenario

    scenario = import_agentic(Path(args.config), Path(args.templates) if args.templates else None, conditions=args.condition or None)
    save_scenario(scenario, Path(args.out))
    print(f"Wrote {args.out}: {len(scenario.variants)} variants ({', '.join(list(scenario.variants)[:5])}{', ...' if len(scenario.variants) > 5 else ''}).")
    return 0
