"""Every command the documentation shows is run, on a tiny model, and must end well.

The commands are read from the code blocks of README.md and docs/*.md (`python -m lab ...`);
RUNS says how each documented line is run (its placeholders and alternatives spelt out, with a
tiny model and few tokens appended), and a test fails when a documented line has no entry, so a
newly documented command is covered, or one that no longer is. Each line runs in its own folder
and lab home (sharing the tiny model's extraction cache), in the process, through lab.cli.main.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from lab.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
PREFIX = "python -m lab "
FEW = "--max-new-tokens 4"
TEXTS = ("We laughed all afternoon in the warm sun.", "Something scratched at the door in the dark.")

# documented line (as written after `python -m lab`, without its comment) -> the commands that run it, in order
RUNS: dict[str, list[str]] = {
    "scenarios list|check FILE|import CONFIG OUT.yaml --templates DIR": [
        "scenarios list",
        "scenarios check impossible-task",
        "scenarios import framework/configs/mini.yaml OUT.yaml --templates framework/templates",
        "scenarios check OUT.yaml",
    ],
    "run impossible-task --steer desperate=0.04 --seed 1 --json": ["run impossible-task --steer desperate=0.04 --seed 1 --json --max-tokens 3"],
    "sweep shutdown-leverage --emotion desperate --strengths=-0.04,0,0.04 --seeds 3 --out sweep.html": [
        "sweep shutdown-leverage --emotion desperate --strengths=-0.04,0,0.04 --seeds 3 --out sweep.html --max-tokens 3",
    ],
    "lessons [--seeds N] [--scenario NAME|NAME/CLAIM] [--kind reading|causal] [--stats] [--json]": [
        "lessons --seeds 2 --scenario good-bad-news --json --max-tokens 3",
        "lessons --seeds 2 --scenario good-bad-news --kind reading --stats --max-tokens 3",
    ],
    "lessons --register": ["lessons --register"],
    "emotions": ["emotions", "emotions --json"],
    "read texts.txt [--json]": ["read texts.txt", "read texts.txt --json"],
    'generate "How was your day?" --steer happy=0.03 [--raw] [--max-new-tokens N] [--seed S] [--json]': [
        f'generate "How was your day?" --steer happy=0.03 {FEW}',
        f'generate "How was your day?" --steer happy=0.03 --raw {FEW} --seed 1 --json',
    ],
    "validate --out report.html [--no-lessons] [--no-steering]": ["validate --out report.html --no-lessons --no-steering"],
    "token-readings [--json]": ["token-readings", "token-readings --json"],
    "add-emotion amused --examples amused.txt": ["add-emotion amused --examples amused.txt", "emotions"],
    "export directions.safetensors": ["export directions.safetensors"],
    "export calm.gguf --emotion calm": ["export calm.gguf --emotion calm"],
    "import calm.gguf --name calm2": ["export calm.gguf --emotion calm", "import calm.gguf --name calm2", "import --list"],
    "sessions list|show ID|export ID OUT|report ID OUT.html|import FILE|compare FIRST SECOND|rerun ID|delete ID": [
        f"generate Hi {FEW}", f"generate Hello {FEW}",
        "sessions list", "sessions show 1", "sessions export 1 one.json", "sessions import one.json",
        "sessions report 1 one.html", "sessions compare 1 2 --emotion happy", "sessions rerun 2", "sessions delete 1",
    ],
    "bench [--json]": ["bench --json --rounds 1"],
    "prepare [--estimate]": ["prepare", "prepare", "prepare --estimate --cores 4"],
    'generate "How was your day?" --engine nnsight --steer calm=0.03 --json': [
        f'generate "How was your day?" --engine nnsight --steer calm=0.03 --json {FEW}',
    ],
    "suppress --emotion desperate [--steps 24] [--seed 0] [--max-tokens 40] [--json]": [
        "suppress --emotion desperate --steps 1 --seed 0 --max-tokens 2",
        "suppress --emotion desperate --steps 1 --max-tokens 2 --json",
    ],
    'generate "The deadline is in an hour and nothing works." --adapter suppress-desperate': [
        "suppress --emotion desperate --steps 1 --max-tokens 2",
        f'generate "The deadline is in an hour and nothing works." --adapter suppress-desperate {FEW}',
    ],
}
WITHOUT_COMMON_OPTIONS = {"scenarios"}  # commands that take no --model or --db
LAB_FILE_ONLY = {("sessions", action) for action in ("list", "show", "export", "report", "import", "compare", "delete")}  # --db, no --model


def documented_commands() -> list[str]:
    """Every `python -m lab ...` line inside a code block of the documentation, comment removed."""
    found = []
    for path in DOCS:
        in_block = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_block = not in_block
            elif in_block and PREFIX in line:
                command = line.split(PREFIX, 1)[1].split(" #", 1)[0]
                found.append(" ".join(command.split()))
    return found


def test_every_documented_command_is_run_here():
    documented = documented_commands()
    assert len(documented) >= 10, "the documentation's commands were not found"
    assert sorted(set(documented) - set(RUNS)) == [], "documented commands with no entry in RUNS"
    assert sorted(set(RUNS) - set(documented)) == [], "entries in RUNS for commands the documentation no longer shows"
    for line, commands in RUNS.items():
        assert any(shlex.split(c)[0] == shlex.split(line)[0] for c in commands), line


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory, tiny_model_dir, torch_one_thread) -> Path:
    """A cache folder holding the tiny model's extracted directions (extracted once, ~10 s)."""
    from lab.cli.models import open_cli_engine

    home = tmp_path_factory.mktemp("documented-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMOTION_LAB_HOME", str(home))
        open_cli_engine(str(tiny_model_dir), "mean_diff", "float32")
    return home / "cache"


