"""The session store: recording, reading back, durability, concurrency and refusals."""
from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from store_helpers import EMOTIONS, SAMPLING, event, record_session, register

import lab.store.connection
import lab.store.lab_file
from lab.diagnostics.bench_store import bytes_per_token
from lab.common.errors import LabError
from lab.common.events import SteeringChange
from lab.store.records import compare_sessions
from lab.store.lab_file import open_store
from lab.store.files import network_filesystem

HELPER = Path(__file__).with_name("record_until_killed.py")


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "lab.db") as opened:
        yield opened


def same_readings(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def files_and_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_session_reads_back_exactly(store):
    session_id, events = record_session(store)
    record = store.load_session(session_id, raw=True)
    assert (record.title, record.status, record.notes, record.app_version) == ("a session", "complete", "first try", "0.1-test")
    assert record.scenario == {"system": "be kind", "sliders": [1, 2]}
    assert record.sampling == SAMPLING
    assert record.model.identity == "sha256:abc" and record.model.width == 8
    assert record.directions.emotions == tuple(EMOTIONS) and record.directions.layers == (10, 11)
    assert record.directions.calibration == {"mean": {"happy": 0.1}, "std": {"happy": 1.5}}
    assert [(t.role, t.text) for t in record.turns] == [("user", "Tell a story"), ("assistant", " Once upon a <time>\n")]
    assert [t.turn for t in record.tokens] == [1] * len(events)
    for got, sent in zip(record.tokens, events):
        assert (got.event.position, got.event.token_id, got.event.text, got.event.is_prompt, got.event.strengths) == (
            sent.position, sent.token_id, sent.text, sent.is_prompt, sent.strengths)
        assert same_readings(got.event.readings, sent.readings)
        np.testing.assert_array_equal(got.raw[12], np.linspace(-1, 1, 8, dtype=np.float32) * sent.position)
    assert [(s.turn, s.row, s.change) for s in record.steering] == [(1, 0, SteeringChange(6, {"happy": 2.0}, (10, 11)))]
    assert store.load_session(session_id).tokens[0].raw == {}


def test_models_and_direction_sets_are_registered_once(store):
    assert register(store) == register(store)
    assert store.register_model("other/path", "sha256:abc", "llama", 30, 8) == register(store)[0]


def test_list_search_and_delete(store):
    first, _ = record_session(store, "happy story")
    second, _ = record_session(store, "100% sad_story")
    assert [s.id for s in store.list_sessions()] == [second, first]
    assert [s.title for s in store.list_sessions("100%")] == ["100% sad_story"]
    assert store.list_sessions("y%") == [] and store.list_sessions("y_s") == []
    summary = store.list_sessions("happy")[0]
    assert (summary.turns, summary.tokens, summary.model_spec, summary.status) == (2, 9, "embedded", "complete")
    store.delete_session(first)
    assert [s.id for s in store.list_sessions()] == [second]
    with pytest.raises(LabError, match="no session"):
        store.load_session(first)
    assert len(store.load_session(second, raw=True).tokens) == 9


def test_reading_values_view_has_one_row_per_token_and_emotion(store, tmp_path):
    session_id, events = record_session(store)
    with sqlite3.connect(tmp_path / "lab.db") as c:
        rows = c.execute("SELECT position, emotion, value FROM reading_values WHERE session = ? ORDER BY token",
                         [session_id]).fetchall()
    assert len(rows) == len(events) * len(EMOTIONS)
    assert rows[0] == (0, "happy", events[0].readings["happy"])
    assert rows[-1] == (events[-1].position, "calm", None)  # NaN is stored as null


def test_exception_inside_session_marks_it_interrupted(store):
    model, directions = register(store)
    with pytest.raises(ZeroDivisionError):
        with store.start_session("boom", model, directions, SAMPLING, app_version="t") as rec:
            rec.begin_turn("assistant")
            rec.add_token(event(0, "x"))
            1 / 0
    record = store.load_session(rec.session_id)
    assert record.status == "interrupted" and len(record.tokens) == 1
    assert record.turn_text(record.turns[0]) == "x"  # unfinished turn: text from its tokens


def test_closing_the_store_interrupts_open_sessions_and_refuses_deleting_live_ones(tmp_path):
    store = open_store(tmp_path / "lab.db")
    model, directions = register(store)
    rec = store.start_session("open", model, directions, SAMPLING, app_version="t")
    rec.begin_turn("assistant")
    rec.add_token(event(0, "x"))
    with pytest.raises(LabError, match="still recording"):
        store.delete_session(rec.session_id)
    store.close()
    with open_store(tmp_path / "lab.db") as reopened:
        assert reopened.load_session(rec.session_id).status == "interrupted"


def test_add_token_only_enqueues_and_batches_commit_within_a_second(store, tmp_path):
    model, directions = register(store)
    rec = store.start_session("fast", model, directions, SAMPLING, app_version="t")
    rec.begin_turn("assistant")
    raw = {12: np.ones(576, dtype=np.float32), 20: np.ones(576, dtype=np.float32)}
    started = time.perf_counter()
    for i in range(2000):
        rec.add_token(event(i, " w"), raw)
    per_token = (time.perf_counter() - started) / 2000
    assert per_token < 200e-6, f"add_token took {per_token * 1e6:.0f} us"
    time.sleep(1.0)
    with sqlite3.connect(tmp_path / "lab.db") as c:
        assert c.execute("SELECT count(*) FROM tokens").fetchone()[0] == 2000
        assert c.execute("SELECT count(*) FROM residuals").fetchone()[0] == 4000
    rec.finish()


def test_readers_read_while_a_session_records(store, tmp_path):
    model, directions = register(store)
    rec = store.start_session("live", model, directions, SAMPLING, app_version="t")
    rec.begin_turn("assistant")
    browser = open_store(tmp_path / "lab.db", read_only=True)
    other_app = open_store(tmp_path / "lab.db")  # a second app instance must not mark a live session interrupted
    long_reader = sqlite3.connect(tmp_path / "lab.db")
    long_reader.execute("BEGIN")
    long_reader.execute("SELECT count(*) FROM tokens").fetchone()  # holds a read snapshot throughout

    def generate():
        for i in range(300):
            rec.add_token(event(i, " w"))
            time.sleep(0.005)
        rec.finish()

    thread = threading.Thread(target=generate)
    thread.start()
    seen = []
    while thread.is_alive():
        seen.append(len(browser.load_session(rec.session_id).tokens))
        assert other_app.list_sessions()[0].status in ("recording", "complete")
        time.sleep(0.05)
    thread.join()
    assert seen == sorted(seen) and any(0 < n < 300 for n in seen)
    assert len(browser.load_session(rec.session_id).tokens) == 300
    assert long_reader.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0  # its snapshot predates the writes
    long_reader.close()
    browser.close()
    other_app.close()


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_sigkill_mid_generation_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "lab.db"
    log = tmp_path / "progress.txt"
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, str(HELPER), str(db)], stdout=out, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        committed = 0
        while committed < 200:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the helper did not commit tokens in time"
            time.sleep(0.1)
            if db.exists():
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                    try:
                        committed = c.execute("SELECT count(*) FROM tokens").fetchone()[0]
                    except sqlite3.OperationalError:  # schema not created yet
                        pass
        time.sleep(0.37)  # land somewhere inside a batch
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    queued_at = {}
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            queued_at[int(parts[0])] = float(parts[1])
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with open_store(db) as store:
        record = store.load_session(1)
        assert record.status == "interrupted"
        kept = len(record.tokens)
        assert [t.event.position for t in record.tokens] == list(range(kept))
        must_keep = sum(1 for t in queued_at.values() if t < killed_at - 1.0)
        assert kept >= must_keep, f"lost tokens queued more than a second before the kill ({kept} < {must_keep})"
        assert kept <= max(queued_at)
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_file_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "lab.db"
    open_store(path).close()
    c = sqlite3.connect(path)
    c.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('emotion_lab', '999_future', 'x')")
    c.commit()
    c.close()
    before = files_and_bytes(tmp_path)
    for read_only in (False, True):
        with pytest.raises(LabError, match="newer version.*left untouched"):
            open_store(path, read_only=read_only)
    assert files_and_bytes(tmp_path) == before


