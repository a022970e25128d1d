"""The `lessons` command: test every built-in lesson's claim on the loaded model (lab.scenarios.lessons,
lab.scenarios.causal), save the results per model, and show the register of measured claims."""
from __future__ import annotations

import argparse
import json

from lab.cli import numbers
from lab.cli.options import open_engine
from lab.common.errors import LabError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `lessons` to the main parser's commands."""
    p = sub.add_parser("lessons", parents=[common], help="test each lesson's claim over seeds: shows / does not show / inconclusive")
    p.add_argument("--seeds", type=numbers.count, default=None, help="seeds 0..N-1 per variant or condition (default: each claim's declared count)")
    p.add_argument("--scenario", action="append", default=[], metavar="NAME",
                   help="only this built-in scenario's lessons, or one lesson as SCENARIO/CLAIM (repeatable)")
    p.add_argument("--kind", choices=["all", "reading", "causal"], default="all",
                   help="only the reading lessons (a reading over seeds) or the causal ones (steering changes a behaviour's rate)")
    p.add_argument("--max-tokens", type=numbers.tokens, default=None, help="cap every model turn at this many tokens")
    p.add_argument("--json", action="store_true", help="one JSON object per lesson")
    p.add_argument("--stats", action="store_true", help="the statistics behind each verdict, not only the plain sentence")
    p.add_argument("--replies", metavar="FILE", default=None, help="also write every causal row's replies as JSON lines (for labelling checks)")
    p.add_argument("--rejudge", metavar="FILE", default=None,
                   help="judge the causal rows recorded in FILE (by --replies) again with today's labelled replies, without generating")
    p.add_argument("--ship", action="store_true", help="maintainers: also save the results in assets/ (shipped with the app) and append them to the register")
    p.add_argument("--register", action="store_true", help="list every claim ever measured on the embedded model, with its verdict, and exit")
    p.set_defaults(handler=cmd_lessons)


def cmd_lessons(args: argparse.Namespace) -> int:
    from lab.scenarios import lesson_store

    if args.register:
        print(lesson_store.register_table(lesson_store.register_entries()))
        return 0
    if args.seeds is not None and args.seeds < 2:
        raise LabError("--seeds must be at least 2: a verdict needs an interval over seeds.")
    from lab.common.progress import TerminalProgress
    from lab.scenarios.causal import rejudge
    from lab.scenarios.lesson_words import numbers, plain
    from lab.scenarios.lessons import lesson_verdicts

    if args.rejudge:
        from lab.model.loader import load_model

        verdicts = rejudge(_records(args.rejudge))
        identity = load_model(args.model, TerminalProgress(), args.dtype).identity
    else:
        engine = open_engine(args)
        verdicts = lesson_verdicts(engine, args.seeds, args.scenario or None, args.max_tokens, TerminalProgress(), args.kind)
        identity = engine.lm.identity
    results = [v.to_json() for v in verdicts]
    for verdict, result in zip(verdicts, results):
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"{verdict.lesson}: {plain(result)}", flush=True)
            print("  " + (numbers(result).replace("\n", "\n  ") if args.stats else verdict.summary()), flush=True)
    if args.kind == "all" and not args.scenario and not args.rejudge:
        _print_suppression(identity, args.json)
    if args.replies:
        _write_replies(args.replies, verdicts)
    lesson_store.save_results(identity, results)
    if args.ship:
        lesson_store.save_results(identity, results, lesson_store.shipped_path(identity))
        lesson_store.add_to_register(results)
    return 0


def _print_suppression(identity: str, as_json: bool) -> None:
    """The suppression experiment ("can you train the feeling away?"): its last result on this model,
    measured here or shipped; it trains two adapters (minutes), so `lab suppress` runs it, not this command."""
    from lab.scenarios.suppression import known_result, result_sentence

    for emotion in ("desperate",):
        data = known_result(identity, emotion)
        lesson = f"suppression/{emotion}"
        if as_json:
            print(json.dumps({"lesson": lesson, "measured": data is not None, **(data or {})}), flush=True)
        elif data is None:
            print(f"{lesson}: not measured on this model yet. Run `python -m lab suppress --emotion {emotion}` (minutes).", flush=True)
        else:
            print(f"{lesson}: {result_sentence(data)}", flush=True)


def _write_replies(path: str, verdicts: list) -> None:
    lines = [json.dumps({"lesson": v.lesson, "check": v.claim.check, "condition": row.condition, "seed": row.seed,
                         "fired": row.fired, "coherent": row.coherent, "texts": list(row.texts), "model": v.model,
                         "dtype": v.dtype, "seeds": len(v.seeds)}) + "\n"
             for v in verdicts for row in getattr(v, "rows", ())]
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.writelines(lines)
    except OSError as error:
        raise LabError(f"Cannot write the replies to {path} ({error.strerror}).") from error


def _records(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError) as error:
        raise LabError(f"Cannot read the recorded replies in {path} ({error}).") from error