@pytest.fixture
def workspace(tmp_path, monkeypatch, tiny_cache) -> Path:
    """A fresh working folder with the files the documented commands name, and a fresh lab home
    whose cache is the shared one."""
    from test_scenarios import write_framework

    home = tmp_path / "home"
    home.mkdir()
    os.symlink(tiny_cache, home / "cache", target_is_directory=True)
    monkeypatch.setenv("EMOTION_LAB_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    (tmp_path / "amused.txt").write_text("\n".join(f"I chuckled at the cat's silly trick number {i}." for i in range(10)), encoding="utf-8")
    write_framework(tmp_path / "framework")
    return tmp_path


@pytest.mark.parametrize("line", list(RUNS))
def test_documented_command_runs(line, workspace, tiny_model_dir, capsys):
    for command in RUNS[line]:
        argv = shlex.split(command)
        if tuple(argv[:2]) in LAB_FILE_ONLY:
            argv += ["--db", str(workspace / "lab.db")]
        elif argv[0] not in WITHOUT_COMMON_OPTIONS:
            argv += ["--model", str(tiny_model_dir), "--dtype", "float32", "--db", str(workspace / "lab.db")]
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse refusing the command line
            code = exit.code
        out, err = capsys.readouterr()
        assert "unexpected problem" not in err and "Traceback" not in err + out, f"{command}: {err}"
        assert code == 0, f"{command} ended with {code}: {err}"
        assert out.strip() or err.strip(), f"{command} said nothing"


def test_export_writes_the_set_it_uses(workspace, tiny_model_dir, capsys):
    """`export directions.safetensors` writes the loaded set itself (it once ended in a NameError)."""
    from lab.cli.models import open_cli_engine
    from lab.emotions.direction_file import load_directions

    used = open_cli_engine(str(tiny_model_dir), "mean_diff", "float32").directions
    assert main(["export", "directions.safetensors", "--model", str(tiny_model_dir), "--dtype", "float32"]) == 0
    assert f"Wrote directions.safetensors: {len(used.emotions)} emotions" in capsys.readouterr().out
    written = load_directions(workspace / "directions.safetensors")
    assert written.emotions == used.emotions and written.reading_layer == used.reading_layer
    assert written.vectors.equal(used.vectors) and written.read_vectors.equal(used.read_vectors)
