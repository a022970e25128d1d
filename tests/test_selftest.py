"""`--self-test` (the frozen app's installer check) run from source, plus the frozen-aware paths."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.integration
def test_self_test_from_source_passes_and_prints_one_json_line(real_model_home, tmp_path):
    home = tmp_path / "home"  # the real cache (converted model, directions), nothing else
    home.mkdir()
    os.symlink((real_model_home / "cache").resolve(), home / "cache", target_is_directory=True)
    env = {**os.environ, "EMOTION_LAB_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "ui.shell.launcher", "--self-test", "--quiet"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(lines) == 1, result.stdout
    summary = json.loads(lines[0])
    assert summary["ok"] is True and summary["frozen"] is False
    assert summary["tokens"] > 0 and summary["session_tokens"] > summary["tokens"]
    assert summary["plot_bytes"] > 1000 and summary["report_bytes"] > 10_000  # the HTML report with its two plots
    assert summary["window"] == "opened and closed"
    assert not (home / "data" / "lab.db").exists()  # the recording went to a temporary file


def test_self_test_fails_with_the_reason_and_a_nonzero_exit(lab_home):
    env = {**os.environ, "EMOTION_LAB_HOME": str(lab_home), "QT_QPA_PLATFORM": "offscreen"}
    missing = str(lab_home / "no-such-model.gguf")
    result = subprocess.run([sys.executable, "-m", "ui.shell.launcher", "--self-test", "--quiet", "--model", missing],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] is False
    assert summary["errors"][0].startswith("load_model failed") and "not found" in summary["errors"][0]


def test_frozen_paths_resolve_inside_the_bundle_and_user_data_outside(monkeypatch, tmp_path):
    from lab.common import paths
    from lab.model import sources as model

    bundle = tmp_path / "_internal"
    (bundle / "models").mkdir(parents=True)
    (bundle / "models" / model.EMBEDDED_FILE).write_bytes(b"GGUF")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.delenv("EMOTION_LAB_HOME", raising=False)
    monkeypatch.setattr(paths.platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "user-data"))
    monkeypatch.setattr(paths.platformdirs, "user_cache_dir", lambda *a, **k: str(tmp_path / "user-cache"))
    assert paths.asset_path("emotions") == bundle / "assets" / "emotions"
    assert model.embedded_gguf_path() == bundle / "models" / model.EMBEDDED_FILE
    assert paths.default_db_path() == tmp_path / "user-data" / "lab.db"
    assert paths.cache_dir() == tmp_path / "user-cache"
    (bundle / "models" / model.EMBEDDED_FILE).unlink()
    from lab.common.errors import LabError

    with pytest.raises(LabError, match="missing from this installation"):
        model.embedded_gguf_path()

