"""`python -m lab generate --engine nnsight` on the embedded model, and the remote switch offline."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READING_TOL = 1e-3  # as in tests/test_nnsight_engine.py


@pytest.fixture(scope="module")
def cli(real_model_home, tmp_path_factory):
    db = tmp_path_factory.mktemp("nnsight-cli") / "lab.db"

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if k not in ("NDIF_API_KEY", "NDIF_HOST")}
        full = {**base, "EMOTION_LAB_HOME": str(real_model_home), "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8", **(env or {})}
        return subprocess.run([sys.executable, "-m", "lab", *args, "--db", str(db)], cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout)

    return run


@pytest.mark.integration
def test_generate_with_the_nnsight_engine_gives_the_default_engines_tokens_and_readings(cli):
    args = ("generate", "How was your day?", "--steer", "calm=0.03", "--json", "--max-new-tokens", "24")
    default, nnsight = cli(*args), cli(*args, "--engine", "nnsight")
    assert default.returncode == 0, default.stderr
    assert nnsight.returncode == 0, nnsight.stderr
    a, b = ([json.loads(line) for line in r.stdout.splitlines()] for r in (default, nnsight))
    assert [row.get("text") for row in a] == [row.get("text") for row in b]
    assert a[-1] == b[-1] and a[-1]["tokens"] > 0 and a[-1]["steering"] == {"calm": 0.03}
    for row_a, row_b in zip(a[:-1], b[:-1]):
        assert row_a["readings"].keys() == row_b["readings"].keys()
        assert all(abs(row_a["readings"][k] - row_b["readings"][k]) <= READING_TOL for k in row_a["readings"])
    listed = cli("sessions", "list").stdout.splitlines()
    assert len(listed) >= 2


@pytest.mark.parametrize(
    ("env", "missing"),
    [({}, "No NDIF API key"), ({"NDIF_API_KEY": "test-key", "NDIF_HOST": "http://127.0.0.1:9"}, "Cannot reach the NDIF server at http://127.0.0.1:9")],
)
def test_remote_fails_offline_with_one_line_naming_what_is_missing(cli, env, missing):
    result = cli("generate", "Hello", "--engine", "nnsight", "--remote", "--model", "meta-llama/Llama-3.1-8B", "--no-record", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], result.stderr
    assert "Traceback" not in result.stderr and "test-key" not in result.stderr


def test_remote_needs_the_nnsight_engine(cli):
    result = cli("generate", "Hello", "--remote", "--model", "meta-llama/Llama-3.1-8B", "--no-record", env={"NDIF_API_KEY": "k"})
    assert result.returncode != 0 and "--engine nnsight" in result.stderr and len(result.stderr.strip().splitlines()) == 1
