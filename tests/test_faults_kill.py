"""kill -9 at random points of every writing command that runs without a long model step: each
command is started as its own process and killed after a random delay; then the lab must start
(emotions load with nothing set aside, the session list and the scenario read) and every earlier
file must be intact: the old content or the complete new one, never a mix, a 0-byte file or damage.

EMOTION_LAB_LONG_FAULTS=1 runs many more kills (the numbers in docs/reliability.md)."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_shims import iterations
from store_helpers import record_session
from test_scenarios import write_framework

from lab.cli.main import main
from lab.store.export import to_json
from lab.store.lab_file import open_store

ROOT = Path(__file__).resolve().parents[1]
OLD_SCENARIO = "title: old\nsteps:\n  - user: hi\n  - model: 5\n"
OLD_EMOTION = "name: kept\ndescription: kept\nexamples: [" + ", ".join(f"kept text {i}" for i in range(8)) + "]\n"


def _lab(folder: Path, tiny_model_dir: Path) -> dict:
    """A lab home with a session, an export, a scenario and a user emotion; the commands that
    overwrite or add to each."""
    home, inputs = folder / "home", folder / "inputs"
    inputs.mkdir(parents=True)
    db = home / "data" / "lab.db"
    db.parent.mkdir(parents=True)
    with open_store(db) as store:
        session_id, _ = record_session(store, title="earlier session")
        exported = to_json(store.load_session(session_id, raw=True))
    (inputs / "session.json").write_text(exported, encoding="utf-8")
    (folder / "export.md").write_text("the old export\n")
    (folder / "scenario.yaml").write_text(OLD_SCENARIO)
    (home / "data" / "emotions").mkdir()
    (home / "data" / "emotions" / "kept.yaml").write_text(OLD_EMOTION)
    (inputs / "examples.txt").write_text("\n".join(f"a new example sentence {i}" for i in range(10)) + "\n")
    write_framework(inputs / "framework")
    return {
        "home": home, "db": db, "session": session_id,
        "commands": {
            "sessions import": ["sessions", "import", str(inputs / "session.json"), "--db", str(db)],
            "sessions export": ["sessions", "export", str(session_id), str(folder / "export.md"), "--db", str(db)],
            "scenarios import": ["scenarios", "import", str(inputs / "framework" / "configs" / "mini.yaml"), str(folder / "scenario.yaml")],
            "add-emotion": ["add-emotion", "kept", "--examples", str(inputs / "examples.txt"), "--model", str(tiny_model_dir)],
        },
    }


def _run(argv: list[str], home: Path, kill_after: float | None) -> int | None:
    env = {**os.environ, "EMOTION_LAB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "lab", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        return process.wait(timeout=900)
    try:
        return process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return None


@pytest.fixture(scope="module")
def complete(tmp_path_factory) -> dict[str, bytes]:
    """What the scenario and the emotion hold after their command ran to the end, made in-process
    by the same functions (add-emotion writes its YAML before the long extraction)."""
    from lab.emotions.definitions import save_user_emotion, user_dir
    from lab.scenarios.agentic_import import import_agentic
    from lab.scenarios.files import scenario_to_yaml

    folder = tmp_path_factory.mktemp("complete")
    config = write_framework(folder / "framework")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTION_LAB_HOME", str(folder / "home"))
        save_user_emotion("kept", [f"a new example sentence {i}" for i in range(10)])
        kept = (user_dir() / "kept.yaml").read_bytes()
    return {"scenario.yaml": scenario_to_yaml(import_agentic(config)).encode(), "kept.yaml": kept}


def _check_lab_starts(folder: Path, lab: dict, complete: dict[str, bytes], monkeypatch, capsys) -> None:
    from lab.emotions.definitions import load_emotions

    from lab.store.export import to_markdown

    with open_store(lab["db"], read_only=True) as store:
        new_export = to_markdown(store.load_session(lab["session"])).encode()
    assert (folder / "export.md").read_bytes() in (b"the old export\n", new_export)
    assert (folder / "scenario.yaml").read_bytes() in (OLD_SCENARIO.encode(), complete["scenario.yaml"])
    kept = lab["home"] / "data" / "emotions" / "kept.yaml"
    assert kept.read_bytes() in (OLD_EMOTION.encode(), complete["kept.yaml"])
    monkeypatch.setenv("EMOTION_LAB_HOME", str(lab["home"]))
    assert "kept" in [e.name for e in load_emotions()]
    assert not (lab["home"] / "data" / "emotions" / "quarantine").exists()  # nothing had to be set aside
    with sqlite3.connect(lab["db"]) as connection:
        assert connection.execute("PRAGMA quick_check").fetchone() == ("ok",)
    capsys.readouterr()
    assert main(["sessions", "list", "--db", str(lab["db"])]) == 0
    assert "earlier session" in capsys.readouterr().out
    assert main(["scenarios", "check", str(folder / "scenario.yaml")]) == 0


def test_kill_9_at_random_points_never_loses_or_breaks_a_file(tmp_path, tiny_model_dir, complete, monkeypatch, capsys):
    rng = random.Random(int(os.environ.get("EMOTION_LAB_FAULT_SEED", "21")))
    names = ["sessions import", "sessions export", "scenarios import", "add-emotion"]
    kills = finished = 0
    for i in range(iterations(len(names), 10 * len(names))):
        folder = tmp_path / f"run{i}"
        lab = _lab(folder, tiny_model_dir)
        started = time.monotonic()
        status = _run(lab["commands"][names[i % len(names)]], lab["home"], rng.uniform(0.3, 8.0))
        kills += status is None
        finished += status is not None
        _check_lab_starts(folder, lab, complete, monkeypatch, capsys)
        assert time.monotonic() - started < 600
    print(f"kill -9: {kills} killed mid-command, {finished} finished first; every lab started with its files intact")
