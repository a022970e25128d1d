"""Fault injection for tests: a write shim that fails with a chosen errno at the N-th write (disk
full, quota, read-only disk), and the number of iterations (EMOTION_LAB_LONG_FAULTS=1: many more)."""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

LONG = os.environ.get("EMOTION_LAB_LONG_FAULTS") == "1"


def iterations(short: int, long: int) -> int:
    return long if LONG else short


@contextlib.contextmanager
def failing_writes(monkeypatch, at: int, code: int = errno.ENOSPC, calls: tuple[str, ...] = ("write",)) -> Iterator[list[int]]:
    """os.write (and the other named os calls) fail with `code` from the `at`-th call on (0-based);
    yields a one-item list counting the calls seen."""
    seen = [0]
    originals = {name: getattr(os, name) for name in calls}

    def shim(name):
        def call(*args, **kwargs):
            seen[0] += 1
            if seen[0] > at:
                raise OSError(code, os.strerror(code), args[0] if args and isinstance(args[0], (str, os.PathLike)) else None)
            return originals[name](*args, **kwargs)
        return call

    with monkeypatch.context() as patch:
        for name in calls:
            patch.setattr(os, name, shim(name))
        yield seen
