"""Run the frozen app's `--self-test` headless, the way a fresh classroom computer would.

    .venv/bin/python scripts/bundle_self_test.py [dist/EmotionLab]

The app runs with EMOTION_LAB_HOME set to a fresh temporary folder, so it converts the bundled
GGUF model itself (the path a first start takes, through gguf and transformers' GGUF loader).
Direction files already in this machine's user cache are copied in, so extraction (minutes) only
runs when none exist yet. Fails if the self-test fails, or if anything inside the bundle folder
was created or changed (recordings and caches belong in the user's folders).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TIMEOUT_S = 1800


def executable(bundle: Path) -> Path:
    return bundle / ("EmotionLab.exe" if os.name == "nt" else "EmotionLab")


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


def main(argv: list[str]) -> int:
    bundle = Path(argv[0] if argv else ROOT / "dist" / "EmotionLab").resolve()
    exe = executable(bundle)
    if not exe.is_file():
        print(f"bundle_self_test: {exe} not found; run `make package` first.", file=sys.stderr)
        return 2
    from lab.common.paths import cache_dir

    before = snapshot(bundle)
    with tempfile.TemporaryDirectory(prefix="emotion-lab-frozen-home-") as home:
        directions = cache_dir() / "directions"
        if directions.is_dir():
            shutil.copytree(directions, Path(home) / "cache" / "directions")
        env = {**os.environ, "EMOTION_LAB_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        started = time.perf_counter()
        try:
            result = subprocess.run([str(exe), "--self-test"], env=env, cwd=home, capture_output=True,
                                    text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"bundle_self_test: FAILED: the self-test did not finish within {TIMEOUT_S} s", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - started
    sys.stderr.write(result.stderr)
    print(result.stdout.strip())
    changed = sorted(name for name, stat in snapshot(bundle).items() if before.get(name) != stat)
    problems = []
    if result.returncode != 0:
        problems.append(f"the frozen self-test exited with {result.returncode}")
    try:
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        if not summary.get("ok"):
            problems.append("the summary says it failed: " + "; ".join(summary.get("errors", [])))
    except (IndexError, ValueError):
        problems.append("the self-test printed no JSON summary")
    if changed:
        problems.append(f"the app wrote inside the bundle: {', '.join(changed[:10])}")
    if problems:
        print("bundle_self_test: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"bundle_self_test: passed in {seconds:.1f} s (fresh user folders; nothing written inside the bundle)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
