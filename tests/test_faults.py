"""Fault injection: disk full / quota / read-only / permission at every write, symlinks and FIFOs in
the paths the lab writes and reads, and (test_faults_kill.py) kill -9 at random points.

EMOTION_LAB_LONG_FAULTS=1 runs many more iterations (the numbers in docs/reliability.md)."""
from __future__ import annotations

import errno
import os
import random

import pytest

from lab.common import atomic
from lab.common.errors import LabError, known_message
from fault_shims import failing_writes, iterations

FAULTS = [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO]


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("code", FAULTS)
@pytest.mark.parametrize("call", ["open", "write", "fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch, code, call):
    target = tmp_path / "out.json"
    target.write_bytes(b"the old file")
    data = os.urandom(3 * 65536)  # more than one os.write on most systems
    with failing_writes(monkeypatch, at=0, code=code, calls=(call,)), pytest.raises(LabError) as raised:
        atomic.write_bytes(target, data)
    assert target.read_bytes() == b"the old file"
    assert _leftovers(tmp_path) == []
    assert "\n" not in str(raised.value)
    if code != errno.EIO:
        assert str(tmp_path) in str(raised.value)  # names the folder


def test_disk_full_at_the_nth_write_never_changes_the_old_file(tmp_path, monkeypatch):
    """ENOSPC at a random write of a multi-write file, many times (more in long mode)."""
    rng = random.Random(21)
    target = tmp_path / "directions.safetensors"
    target.write_bytes(b"old")
    failed = 0
    for _ in range(iterations(20, 2000)):
        chunks = rng.randint(1, 6)

        def small_writes(fd, data, _write=os.write):
            return _write(fd, bytes(data[:4096]))

        monkeypatch.setattr(os, "write", small_writes)
        with failing_writes(monkeypatch, at=rng.randint(0, chunks), calls=("write",)):
            try:
                atomic.write_bytes(target, b"x" * (4096 * chunks))
                written = True
            except LabError as error:
                assert "disk is full" in str(error)
                written = False
        monkeypatch.undo()
        assert target.read_bytes() in (b"old", b"x" * (4096 * chunks)) and (written or target.read_bytes() == b"old")
        failed += not written
        target.write_bytes(b"old")
        assert _leftovers(tmp_path) == []
    print(f"disk full at a random write: {failed} writes failed, the old file intact every time")


def test_a_symlinked_target_is_replaced_never_followed(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    link = tmp_path / "out" / "scenario.yaml"
    link.parent.mkdir()
    link.symlink_to(outside)
    atomic.write_text(link, "new")
    assert outside.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "new"


def test_a_symlink_planted_at_the_old_partial_name_is_never_written_through(tmp_path):
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    (tmp_path / "OUT.yaml.partial").symlink_to(outside)
    atomic.write_text(tmp_path / "OUT.yaml", "new")
    assert outside.read_text() == "precious"
    assert (tmp_path / "OUT.yaml").read_text() == "new"


def test_the_temporary_file_is_created_exclusively_without_following_links(tmp_path, monkeypatch):
    """Even a link guessed at the temporary name is never opened: O_EXCL | O_NOFOLLOW."""
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "guessed")
    (tmp_path / ".OUT.yaml.guessed.tmp").symlink_to(outside)
    with pytest.raises(LabError):
        atomic.write_text(tmp_path / "OUT.yaml", "new")
    assert outside.read_text() == "precious" and not (tmp_path / "OUT.yaml").exists()


def test_text_that_utf8_cannot_hold_is_escaped_not_half_written(tmp_path):
    atomic.write_text(tmp_path / "a.md", "key \udc80 end")
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "key \\udc80 end"


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk is full"), (errno.EDQUOT, "quota"),
                                         (errno.EROFS, "read-only"), (errno.EACCES, "permission denied"),
                                         (errno.EPERM, "permission denied")])
def test_ordinary_faults_are_named_with_the_folder(tmp_path, code, words):
    message = known_message(OSError(code, os.strerror(code), str(tmp_path / "lab.db")))
    assert message is not None and words in message and str(tmp_path) in message and "\n" not in message


def test_other_os_errors_stay_unexpected():
    assert known_message(OSError(errno.EBADF, "bad file descriptor")) is None


# --- validate, then write; a stored file that no longer reads is set aside, never fatal -----------

