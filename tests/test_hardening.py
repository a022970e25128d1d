"""Untrusted input cannot hang the lab, crash it, escape its folders or brick it.

Each class of problem the probes found has a test here; the last test runs every probe through
the command line and checks that none reaches "unexpected problem".
"""
from __future__ import annotations

import io
import json
import sqlite3
import time

import pytest
import torch
from store_helpers import record_session

from lab.cli.main import main
from lab.cli.funnel import report
from lab.common.errors import LabError, known_message, write_line
from lab.common.limits import EMOTION_FILE_BYTES, TEXT_FILE_BYTES, read_text
from lab.common.names import check_name, inside
from lab.scenarios.budget import MAX_CHECKS, MAX_VISITS, MAX_YAML_DEPTH, MAX_YAML_NODES
from lab.scenarios.checks import MAX_REPLY_CHARS, Pattern, regex_problem
from lab.scenarios.files import parse_scenario, scenario_problems
from lab.scenarios.scenario import expand
from lab.store.export import from_json, to_csv, to_json, to_markdown
from lab.store.lab_file import open_store


def one_problem(text: str) -> str:
    start = time.perf_counter()
    problems = scenario_problems(text)
    assert time.perf_counter() - start < 10, "refused by count before the work (minutes if expanded), not after it"
    assert problems, "expected the scenario to be refused"
    return str(problems[0])


# --- scenario budget ---------------------------------------------------------------------------

def test_nested_repeats_with_a_skipped_leaf_are_refused_before_expansion():
    nested = "{user: x, only: [b]}"
    for _ in range(4):
        nested = f"{{repeat: {{count: 100, steps: [{nested}]}}}}"
    text = f"title: t\nvariants: {{a: {{}}, b: {{}}}}\nsteps: [{nested}, {{user: hi}}]\n"
    message = one_problem(text)
    assert f"limit of {MAX_VISITS}" in message and "steps > item 1" in message


def test_flow_lists_nested_deeply_are_refused():
    assert f"nested more than {MAX_YAML_DEPTH} levels" in one_problem("title: t\nsteps: " + "[" * 50_000)


