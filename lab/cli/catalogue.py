"""The `models` command: the catalogue of larger models (list), downloading one (get), and the hub token (token)."""
from __future__ import annotations

import argparse
import getpass
import json
import sys
import time

from lab.common.errors import write_line
from lab.common.progress import TerminalProgress, size_text

LOG_EVERY_S = 5.0  # how often a download's progress line is repeated when stderr is not a terminal


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `models list|get|token` to the main parser's commands (no common options: nothing is loaded)."""
    group = sub.add_parser("models", help="the catalogue of larger models: list, get NAME|HUB_ID (download), token (for gated models)",
                           description="The catalogue of larger models (assets/catalogue/models.yaml), downloads and the hub token.")
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("list", help="the catalogue with sizes and this computer's estimated speed",
                           description="The catalogue with download and memory sizes and this computer's estimated speed.")
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.add_argument("--no-probe", action="store_true", help="do not measure this computer's speed (no estimate)")
    p.add_argument("--remeasure", action="store_true", help="measure this computer's speed again (e.g. when it is idle)")
    p.set_defaults(handler=cmd_list)
    p = actions.add_parser("get", help="download a model of the catalogue, or any hub id", description="Download a model of the catalogue, or any hub id.")
    p.add_argument("model", metavar="NAME|HUB_ID", help="a catalogue name (see `models list`) or any hub id 'org/name'")
    p.set_defaults(handler=cmd_get)
    p = actions.add_parser("token", help="store a hub token for gated models (read from the terminal or stdin)",
                           description="Store a hub token for gated models in the system keyring (read from the terminal or stdin).")
    p.set_defaults(handler=cmd_token)


def cmd_list(args: argparse.Namespace) -> int:
    from lab.model.catalogue import cached_probe, listing, speed_probe, speed_text

    probe = cached_probe() if args.no_probe else speed_probe(TerminalProgress(), again=args.remeasure)
    rows = listing(probe)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    print(f"{'name':<14} {'hub id':<38} {'download':>9} {'memory f32/bf16':>16} {'est. tok/s':>10}  token")
    for row in rows:
        memory = row["memory_bytes"]
        speed = speed_text(row["estimated_tokens_per_s"]).split()[0] if row["estimated_tokens_per_s"] is not None else "?"
        print(f"{row['name']:<14} {row['hub_id']:<38} {'~' + size_text(row['download_bytes']):>9} "
              f"{size_text(memory['float32']) + ' / ' + size_text(memory['bfloat16']):>16} {speed:>10}  "
              f"{'needed' if row['needs_token'] else 'no'}")
    print(f"Sizes are approximate. Speed: {rows[0]['estimate_basis'] if rows else ''}; an estimate, not a measurement of each model.")
    print("Lessons with a measured verdict: none measured yet on any catalogue model." if not any(r["lessons_measured"] for r in rows)
          else "\n".join(f"Lessons measured on {r['name']}: {', '.join(r['lessons_measured'])}" for r in rows if r["lessons_measured"]))
    print("Any other hub id works too: python -m lab models get org/name")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from lab.model.catalogue import resolve
    from lab.model.fetch import fetch_model

    hub_id = resolve(args.model)
    line = TransferLine()
    try:
        folder = fetch_model(hub_id, line)
    finally:
        line.end()
    print(f"{hub_id} is in {folder}. Use it with --model {hub_id} (or Model → Recent models in the app).")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from lab.model.fetch import remember_hub_token

    token = getpass.getpass("Hub token (from https://huggingface.co/settings/tokens): ") if sys.stdin.isatty() else sys.stdin.readline()
    kept = remember_hub_token(token)
    print("Saved in the system keyring." if kept else
          "No system keyring here (install the `keyring` package): set HF_TOKEN instead; the token was not saved.")
    return 0


class TransferLine:
    """Progress for a download on stderr: one line rewritten in place on a terminal, else a line every few seconds."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = -LOG_EVERY_S
        self._open = False

    def set_status(self, text: str) -> None:
        if self._tty:
            sys.stderr.write("\r\x1b[K" + " ".join(text.split())[:150])
            sys.stderr.flush()
            self._open = True
        elif not text.startswith("Downloading "):
            write_line(text)
        elif time.monotonic() - self._last >= LOG_EVERY_S:
            self._last = time.monotonic()
            write_line(text)

    def set_progress(self, done: int, total: int) -> None:
        pass  # the status line carries the bytes, speed and time left

    def cancelled(self) -> bool:
        return False

    def end(self) -> None:
        if self._open:
            sys.stderr.write("\n")
            self._open = False
