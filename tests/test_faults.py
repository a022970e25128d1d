"""Fault injection: disk full / quota / read-only / permission at every write, symlinks and FIFOs in
the paths the lab writes and reads, and (test_faults_kill.py) kill -9 at random points.

EMOTION_LAB_LONG_FAULTS=1 runs many more iterations (the README's reliability numbers)."""
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
    for _ in range(iterations(20, 500)):
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
        target.write_bytes(b"old")
        assert _leftovers(tmp_path) == []


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
