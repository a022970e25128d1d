"""Test helper, run as root inside `unshare -m` (its own mount namespace, so nothing outside sees
it): mount a small tmpfs as the lab's home, fill it, run the writing commands, then remount it
read-only and run them again. Prints one JSON object: per command its exit status and stderr, and
whether every file that existed before is byte-identical afterwards.

Usage: unshare -m python tests/fault_disk_driver.py MOUNT_POINT INPUT_FOLDER
"""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_helpers import record_session  # noqa: E402

from lab.store.export import to_json  # noqa: E402
from lab.store.lab_file import open_store  # noqa: E402

mount, inputs = Path(sys.argv[1]), Path(sys.argv[2])
subprocess.run(["mount", "--make-rprivate", "/"], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
home = mount / "home"
env = {**os.environ, "EMOTION_LAB_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
os.environ["EMOTION_LAB_HOME"] = str(home)

# Files that exist before the faults: a lab file with a session, an export, a scenario, an emotion.
db = home / "data" / "lab.db"
db.parent.mkdir(parents=True)
with open_store(db) as store:
    session_id, _ = record_session(store, title="kept")
    export = to_json(store.load_session(session_id, raw=True))
(inputs / "session.json").write_text(export, encoding="utf-8")
(mount / "old-export.md").write_text("the old export\n")
(mount / "old-scenario.yaml").write_text("title: old\nsteps:\n  - user: hi\n  - model: 5\n")
emotions = home / "data" / "emotions"
emotions.mkdir(parents=True)
(emotions / "kept.yaml").write_text("name: kept\ndescription: kept\nexamples: [" + ", ".join(f"kept text {i}" for i in range(8)) + "]\n")
(inputs / "examples.txt").write_text("\n".join(f"a new example sentence {i}" for i in range(10)) + "\n")


def snapshot() -> dict[str, str]:
    return {str(p.relative_to(mount)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(mount.rglob("*")) if p.is_file() and p.name != "filler" and "-wal" not in p.name and "-shm" not in p.name}


def commands() -> list[list[str]]:
    return [
        ["sessions", "import", str(inputs / "session.json"), "--db", str(db)],
        ["sessions", "export", str(session_id), str(mount / "old-export.md"), "--db", str(db)],
        ["scenarios", "import", str(inputs / "framework" / "configs" / "mini.yaml"), str(mount / "old-scenario.yaml")],
        ["add-emotion", "fresh", "--examples", str(inputs / "examples.txt")],
        ["add-emotion", "kept", "--examples", str(inputs / "examples.txt")],
        ["sessions", "list", "--db", str(db)],
    ]


def run_all(phase: str) -> list[dict]:
    results = []
    for argv in commands():
        before = snapshot()
        done = subprocess.run([sys.executable, "-m", "lab", *argv], capture_output=True, text=True, env=env, timeout=300)
        after = snapshot()
        changed = sorted(k for k in before if before[k] != after.get(k))
        results.append({"phase": phase, "argv": argv, "rc": done.returncode, "stderr": done.stderr, "stdout": done.stdout[-2000:],
                        "changed": changed})
    return results


# Fill the disk to the last block.
with open(mount / "filler", "wb", buffering=0) as filler:
    try:
        while True:
            filler.write(b"\0" * 4096)
    except OSError:
        pass
results = run_all("full")
subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
results += run_all("read-only")
print(json.dumps(results))
