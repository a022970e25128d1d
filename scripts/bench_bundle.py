"""`make bench` (bundle part): the frozen bundle's size on disk and its time to a visible window.

    .venv/bin/python scripts/bench_bundle.py [--rounds N] [--json] [dist/EmotionLab]

Time to window is measured from starting the process until it prints that its main window is
visible (`--time-to-window`), on a warm start: one untimed start first, then rounds that
alternate the frozen app and the app from source, and the best round of each counts.
Targets: the folder at most 1.0 GB (model included); the window within 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE_TARGET_BYTES = 1_000_000_000  # 1.0 GB
WINDOW_TARGET_S = 3.0
TIMEOUT_S = 120


def folder_size(folder: Path) -> tuple[int, int]:
    """(apparent bytes, bytes allocated on disk) of every file below `folder`, links not followed."""
    apparent = allocated = 0
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        stat = path.lstat()
        apparent += stat.st_size
        allocated += getattr(stat, "st_blocks", (stat.st_size + 511) // 512) * 512
    return apparent, allocated


def time_to_window(command: list[str]) -> tuple[float, float]:
    """(seconds from process start until it reported a visible window, the app's own count)."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    started = time.perf_counter()
    process = subprocess.Popen(command + ["--time-to-window"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                seconds = time.perf_counter() - started
                report = json.loads(line)
                if not report.get("window_visible"):
                    raise RuntimeError(f"{command[0]}: the window did not become visible")
                return seconds, float(report["time_to_window_s"])
        raise RuntimeError(f"{command[0]} --time-to-window printed no result (exit {process.wait()})")
    finally:
        try:
            process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", default=str(ROOT / "dist" / "EmotionLab"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    bundle = Path(args.bundle)
    exe = bundle / ("EmotionLab.exe" if os.name == "nt" else "EmotionLab")
    if not exe.is_file():
        print(f"bench_bundle: {exe} not found; run `make package` first.", file=sys.stderr)
        return 2
    apparent, allocated = folder_size(bundle)
    variants = {"frozen": [str(exe)], "source": [sys.executable, "-m", "ui.shell.launcher"]}
    for command in variants.values():  # warm-up: page cache, font caches
        time_to_window(command)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.rounds):
        for name, command in variants.items():
            result = time_to_window(command)
            if name not in best or result[0] < best[name][0]:
                best[name] = result
    result = {
        "bundle_bytes": apparent,
        "bundle_disk_bytes": allocated,
        "bundle_gb": round(allocated / 1e9, 3),
        "bundle_within_target": allocated <= SIZE_TARGET_BYTES,
        "time_to_window_s": round(best["frozen"][0], 2),
        "time_to_window_in_app_s": round(best["frozen"][1], 2),
        "time_to_window_source_s": round(best["source"][0], 2),
        "window_within_target": best["frozen"][0] <= WINDOW_TARGET_S,
        "rounds": args.rounds,
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bundle size on disk:    {allocated / 1e9:.3f} GB ({apparent / 1e6:.0f} MB of files; target <= 1.0 GB)")
        print(f"time to window, frozen: {result['time_to_window_s']:.2f} s warm, best of {args.rounds} (target <= {WINDOW_TARGET_S:.0f} s)")
        print(f"time to window, source: {result['time_to_window_source_s']:.2f} s (same rounds, for comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
