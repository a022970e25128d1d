"""SessionRecorder: records one session through the store's writer thread."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lab.common.errors import LabError
from lab.common.events import SteeringChange, TokenEvent
from lab.store import experiments
from lab.store.rows import SteeringRow, TokenRow, blob
from lab.store.write_jobs import now
from lab.store.writer import Writer


class SessionRecorder:
    """Records one session. A context manager: an exception inside marks the session interrupted.
    Use it from one thread (the generator's); every call only queues work for the writer thread,
    except begin_turn and finish, which wait for it."""

    def __init__(self, writer: Writer, session_id: int, on_finish: Callable[[SessionRecorder], None]) -> None:
        self.session_id = session_id
        self._writer = writer
        self._on_finish = on_finish
        self._turn: tuple[int, int] | None = None  # (turn index, turn row id)
        self._turns = 0
        self._finished = False

    def __enter__(self) -> SessionRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.finish()
            return
        try:
            self.finish(interrupted=True)
        except LabError:
            pass  # the original exception matters more

    def begin_turn(self, role: str, text: str | None = None) -> int:
        """Start a turn (ending any open one); text None means it is known only at end_turn."""
        if self._turn is not None:
            self.end_turn()
        index, session_id = self._turns, self.session_id
        row = {"session": session_id, "turn_index": index, "role": role, "text": text}
        turn_row = self._writer.call(lambda db: db["turns"].insert(row).last_pk)
        self._turn, self._turns = (index, turn_row), index + 1
        return index

    def add_token(self, event: TokenEvent, raw: Mapping[int, Any] | None = None) -> None:
        """Queue one token with its readings; raw maps layer -> residual vector (stored float32)."""
        if self._turn is None:
            raise RuntimeError("begin_turn() must come before add_token()")
        blobs = {layer: blob(vector) for layer, vector in raw.items()} if raw else None
        self._writer.append(TokenRow(self.session_id, self._turn[1], event, blobs))

    def steering(self, change: SteeringChange, row: int = 0) -> None:
        """Queue a change of steering strengths from `change.position` on, for batch row `row`."""
        turn_row = None if self._turn is None else self._turn[1]
        self._writer.append(SteeringRow(self.session_id, turn_row, row, change))

    def add_checks(self, names: list[str]) -> None:
        """Queue the names of the behaviour checks that fired on the open turn."""
        if self._turn is None:
            raise RuntimeError("begin_turn() must come before add_checks()")
        if names:
            index, session_id = self._turn[0], self.session_id
            self._writer.post(lambda db: experiments.insert_checks(db, session_id, index, names, "rule"))

    def end_turn(self, text: str | None = None, stopped: bool = False) -> None:
        """Close the open turn, setting its final text unless None; stopped: the answer was cut off
        before the model finished it. Commits everything queued."""
        if self._turn is None:
            raise RuntimeError("end_turn() without begin_turn()")
        turn_row, self._turn = self._turn[1], None
        update = {**({} if text is None else {"text": text}), **({"stopped": 1} if stopped else {})}
        self._writer.post(lambda db: db["turns"].update(turn_row, update) if update else None)

    def retitle(self, title: str) -> None:
        """Change the session's title (e.g. to say how it was steered)."""
        session_id = self.session_id
        self._writer.post(lambda db: db["sessions"].update(session_id, {"title": title}))

    def finish(self, interrupted: bool = False) -> None:
        """End the session as complete (or interrupted) and wait until all of it is on disk."""
        if self._finished:
            return
        self._finished = True
        self._on_finish(self)
        try:
            if self._turn is not None:
                self.end_turn()
        finally:
            status = "interrupted" if interrupted or self._writer.failed else "complete"
            update = {"status": status, "ended": now()}
            self._writer.call(lambda db: db["sessions"].update(self.session_id, update))
