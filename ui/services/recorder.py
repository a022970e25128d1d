"""The one place the app's runs go on record: a lab.store.lab_file session file.

Every tab records through it. Called from the model worker thread while generating (never from
widgets). A chat keeps one session for all its turns; each Compare run, scenario run and sweep
run is a session of its own. Recording failures never stop a chat or Compare generation: the
first one is kept in `failure` for the GUI to show.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lab.emotions.direction_set import DirectionSet
from lab.runtime.engine import Engine
from lab.common.errors import LabError
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.steering_changes import SteeringChanges
from lab.scenarios.runner import RunResult, run_scenario
from lab.scenarios.scenario import Scenario
from lab.scenarios.sweep import SweepPlan, SweepResult, sweep
from lab.sessions.recording import start_recording
from lab.store.lab_file import SessionRecorder, SessionStore, open_store
from lab.store.titles import SteeredTitle


def _title(text: str, prefix: str = "") -> str:
    line = " ".join(text.split())
    return prefix + (line[:60] + "…" if len(line) > 60 else line or "untitled")


class TurnLog:
    """One generation run: the prompt tokens go to the user turn, generated ones to the answer;
    the steering it sees goes into the session's title."""

    def __init__(self, recorder: Recorder, session: SessionRecorder | None, layers: tuple[int, ...],
                 title: SteeredTitle | None = None) -> None:
        self._recorder, self._session = recorder, session
        self._answering = False
        self._changes = SteeringChanges(layers)
        self._title = title
        self._retitle = False
        self._steered = False

    def token(self, event: TokenEvent) -> None:
        """Record one token, and a steering change whenever its strengths differ from the last."""
        if self._session is None:
            return
        try:
            if not event.is_prompt and not self._answering:
                self._session.end_turn()
                self._session.begin_turn("assistant")
                self._answering = True
            change = self._changes.change(event)
            if change is not None:
                self._session.steering(change, event.row)
                self._steered = self._steered or any(round(v, 3) for v in change.strengths.values())
                if self._title is not None and self._title.add(change.strengths):
                    self._retitle = True
            self._session.add_token(event)
        except LabError as error:
            self._fail(error)

    def end(self, answer: str, stopped: bool = False) -> None:
        """Close the run's open turn with the answer text; stopped: cut off before the model finished."""
        if self._session is None:
            return
        try:
            self._session.end_turn(answer if self._answering else None, stopped and self._answering)
            if not self._steered and self._title is not None:
                self._title.note_unsteered()
            if self._retitle and self._title is not None:
                self._session.retitle(self._title.text())
        except LabError as error:
            self._fail(error)

    def _fail(self, error: LabError) -> None:
        self._recorder.failed(error)
        self._session = None


class Recorder:
    """Adapter between the app and lab.store.lab_file; disabled (store None) when the file cannot be opened."""

    def __init__(self, store: SessionStore | None) -> None:
        self.store = store
        self.failure: LabError | None = None
        self._lock = threading.Lock()
        self._chat: SessionRecorder | None = None
        self._chat_directions: DirectionSet | None = None
        self._chat_system: str | None = None
        self._chat_title: SteeredTitle | None = None

    @classmethod
    def open(cls, path: Path | None = None) -> Recorder:
        """Open the lab file (default: lab.common.paths.default_db_path()); raises LabError."""
        return cls(open_store(path))

    def chat_turn(self, engine: Engine, sampling: SamplingSettings, system: str, user_text: str) -> TurnLog:
        """Begin a user turn of the chat session (starting one if needed)."""
        with self._lock:
            if self.store is None:
                return TurnLog(self, None, ())
            try:
                if self._chat is not None and self._chat_directions is not engine.directions:
                    self._finish_chat()
                if self._chat is None:
                    self._chat_title = SteeredTitle(_title(user_text))
                    self._chat = self._start(engine, self._chat_title.base, sampling, {"kind": "chat", "system": system})
                    self._chat_directions, self._chat_system = engine.directions, system
                elif system != self._chat_system:
                    self._chat.begin_turn("system", system)
                    self._chat.end_turn()
                    self._chat_system = system
                self._chat.begin_turn("user", user_text)
            except LabError as error:
                self.failed(error)
                return TurnLog(self, None, ())
            return TurnLog(self, self._chat, engine.directions.steering_layers, self._chat_title)

    def compare_run(self, engine: Engine, sampling: SamplingSettings, system: str, prompt: str,
                    strengths: dict[str, float]) -> tuple[TurnLog, SessionRecorder | None]:
        """A new session for one Compare run (row 0 unsteered, row 1 steered); finish it after."""
        if self.store is None:
            return TurnLog(self, None, ()), None
        scenario = {"kind": "compare", "system": system, "rows": {"0": "unsteered", "1": "steered"}, "strengths": strengths}
        title = SteeredTitle(_title(prompt, "Compare: "))
        try:
            session = self._start(engine, title.base, sampling, scenario)
            session.begin_turn("user", prompt)
        except LabError as error:
            self.failed(error)
            return TurnLog(self, None, ()), None
        return TurnLog(self, session, engine.directions.steering_layers, title), session

    def scenario_run(self, engine: Engine, scenario: Scenario, **options: Any) -> RunResult:
        """Run one scenario (lab.scenarios.runner.run_scenario options), recorded when recording is on."""
        return run_scenario(engine, scenario, store=self.store, **options)

    def sweep(self, engine: Engine, scenario: Scenario, plan: SweepPlan, **options: Any) -> SweepResult:
        """Run a sweep (lab.scenarios.sweep.sweep options), each run recorded when recording is on."""
        return sweep(engine, scenario, plan, store=self.store, **options)

    def add_label(self, session_id: int, turn: int, label: str) -> None:
        """Label a recorded turn; LabError if it cannot be stored."""
        if self.store is None:
            raise LabError("Sessions are not being recorded, so labels cannot be stored.")
        self.store.add_label(session_id, turn, label)

    def finish(self, session: SessionRecorder | None, interrupted: bool = False) -> None:
        if session is None:
            return
        try:
            session.finish(interrupted)
        except LabError as error:
            self.failed(error)

    def new_chat(self, interrupted: bool = False) -> None:
        """End the current chat session (interrupted: cut off mid-answer); the next turn starts a new one."""
        with self._lock:
            self._finish_chat(interrupted)

    def chat_session_id(self) -> int | None:
        """The id of the chat session being recorded now, if any."""
        with self._lock:
            return self._chat.session_id if self._chat is not None else None

    def close(self, interrupted: bool = False) -> None:
        """Finish the chat session (interrupted: the app quit while it answered) and close the file."""
        self.new_chat(interrupted)
        if self.store is not None:
            self.store.close()

    def failed(self, error: LabError) -> None:
        if self.failure is None:
            self.failure = error

    def take_failure(self) -> LabError | None:
        failure, self.failure = self.failure, None
        return failure

    def _start(self, engine: Engine, title: str, sampling: SamplingSettings, scenario: dict) -> SessionRecorder:
        assert self.store is not None
        return start_recording(self.store, engine, title, sampling, scenario)

    def _finish_chat(self, interrupted: bool = False) -> None:
        session, self._chat, self._chat_directions, self._chat_system = self._chat, None, None, None
        self._chat_title = None
        self.finish(session, interrupted)