def test_non_sqlite_and_foreign_files_are_refused_untouched(tmp_path):
    text = tmp_path / "notes.db"
    text.write_text("just some notes, not a database\n" * 100)
    foreign = tmp_path / "other.db"
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    c.commit()
    c.close()
    before = files_and_bytes(tmp_path)
    with pytest.raises(LabError, match="not an SQLite database.*left untouched"):
        open_store(text)
    with pytest.raises(LabError, match="not an Emotion Lab file.*left untouched"):
        open_store(foreign)
    with pytest.raises(LabError, match="is a folder"):
        open_store(tmp_path)
    assert files_and_bytes(tmp_path) == before


def test_damaged_file_is_refused_untouched(tmp_path):
    path = tmp_path / "lab.db"
    with open_store(path) as store:
        for n in range(3):
            record_session(store, f"session {n}", answer=[" word"] * 300)
    data = bytearray(path.read_bytes())
    page = lab.store.connection.PAGE_SIZE
    assert len(data) >= 4 * page
    data[2 * page:3 * page] = np.random.default_rng(0).integers(0, 256, page, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    before = files_and_bytes(tmp_path)
    with pytest.raises(LabError, match="damaged.*left untouched"):
        open_store(path)
    assert files_and_bytes(tmp_path) == before


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder with a lab file in it, then made read-only (immutable when running as root)."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    with open_store(folder / "lab.db") as store:
        session_id, _ = record_session(store)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
            pytest.skip("running as root and cannot make a folder immutable")
        undo = ["chattr", "-i", str(folder)]
    else:
        folder.chmod(0o555)
        undo = ["chmod", "755", str(folder)]
    yield folder, session_id
    subprocess.run(undo, check=True)


def test_read_only_location_gives_a_way_forward(read_only_folder):
    folder, session_id = read_only_folder
    before = files_and_bytes(folder)
    with pytest.raises(LabError, match="read-only.*--db PATH"):
        open_store(folder / "new.db")
    with pytest.raises(LabError, match="Cannot create the folder"):
        open_store(folder / "more" / "new.db")
    with pytest.raises(LabError, match="--read-only"):
        open_store(folder / "lab.db")
    with open_store(folder / "lab.db", read_only=True) as store:
        assert store.load_session(session_id).status == "complete"
        with pytest.raises(LabError, match="read-only"):
            register(store)
    assert files_and_bytes(folder) == before


def test_network_folders_are_detected(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(
        "/dev/vda / ext4 rw 0 0\n"
        "server:/export /mnt/lab nfs4 rw,relatime 0 0\n"
        "//nas/share /mnt/my\\040share cifs rw 0 0\n"
        "host:/home /mnt/lab/ssh fuse.sshfs rw 0 0\n"
    )
    assert network_filesystem(Path("/mnt/lab/sessions/lab.db"), mounts) == "nfs4"
    assert network_filesystem(Path("/mnt/my share/lab.db"), mounts) == "cifs"
    assert network_filesystem(Path("/mnt/lab/ssh/lab.db"), mounts) == "fuse.sshfs"
    assert network_filesystem(Path("/mnt/lab2/lab.db"), mounts) is None
    assert network_filesystem(Path("/home/me/lab.db"), mounts) is None


def test_network_folder_is_refused_unless_wal_is_off(tmp_path, monkeypatch):
    monkeypatch.setattr(lab.store.lab_file, "network_filesystem", lambda path: "nfs4")
    with pytest.raises(LabError, match="network folder.*--no-wal"):
        open_store(tmp_path / "lab.db")
    assert not (tmp_path / "lab.db").exists()
    with open_store(tmp_path / "lab.db", wal=False) as store:
        session_id, _ = record_session(store)
        assert store.load_session(session_id).status == "complete"
    with sqlite3.connect(tmp_path / "lab.db") as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_failed_writes_stop_recording_with_a_clear_error(tmp_path, monkeypatch):
    def disk_full(db, rows):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(lab.store.lab_file, "write_rows", disk_full)
    with open_store(tmp_path / "lab.db") as store:
        model, directions = register(store)
        rec = store.start_session("full disk", model, directions, SAMPLING, app_version="t")
        rec.begin_turn("assistant")
        rec.add_token(event(0, "x"))
        time.sleep(lab.store.lab_file.FLUSH_SECONDS + 0.3)
        with pytest.raises(LabError, match="Recording stopped.*disk is full"):
            rec.add_token(event(1, "y"))
        with pytest.raises(LabError, match="Recording stopped"):
            rec.finish()
        assert store.load_session(rec.session_id).status == "interrupted"


def test_schema_is_migrated_once(tmp_path):
    for _ in range(2):
        open_store(tmp_path / "lab.db").close()
    with sqlite3.connect(tmp_path / "lab.db") as c:
        applied = c.execute("SELECT migration_set, name FROM _sqlite_migrations").fetchall()
        assert applied == [("emotion_lab", "001_initial"), ("emotion_lab", "002_checks_and_experiments"),
                           ("emotion_lab", "003_push_free_readings"), ("emotion_lab", "004_stopped_turns"),
                           ("emotion_lab", "005_session_runtime")]
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_compare_sessions_token_by_token(store):
    a, _ = record_session(store, "a", answer=[" x", " y"])
    b, _ = record_session(store, "b", answer=[" x", " y", " z"])
    pairs = compare_sessions(store.load_session(a), store.load_session(b))
    assert len(pairs) == 4 + 3
    assert all(p.a.text == p.b.text and p.difference("happy") == 0 for p in pairs[:6])
    assert pairs[-1].a is None and pairs[-1].b.text == " z" and pairs[-1].difference("happy") is None


def test_bytes_per_token_benchmark():
    # 2,000 tokens (under 2 s): the file grows in 16 kB pages, so 300 tokens could not see 50 bytes a token
    plain, with_raw = bytes_per_token(False, tokens=2000), bytes_per_token(True, tokens=2000)
    # measured 426 and 5,136 bytes per token (docs/performance.md); the same synthetic session each time, so only a
    # change in how tokens are stored moves them (pages make steps of 8 bytes a token)
    assert plain == pytest.approx(426, rel=0.03)
    assert 2 * 576 * 4 < with_raw == pytest.approx(5136, rel=0.03)  # at least the two float32 residuals
