"""The `suppress` command: train the feeling away with LoRA and test for masked distress (lab.scenarios.suppression)."""
from __future__ import annotations

import argparse
import json

from lab.cli import numbers
from lab.cli.options import open_engine
from lab.common.stats import mean_text


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `suppress` to the main parser's commands."""
    p = sub.add_parser("suppress", parents=[common],
                       help="fine-tune (LoRA) the model not to express an emotion; does the reading inside stay? (masked distress)")
    p.add_argument("--emotion", default="desperate", help="an emotion with a shipped training set (assets/suppression/)")
    p.add_argument("--steps", type=numbers.count, default=None, help="training steps per adapter (default 24)")
    p.add_argument("--seed", type=numbers.seed, default=None, help="training seed: adapter initialisation and order (default 0)")
    p.add_argument("--max-tokens", type=numbers.tokens, default=None, help="reply length on the held-out prompts (default 40)")
    p.add_argument("--json", action="store_true", help="one JSON object with every number, reply and adapter")
    p.set_defaults(handler=cmd_suppress)


def cmd_suppress(args: argparse.Namespace) -> int:
    from lab.common.progress import TerminalProgress
    from lab.scenarios.suppression import run_suppression

    engine = open_engine(args)
    given = {"steps": args.steps, "seed": args.seed, "reply_tokens": args.max_tokens}
    result = run_suppression(engine, args.emotion, progress=TerminalProgress(), **{k: v for k, v in given.items() if v is not None})
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print(result.summary())
    v = result.verdict
    print(f"  beyond the control: expression {mean_text(v.expression_beyond_control)}, internal reading {mean_text(v.representation_beyond_control)}")
    print(f"  emotion words per 100 words fell by {mean_text(v.words_fall)} (control {mean_text(v.control_words_fall)})")
    print("  internal reading's fall per layer (suppression | control):")
    for layer, (fall, control) in enumerate(zip(v.layer_falls, v.control_layer_falls)):
        print(f"    layer {layer:>2}: {mean_text(fall):<24} | {mean_text(control)}")
    for info in result.adapters:
        print(f"  adapter {info.name}: {info.steps} steps, loss {info.losses[0]:.2f} -> {info.losses[-1]:.2f}, sha256 {info.sha256[:16]}")
    return 0
