"""The `prepare` command: make a model's directions and slider range now, on one progress line
(lab.scenarios.prepare); `--estimate` prints how long that takes for the catalogue's models."""
from __future__ import annotations

import argparse
import sys
import time

from lab.common.progress import duration_text


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Register `prepare` on the main parser's subcommands."""
    p = sub.add_parser("prepare", parents=[common],
                       help="prepare a model for the lab now (directions, validation, slider range), cached per model and precision")
    p.add_argument("--estimate", action="store_true", help="print how long preparing each catalogue model takes instead")
    p.add_argument("--cores", type=int, default=4, help="CPU cores for --estimate (default 4)")
    p.set_defaults(handler=cmd_prepare)


class ProgressLine:
    """One line on stderr, rewritten in place at most every `every_s` seconds."""

    def __init__(self, stream=sys.stderr, every_s: float = 0.5) -> None:
        self._stream, self._every, self._shown, self._width = stream, every_s, -every_s, 0

    def __call__(self, step) -> None:
        now = time.monotonic()
        if step.fraction < 1 and now - self._shown < self._every:
            return
        self._shown = now
        text = step.text()
        self._stream.write("\r" + text.ljust(self._width) + ("\n" if step.fraction >= 1 else ""))
        self._stream.flush()
        self._width = len(text)


def cmd_prepare(args: argparse.Namespace) -> int:
    from lab.cli.models import load_cli_model
    from lab.scenarios.prepare import prepare

    lm = load_cli_model(args.model, args.dtype)
    if args.estimate:
        return _print_estimates(lm, args.cores)
    done = prepare(lm, ProgressLine(), method=args.method)
    if done.was_cached:
        print(f"{lm.spec} ({lm.runtime['dtype']}) was prepared before: nothing to do.")
    else:
        print(f"Prepared {lm.spec} ({lm.runtime['dtype']}) in {duration_text(done.seconds)}: reading layer "
              f"{done.directions.reading_layer}, steering coherent up to ±{done.strength_range.cliff}.")
    return 0


def _print_estimates(lm, cores: int) -> int:
    from lab.model.catalogue import load_catalogue
    from lab.scenarios.prepare import estimate, model_parameters

    print(f"Preparing a model from nothing, estimated from the per-token cost measured on the embedded model (float32, "
          f"2 cores) and the texts counted with {lm.spec}'s tokenizer; other tokenizers differ a little:")
    for model in [None, *load_catalogue()]:
        name, parameters = ("this model", model_parameters(lm)) if model is None else (model.name, model.parameters)
        guess = estimate(lm, parameters, cores)
        print(f"  {name:<16} about {duration_text(guess.seconds):>7} on a {cores}-core CPU: {guess.arithmetic()}")
    return 0