GOOD_EXAMPLES = [f"a calm example sentence number {i}" for i in range(10)]


def _user_emotion_files(lab_home):
    from lab.emotions.definitions import user_dir

    return user_dir()


@pytest.mark.parametrize("content", [b"", b"name: half\nexamples:\n  - one\n  - tw", b"\xff\xfe not utf-8",
                                     b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nexamples: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
                                     "examples: [{}]\n".format(", ".join(["x" * 3000] * 8)).encode(),
                                     ('name: "calm\\n   99  forged row"\nexamples: [' + ", ".join(f"t{i}" for i in range(8)) + "]\n").encode()])
def test_a_damaged_user_emotion_is_set_aside_once_and_the_lab_still_starts(lab_home, caplog, content):
    from lab.emotions.definitions import load_emotions, save_user_emotion

    folder = _user_emotion_files(lab_home)
    save_user_emotion("calm2", GOOD_EXAMPLES)
    (folder / "broken.yaml").write_bytes(content)
    names = [e.name for e in load_emotions()]
    assert "calm2" in names and "broken" not in names
    assert (folder / "quarantine" / "broken.yaml").read_bytes() == content
    assert "set aside" in caplog.text
    caplog.clear()
    load_emotions()
    assert "set aside" not in caplog.text  # once, not on every start


def test_a_user_emotion_linked_to_an_endless_device_is_refused_at_once(lab_home):
    from lab.emotions.definitions import load_emotions

    (_user_emotion_files(lab_home) / "zero.yaml").symlink_to("/dev/zero")
    assert "zero" not in [e.name for e in load_emotions()]


def test_add_emotion_checks_every_limit_before_the_first_byte(lab_home):
    from lab.emotions.definitions import MAX_EXAMPLES, save_user_emotion

    folder = _user_emotion_files(lab_home)
    for examples in ([f"line {i}" for i in range(MAX_EXAMPLES + 1)], GOOD_EXAMPLES + ["x" * 5000], GOOD_EXAMPLES + ["bad \udc80"]):
        with pytest.raises(LabError):
            save_user_emotion("toomany", examples)
    assert list(folder.iterdir()) == []


def test_a_failed_extraction_puts_the_emotion_folder_back(lab_home):
    from lab.emotions.definitions import save_user_emotion, user_emotion_added

    folder = _user_emotion_files(lab_home)
    save_user_emotion("kept", GOOD_EXAMPLES)
    before = (folder / "kept.yaml").read_bytes()
    for name in ("fresh", "kept"):
        with pytest.raises(MemoryError), user_emotion_added(name, [t + " changed" for t in GOOD_EXAMPLES]):
            raise MemoryError
    assert sorted(p.name for p in folder.iterdir()) == ["kept.yaml"] and (folder / "kept.yaml").read_bytes() == before


def test_disk_full_while_saving_an_emotion_keeps_the_old_one(lab_home, monkeypatch):
    from lab.emotions.definitions import load_emotions, save_user_emotion

    save_user_emotion("kept", GOOD_EXAMPLES)
    with failing_writes(monkeypatch, at=0), pytest.raises(LabError, match="disk is full"):
        save_user_emotion("kept", [t + " new" for t in GOOD_EXAMPLES])
    assert [e.examples for e in load_emotions() if e.name == "kept"] == [tuple(GOOD_EXAMPLES)]


# --- a session stopped by a fault is shown interrupted, never left "recording" -------------------

def test_a_recording_stopped_by_a_full_disk_is_named_and_marked_interrupted(tmp_path):
    import sqlite3

    from store_helpers import SAMPLING, event, register

    from lab.store.lab_file import open_store

    with open_store(tmp_path / "lab.db") as store:
        model, directions = register(store)
        recorder = store.start_session("stopped by a full disk", model, directions, SAMPLING, app_version="test")
        recorder.begin_turn("assistant")
        writer = recorder._writer

        def disk_full(db, rows):
            raise sqlite3.OperationalError("database or disk is full")

        writer._write_rows = disk_full
        recorder.add_token(event(0, " a"))
        recorder.begin_turn("assistant")  # waits for the writer, which first flushes the token: that fails
        with pytest.raises(LabError, match="Recording stopped.*disk is full.*Free disk space"):
            recorder.add_token(event(1, " b"))
        with pytest.raises(LabError, match="Recording stopped"):
            recorder.finish()  # still writes the status where it can
        assert [s.status for s in store.list_sessions(None)] == ["interrupted"]
    assert "disk is full" in known_message(sqlite3.OperationalError("database or disk is full"))


