"""A really full and a really read-only disk (a 2 MB tmpfs in a private mount namespace, filled to
the last block, then remounted read-only): every writing command ends in one named line (which
folder, what to do), never "unexpected problem", and every file that existed is byte-identical.
Needs root and mount namespaces (`unshare -m`); skipped elsewhere (the write shim in
test_faults.py covers the same faults everywhere)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_scenarios import write_framework

DRIVER = Path(__file__).with_name("fault_disk_driver.py")


def _can_mount() -> bool:
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --make-rprivate / && mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="needs root and mount namespaces for a real full / read-only disk")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> list[dict]:
    inputs = tmp_path_factory.mktemp("inputs")
    mount = tmp_path_factory.mktemp("mount")
    write_framework(inputs / "framework")
    done = subprocess.run(["unshare", "-m", sys.executable, str(DRIVER), str(mount), str(inputs)],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_full_and_read_only_disks_are_named_faults(results):
    for r in results:
        line = r["stderr"].strip()
        assert "unexpected problem" not in line and "Traceback" not in line, r
        if r["argv"][:2] == ["sessions", "list"] and r["phase"] == "read-only":
            assert r["rc"] == 0 and "kept" in r["stdout"], r  # browsing a read-only lab file still works
            continue
        assert r["rc"] == 2 and line.count("\n") == 0 and line.startswith("error: "), r
        words = "full" if r["phase"] == "full" else "read-only"
        assert words in line, r


def test_no_file_that_existed_was_changed(results):
    for r in results:
        assert r["changed"] == [], r
