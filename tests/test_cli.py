"""The headless CLI, run as a user would (`python -m lab ...` in a subprocess) on the embedded model.

EMOTION_LAB_HOME points at a home that shares the real user cache (fixture real_model_home), so the
converted model and its directions are reused while user-made emotions of this computer stay out.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.emotions.definitions import load_emotions

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = [e.name for e in load_emotions(include_user=False)]


@pytest.fixture(scope="module")
def cli(real_model_home):
    def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "EMOTION_LAB_HOME": str(real_model_home), "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"}
        return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    return run


def test_emotions_lists_every_builtin_emotion_with_the_reading_layer(cli):
    result = cli("emotions")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Reading layer ")
    summary = lines[1:6]
    assert [line.split()[0] for line in summary] == [f"{len(BUILTIN)}-way,", f"{len(BUILTIN)}-way,", "core", "neutral", "emotional"]
    rows = [line.split() for line in lines[6:]]
    assert [row[0] for row in rows] == BUILTIN
    assert all(row[1] == "built-in" and row[2] == "held-out" and "95% CI" in " ".join(row) for row in rows)


def test_read_json_gives_one_object_per_line(cli, tmp_path):
    texts = [
        "We laughed all afternoon at the picnic, and the sun was warm on our faces.",
        "Something scratched at the door in the dark, and I held my breath, shaking, too scared to move.",
    ]
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts[:1]) + "\n\n   \n" + texts[1] + "\n", encoding="utf-8")  # blank lines are skipped
    result = cli("read", str(path), "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["text"] for row in rows] == texts
    for row in rows:
        assert set(row) == {"text", "readings", "top"}
        assert list(row["readings"]) == BUILTIN
        assert all(isinstance(value, float) for value in row["readings"].values())
        assert row["top"] in BUILTIN
    assert rows[1]["readings"]["afraid"] > rows[0]["readings"]["afraid"]
    assert rows[0]["readings"]["happy"] > rows[1]["readings"]["happy"]


def test_generate_json_streams_tokens_then_a_summary(cli):
    result = cli("generate", "Hi", "--max-new-tokens", "5", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    *tokens, summary = rows
    assert 1 <= len(tokens) <= 5
    for row in tokens:
        assert set(row) == {"text", "readings", "readings_kind"}
        assert row["readings_kind"] == "push-free"
        assert list(row["readings"]) == BUILTIN
    assert summary["reply"] == "".join(row["text"] for row in tokens)
    assert summary["tokens"] == len(tokens)
    assert summary["steering"] == {}
    assert summary["reply"].strip()


def test_missing_file_is_one_line_on_stderr(cli, tmp_path):
    missing = tmp_path / "no-such-file.txt"
    result = cli("read", str(missing), timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "no-such-file.txt" in lines[0]
    assert result.stdout == ""