def test_a_session_whose_recorder_died_is_shown_interrupted_even_read_only(tmp_path):
    import subprocess
    import sys

    from store_helpers import SAMPLING, register

    from lab.store.lab_file import open_store

    db = tmp_path / "lab.db"
    with open_store(db) as store:
        model, directions = register(store)
        recorder = store.start_session("the status write failed too", model, directions, SAMPLING, app_version="test")
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
        session_id = recorder.session_id
        store._writer.call(lambda d: d.execute("UPDATE sessions SET recorder_pid = ? WHERE id = ?", [int(dead), session_id]))
    with open_store(db, read_only=True) as store:
        assert [s.status for s in store.list_sessions(None)] == ["interrupted"]
        assert store.load_session(session_id).status == "interrupted"


# --- FIFOs and links in the paths the commands read and write ----------------------------------

def test_named_pipes_are_refused_at_once_by_every_reading_command(tmp_path, lab_home, capsys):
    from lab.cli.main import main

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for argv in (["read", str(fifo), "--no-record"], ["add-emotion", "x", "--examples", str(fifo)],
                 ["sessions", "import", str(fifo), "--db", str(tmp_path / "lab.db")], ["scenarios", "import", str(fifo), str(tmp_path / "o.yaml")],
                 ["scenarios", "check", str(fifo)], ["run", str(fifo)]):
        assert main(argv) == 2, argv  # before: blocked forever in open()
        err = capsys.readouterr().err
        assert "not a regular file" in err or "No scenario file" in err, (argv, err)
        assert "unexpected problem" not in err and err.count("\n") == 1


def test_scenarios_import_never_writes_through_a_planted_partial_link(tmp_path, capsys):
    from test_scenarios import write_framework

    from lab.cli.main import main

    config = write_framework(tmp_path / "framework")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "OUT.yaml.partial").symlink_to(victim)
    assert main(["scenarios", "import", str(config), str(tmp_path / "OUT.yaml")]) == 0
    assert victim.read_text() == "precious" and "variants" in (tmp_path / "OUT.yaml").read_text()


def test_a_failed_export_over_an_existing_file_keeps_it(tmp_path, monkeypatch, capsys):
    from store_helpers import record_session

    from lab.cli.main import main
    from lab.store.lab_file import open_store

    db = tmp_path / "lab.db"
    with open_store(db) as store:
        session_id, _ = record_session(store, title="an earlier session")
    for suffix in (".json", ".md", ".csv", ".html"):
        out = tmp_path / f"old{suffix}"
        out.write_text("the old export")
        with failing_writes(monkeypatch, at=0):
            assert main(["sessions", "export", str(session_id), str(out), "--db", str(db)]) == 2
        assert out.read_text() == "the old export" and "disk is full" in capsys.readouterr().err
        assert main(["sessions", "export", str(session_id), str(out), "--db", str(db)]) == 0
        assert out.read_text(encoding="utf-8") != "the old export"


def test_a_control_vector_export_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    import torch

    from lab.emotions.control_vectors import export_control_vector, read_control_vector

    out = tmp_path / "calm.gguf"
    export_control_vector(out, {0: torch.ones(8), 1: torch.ones(8)}, "llama")
    before = out.read_bytes()
    with failing_writes(monkeypatch, at=0, code=errno.EDQUOT), pytest.raises(LabError, match="quota"):
        export_control_vector(out, {0: torch.full((8,), 2.0)}, "llama")
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["calm.gguf"]
    assert sorted(read_control_vector(out)) == [0, 1]


def test_a_million_line_examples_file_is_refused_before_anything_is_written(tmp_path, lab_home, tiny_model_dir, capsys):
    from lab.cli.main import main
    from lab.emotions.definitions import load_emotions, user_dir

    examples = tmp_path / "million.txt"
    examples.write_text("".join(f"{i}\n" for i in range(1_000_000)))  # 6.9 MB, under the text-file limit
    assert main(["add-emotion", "big", "--examples", str(examples), "--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err
    assert "1000000 texts; the limit is 1000" in err and "unexpected problem" not in err and err.count("\n") == 1
    assert list(user_dir().iterdir()) == [] and "big" not in [e.name for e in load_emotions()]
