"""Recorded sessions and the conversation: a new one (File → New conversation), and a recorded one continued
in Chat or asked again in Chat or Compare (from the Sessions tab)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget

from lab.store.records import SessionRecord
from ui.services.errors import ErrorFunnel
from ui.services.recorder import Recorder
from ui.services.state import LabState
from ui.services.workers import ModelRunner
from ui.tabs.chat.chat import ChatTab
from ui.tabs.chat.compare import CompareTab

BUSY = "Please wait until the model has finished (or press Stop) first."


class SessionActions(QObject):
    """Starts, continues and re-runs recorded sessions in the Chat and Compare tabs."""

    status = Signal(str)  # one line for the status bar

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 chat: ChatTab, compare: CompareTab, tabs: QTabWidget) -> None:
        super().__init__(tabs)
        self.state, self.runner, self.recorder, self.errors = state, runner, recorder, errors
        self.chat, self.compare, self.tabs = chat, compare, tabs

    def new_session(self) -> None:
        """Stop any answer, end the recorded session and clear the conversation."""
        if self.runner.busy:
            self.runner.stop()
            self.runner.busy_changed.connect(self._new_session_when_idle)
            return
        self.recorder.new_chat()
        self.chat.new_conversation()
        self.status.emit("New session: the next message starts a new recording.")

    def _new_session_when_idle(self, busy: bool) -> None:
        if not busy:
            self.runner.busy_changed.disconnect(self._new_session_when_idle)
            self.new_session()

    def continue_session(self, record: SessionRecord) -> None:
        """Sessions tab: load a recorded chat into the Chat tab to keep talking (recorded as a new session)."""
        if self.runner.busy:
            self.errors.report(BUSY)
            return
        self.recorder.new_chat()
        if self.chat.continue_session(record):
            self.tabs.setCurrentWidget(self.chat)
            self.status.emit(f"Continuing session {record.id}: the next message starts a new recording.")

    def rerun_session(self, record: SessionRecord) -> None:
        """Sessions tab: ask a session's first message again (same seed and sampling, current sliders)."""
        if self.runner.busy:
            self.errors.report(BUSY)
            return
        if (record.scenario or {}).get("kind") == "compare":  # a Compare run: run it again in the Compare tab
            user = next((record.turn_text(t) for t in record.turns if t.role == "user"), "")
            self.state.set_system_prompt(str(record.scenario.get("system") or ""))
            self.compare.prompt.setPlainText(user)
            self.tabs.setCurrentWidget(self.compare)
            self.compare.run(record.sampling)
            return
        self.recorder.new_chat()
        if self.chat.rerun_session(record):
            self.tabs.setCurrentWidget(self.chat)