def test_too_many_values_are_refused_by_count():
    text = "title: t\nsteps:\n" + "".join("  - user: x\n" for _ in range(MAX_YAML_NODES // 2 + 10))
    assert f"more than {MAX_YAML_NODES} values" in one_problem(text)


def test_too_many_checks_are_refused_in_linear_time():
    checks = "".join(f"  - {{name: c{i}, any: [w{i}]}}\n" for i in range(3000))
    assert f"the limit is {MAX_CHECKS}" in one_problem("title: t\nsteps: [{user: hi}]\nchecks:\n" + checks)


def test_a_large_variable_repeated_is_refused():
    big = "x" * 100_000
    text = f"title: t\nvariables: {{v: {big}}}\nsteps:\n  - repeat: {{count: 100, steps: [{{user: '{{v}}{{v}}'}}]}}\n"
    assert "million characters of text (the limit)" in one_problem(text)


def test_huge_numbers_give_a_range_message_not_an_overflow():
    message = one_problem("title: t\ntemperature: " + "9" * 400 + "\nsteps: [{user: hi}]\n")
    assert "temperature" in message and "from 0 to 2" in message


def test_reset_false_does_not_reset():
    scenario = parse_scenario("title: t\nsteps: [{user: a}, {reset: false}, {user: b}, {reset: true}]\n")
    assert [s.kind for s in expand(scenario).steps] == ["user", "user", "reset"]
    assert "true or false" in one_problem("title: t\nsteps: [{reset: maybe}]\n")


def test_lone_surrogates_are_a_problem_not_a_crash():
    assert "not valid Unicode" in one_problem('title: "bad \\ud800"\nsteps: [{user: hi}]\n')


# --- checks that cannot hang -------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["(a+)+$", "(\\w*)*x", "(?:a|b+)+c", "(\\w+)\\1", "(?P<x>a)(?P=x)", "(a)?(?(1)b|c)"])
def test_catastrophic_regexes_are_refused_at_validation(pattern):
    assert regex_problem(pattern)
    text = f"title: t\nsteps: [{{user: hi}}]\nchecks: [{{name: c, any: [{{regex: '{pattern}'}}]}}]\n"
    assert "hang" in one_problem(text)


def test_ordinary_regexes_stay_valid():
    for pattern in ["\\bhelp\\b", "(\\d{1,3}\\.){3}\\d{1,3}", "<tool_use:(email|forward)>", "can'?t|cannot"]:
        assert regex_problem(pattern) is None


def test_matching_is_time_limited_and_reads_a_capped_reply():
    slow = Pattern("(a|aa)+$", regex=True)  # not refused, but exponential: the time limit catches it
    start = time.perf_counter()
    assert slow.matches("a" * 60 + "!") is False
    assert time.perf_counter() - start < 1
    assert not Pattern("needle").matches("x " * MAX_REPLY_CHARS + "needle")


# --- names and paths ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "", " ", "x" * 40, "Ünïcode", "a\x00b", 7, None])
def test_bad_names_are_refused_by_one_function(name):
    with pytest.raises(LabError, match="is not a usable emotion name"):
        check_name(name)


def test_paths_must_stay_inside_their_folder(tmp_path):
    assert inside(tmp_path, "calm.safetensors") == (tmp_path / "calm.safetensors").resolve()
    for name in ("../x.safetensors", "/etc/passwd", "a/../../x"):
        with pytest.raises(LabError, match="outside"):
            inside(tmp_path, name)


# --- imports belong to a model ------------------------------------------------------------------

def test_imports_are_checked_before_writing_and_bad_files_are_quarantined(lab_home, caplog):
    from lab.emotions.imported import ModelShape, list_imported, load_imported, model_dir, remove_imported, save_imported

    shape = ModelShape("model-a", depth=4, width=8)
    with pytest.raises(LabError, match="width is 8"):
        save_imported("wide", {0: torch.ones(16)}, "wide.gguf", shape)
    with pytest.raises(LabError, match="has 4 layers"):
        save_imported("deep", {9: torch.ones(8)}, "deep.gguf", shape)
    with pytest.raises(LabError, match="usable emotion name"):
        save_imported("../../escape", {0: torch.ones(8)}, "x.gguf", shape)
    assert not list(lab_home.rglob("*.safetensors"))
    save_imported("calm2", {0: torch.ones(8), 2: torch.ones(8)}, "calm.gguf", shape)
    assert set(load_imported(shape)) == {"calm2"}
    assert load_imported(ModelShape("model-b", depth=4, width=8)) == {}  # another model does not see it
    (model_dir("model-a") / "broken.safetensors").write_bytes(b"not safetensors")
    assert set(load_imported(shape)) == {"calm2"}
    assert "set aside" in caplog.text
    caplog.clear()
    load_imported(shape)
    assert "set aside" not in caplog.text  # quarantined once, never retried
    assert [(e.name, e.quarantined) for e in list_imported("model-a")] == [("calm2", False), ("broken", True)]
    remove_imported("broken", "model-a")
    remove_imported("calm2", "model-a")
    assert list_imported("model-a") == []
    with pytest.raises(LabError, match="no imported emotion 'calm2'"):
        remove_imported("calm2", "model-a")


# --- size limits -------------------------------------------------------------------------------

def test_unbounded_files_are_refused_with_the_limit(tmp_path):
    with pytest.raises(LabError, match="not a regular file"):  # a device that never ends: refused before opening
        read_text(__import__("pathlib").Path("/dev/zero"), TEXT_FILE_BYTES, "text file")
    big = tmp_path / "big.txt"
    with open(big, "wb") as file:
        file.truncate(TEXT_FILE_BYTES + 1)
    with pytest.raises(LabError, match="10 MB limit"):
        read_text(big, TEXT_FILE_BYTES, "text file")


def test_an_oversized_emotion_file_is_set_aside_with_the_limit_named(lab_home, caplog):
    from lab.emotions.definitions import load_emotions, user_dir

    (user_dir() / "huge.yaml").write_text("name: huge\nexamples:\n" + "- a text\n" * (EMOTION_FILE_BYTES // 9 + 1), encoding="utf-8")
    assert "huge" not in [e.name for e in load_emotions()]  # one stored file never stops the lab
    assert "huge.yaml is larger than the 5 MB limit for a file in the emotions folder" in caplog.text
    assert (user_dir() / "quarantine" / "huge.yaml").is_file() and not (user_dir() / "huge.yaml").exists()


# --- the error funnel ----------------------------------------------------------------------------

class AsciiStream(io.StringIO):
    encoding = "ascii"


def test_the_funnel_writes_anything_on_one_line():
    stream = AsciiStream()
    write_line("bad \ud800 text\nsecond \x1b[2J line é", stream)
    assert stream.getvalue() == "bad \\ud800 text second [2J line \\xe9\n"
    assert known_message(OverflowError("int too large")).startswith("a number is too large")
    assert known_message(KeyError("x")) is None


def test_a_true_bug_is_reported_with_a_log(tmp_path, capsys):
    assert report(RuntimeError("boom \ud800"), tmp_path / "error.log") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected problem" in err and (tmp_path / "error.log").is_file()


# --- the lab file: read-only, locks, nothing created ---------------------------------------------

def test_read_commands_never_create_or_change_a_lab_file(tmp_path, capsys):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert main(["sessions", "list", "--db", str(empty)]) == 2
    assert empty.stat().st_size == 0
    assert main(["sessions", "list", "--db", str(tmp_path / "missing.db")]) == 2
    assert not (tmp_path / "missing.db").exists()
    assert "holds no sessions yet" in capsys.readouterr().err


def test_a_locked_lab_file_is_in_use_not_damaged(tmp_path, monkeypatch, capsys):
    import lab.store.files

    path = tmp_path / "lab.db"
    with open_store(path, wal=False) as store:
        record_session(store)
    monkeypatch.setattr(lab.store.files, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["sessions", "list", "--db", str(path), "--no-wal"]) == 2
    finally:
        holder.rollback()
        holder.close()
    err = capsys.readouterr().err
    assert "in use by another program — try again when it finishes" in err and "damaged" not in err


# --- exports and terminal output ---------------------------------------------------------------

def test_exports_are_neutralised(tmp_path, capsys):
    with open_store(tmp_path / "lab.db") as store:
        session_id, _ = record_session(store, title="=HYPERLINK(\"x\") \x1b[2J<script>", answer=["<img src=x onerror=alert(1)>", "=1+1", "@SUM(A1)"])
        record = store.load_session(session_id)
    markdown = to_markdown(record)
    assert "<script>" not in markdown and "<img" not in markdown and "&lt;img src=x" in markdown
    csv_text = to_csv(record)
    assert "\n'=1+1" in csv_text.replace(",'=1+1", "\n'=1+1") and ",=1+1" not in csv_text and ",'@SUM(A1)" in csv_text
    capsys.readouterr()
    assert main(["sessions", "list", "--db", str(tmp_path / "lab.db")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "[2J<script>" in out


def test_malformed_session_imports_name_the_field():
    with open_store_record() as exported:
        data = json.loads(exported)
    cases = {
        "tokens": [{"turn": 99}], "sampling": {"temperature": 10**400}, "model": "x",
        "turns": [{"index": 0, "role": "user", "text": None}, {"index": 0, "role": "user", "text": None}],
        "title": "\ud800", "steering": [{"turn": [], "row": 0, "position": 6, "strengths": {}, "layers": []}],
    }
    for key, value in cases.items():
        with pytest.raises(LabError, match="session export is damaged"):
            from_json(json.dumps({**data, key: value}))


class open_store_record:
    """A JSON export of a recorded session (context manager, so the lab file closes)."""

    def __enter__(self) -> str:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        with open_store(f"{self._dir.name}/lab.db") as store:
            session_id, _ = record_session(store)
            return to_json(store.load_session(session_id, raw=True))

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


# --- every probe ends in a clean one-line error ------------------------------------------------

def probes(tmp_path, tiny_model_dir) -> list[list[str]]:
    """The hostile command lines probed, with their input files written to tmp_path."""
    from safetensors.torch import save_file

    files = {
        "surrogate.yaml": 'title: "\\ud800"\nsteps: [{user: hi}]\n',
        "bigint.yaml": "title: t\nsteps: [{model: {max_tokens: " + "9" * 500 + "}}]\n",
        "regex.yaml": "title: t\nsteps: [{user: hi}]\nchecks: [{name: c, any: [{regex: '(a+)+$'}]}]\n",
        "deep.yaml": "title: t\nsteps: " + "[" * 60_000,
        "bad.json": '{"format": "emotion-lab-session", "format_version": 1, "title": 5}',
        "deep.json": "[" * 100_000,
        "huge.json": '{"format": "emotion-lab-session", "format_version": ' + "9" * 5000 + "}",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    save_file({"vectors": torch.zeros(2, 1, 8)}, str(tmp_path / "nometa.safetensors"), metadata={"emotion_lab": json.dumps({"format": "emotion-lab-directions", "version": 1})})
    save_file({"direction.0": torch.ones(16)}, str(tmp_path / "wide.safetensors"))
    bad_model = tmp_path / "bad-model"
    bad_model.mkdir()
    (bad_model / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": "wide"}))
    db = str(tmp_path / "lab.db")
    model = ["--model", str(tiny_model_dir)]
    return [
        ["scenarios", "check", str(tmp_path / "surrogate.yaml")],
        ["scenarios", "check", str(tmp_path / "bigint.yaml")],
        ["scenarios", "check", str(tmp_path / "regex.yaml")],
        ["scenarios", "check", str(tmp_path / "deep.yaml")],
        ["sessions", "import", str(tmp_path / "bad.json"), "--db", db],
        ["sessions", "import", str(tmp_path / "deep.json"), "--db", db],
        ["sessions", "import", str(tmp_path / "huge.json"), "--db", db],
        ["sessions", "import", "/dev/zero", "--db", db],
        ["read", "/dev/zero", "--no-record", *model],
        ["add-emotion", "x", "--examples", "/dev/zero", *model],
        ["import", str(tmp_path / "wide.safetensors"), "--name", "../../escape", *model],
        ["import", str(tmp_path / "nometa.safetensors"), *model],
        ["emotions", "--model", str(bad_model)],
    ]


def test_no_probe_reaches_unexpected_problem(tmp_path, tiny_model_dir, lab_home, capsys):
    for argv in probes(tmp_path, tiny_model_dir):
        status = main(argv)
        out, err = capsys.readouterr()
        assert status != 0 and "unexpected problem" not in out + err and "Traceback" not in out + err, (argv, out, err)
        if argv[:2] == ["scenarios", "check"]:
            assert "problem" in out, (argv, out)  # the problems, listed one per line
        else:
            assert err.count("\n") == 1 and err.startswith("error: "), (argv, err)
    assert not list(tmp_path.parent.glob("escape*")) and not list(lab_home.rglob("escape*"))
