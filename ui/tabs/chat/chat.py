"""The conversation tab: system prompt, transcript, live plot, prompt box, Send/Stop and Regenerate."""
from __future__ import annotations

import random

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.common.events import SamplingSettings, TokenEvent
from lab.store.records import SessionRecord
from ui.services.errors import ErrorFunnel
from ui.tabs.chat.generation import generation_job
from ui.tabs.chat.generation_tab import GenerationTab
from ui.widgets.plot import ReadingsPlot
from ui.services.recorder import Recorder
from ui.widgets.sampling import SamplingPanel
from ui.services.state import LabState
from ui.widgets.transcript import LEGEND, TranscriptView, readings_summary
from ui.services.workers import ModelRunner


def session_system_prompt(record: SessionRecord) -> str:
    """The system prompt in force at the end of a recorded chat."""
    system = str((record.scenario or {}).get("system") or "")
    for turn in record.turns:
        if turn.role == "system":
            system = turn.text or ""
    return system


class ChatTab(GenerationTab):
    """A multi-turn chat whose answers stream in token by token, tinted by their readings."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, sampling: SamplingPanel,
                 errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(state, runner, recorder, sampling, errors, parent)
        self.messages: list[dict[str, str]] = []
        self._answer: list[str] = []

        self.system = QLineEdit(placeholderText="System prompt (optional): who should the assistant be?")
        self.system.setToolTip("Instructions the model sees before the conversation, e.g. 'You are a pirate.'")
        self.system.setText(state.system_prompt)
        self.system.textChanged.connect(state.set_system_prompt)
        state.system_prompt_changed.connect(self._show_system_prompt)
        self.transcript = TranscriptView()
        legend = QLabel(LEGEND)
        legend.setWordWrap(True)
        legend.setObjectName("legend")
        self.plot = ReadingsPlot()
        self.plot.setToolTip("Readings of the ticked emotions for every generated token. "
                             "Dashed: a new answer starts. Dotted: the steering changed. "
                             "Click a point to find its token in the transcript.")
        self.plot.point_picked.connect(self.show_token)
        self.prompt = QPlainTextEdit(placeholderText="Type a message and press Ctrl+Enter (or Send)…")
        self.prompt.setMaximumHeight(90)
        self.prompt.setTabChangesFocus(True)  # Tab moves on to Send, as in any form
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send the message (Ctrl+Enter). While the model writes, this button stops it (Esc).")
        self.send_button.clicked.connect(lambda: self.start_or_stop(self.send))
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Write the last answer again, with the current sliders and settings (Ctrl+R)")
        self.regenerate_button.clicked.connect(self.regenerate)
        self.edit_button = QPushButton("Edit last")
        self.edit_button.setToolTip("Take back your last message and its answer, and put the message in the "
                                    "box to change it and send it again (Ctrl+E)")
        self.edit_button.clicked.connect(self.edit_last)
        self.new_button = QPushButton("New conversation")  # the main window ends the recorded session too
        self.new_button.setToolTip("Start a fresh conversation (and a new recorded session) (Ctrl+N)")

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.transcript, 1)
        top_layout.addWidget(legend)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.plot)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        buttons = QVBoxLayout()
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.regenerate_button)
        buttons.addWidget(self.edit_button)
        buttons.addStretch(1)
        entry = QHBoxLayout()
        entry.addWidget(self.prompt, 1)
        entry.addLayout(buttons)
        header = QHBoxLayout()
        header.addWidget(self.system, 1)
        header.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        layout.addLayout(entry)
        runner.busy_changed.connect(self._update_buttons)
        state.engine_changed.connect(self._update_buttons)
        self._update_buttons()

    def send(self) -> None:
        """Send the prompt box as the next user message."""
        text = self.prompt.toPlainText().strip()
        if not text:
            self.status_message.emit("Type a message for the model first.")  # a hint, not a window to close
            self.prompt.setFocus()
            return
        if self.state.engine is None or self.runner.busy:
            return
        self.messages.append({"role": "user", "content": text})
        self.transcript.add_message("You", text)
        self.prompt.clear()
        self._generate()

    def regenerate(self) -> None:
        """Replace the last answer with a new one."""
        if self.runner.busy or self.state.engine is None or not self.messages:
            return
        if self.messages[-1]["role"] == "assistant":
            self.messages.pop()
            self.transcript.drop_last_answer()
            self.plot.drop_last_turn()
        self._generate()

    def edit_last(self) -> None:
        """Drop the last exchange (your message and its answer) and put your message back in the prompt box."""
        if self.runner.busy or not any(m["role"] == "user" for m in self.messages):
            return
        if self.messages[-1]["role"] == "assistant":
            self.messages.pop()
            self.plot.drop_last_turn()
        text = self.messages.pop()["content"]
        self.transcript.drop_last_exchange()
        self.plot.settle()
        self.last_events = []
        self.prompt.setPlainText(text)
        self.prompt.moveCursor(QTextCursor.MoveOperation.End)
        self.prompt.setFocus()
        self._update_buttons()

    def new_conversation(self) -> None:
        """Forget the messages (the recorded session is ended by the caller)."""
        self.messages = []
        self.last_events = []
        self.transcript.clear_all()
        self.plot.clear()
        self._update_buttons()

    def show_token(self, event: TokenEvent) -> None:
        """A point of the plot was clicked: select its token in the transcript, readings to the status bar."""
        span = self.transcript.select_event(event)
        number = span.number if span is not None else None
        self.status_message.emit(readings_summary(event, self.plot.shown, number))

    def continue_session(self, record: SessionRecord) -> bool:
        """Show a recorded chat (its system prompt, messages and readings) to go on talking from it.

        The caller ends the current recorded session first; the next turn starts a new recording."""
        if self.runner.busy:
            self.errors.report("Please wait until the model has finished before continuing a session.")
            return False
        if (record.scenario or {}).get("kind", "chat") != "chat":
            self.errors.report("Only chat sessions can be continued. Open the Compare tab to run this prompt again.")
            return False
        self.new_conversation()
        self.state.set_system_prompt(session_system_prompt(record))
        for turn in record.turns:
            text = record.turn_text(turn) or ""
            if turn.role == "user":
                self.messages.append({"role": "user", "content": text})
                self.transcript.add_message("You", text)
            elif turn.role == "assistant":
                generated = [t.event for t in record.tokens
                             if t.turn == turn.index and not t.event.is_prompt and t.event.row == 0]
                self.messages.append({"role": "assistant", "content": text.strip()})
                self.transcript.begin_answer()
                self.transcript.add_tokens(generated)
                self.plot.mark_turn(len(generated), draw_now=False)
                self.plot.add(generated)
        self.plot.settle()
        self._update_buttons()
        return True

    def rerun_session(self, record: SessionRecord) -> bool:
        """Ask a recorded chat's first message again in a new conversation: same system prompt, seed and
        sampling, the current sliders. The caller ends the current recorded session first."""
        user = next((record.turn_text(t) for t in record.turns if t.role == "user"), None)
        if self.runner.busy or self.state.engine is None or not user:
            self.errors.report("Cannot re-run this session now: " + (
                "it has no message." if not user else "the model is busy or not loaded."))
            return False
        self.new_conversation()
        self.state.set_system_prompt(session_system_prompt(record))
        self.messages.append({"role": "user", "content": user})
        self.transcript.add_message("You", user)
        self._generate(record.sampling)
        return self._running

    def _generate(self, settings: SamplingSettings | None = None) -> None:
        engine = self.state.engine
        assert engine is not None
        system = self.state.system_prompt
        messages = ([{"role": "system", "content": system}] if system else []) + list(self.messages)
        user_text = self.messages[-1]["content"]
        settings = settings or self.sampling.settings(seed=random.randrange(2**31))
        steering = self.state.steering_for()
        self._answer, self.last_events = [], []
        self.transcript.begin_answer()
        self.plot.mark_turn(settings.max_new_tokens)

        def finished() -> None:
            self.messages.append({"role": "assistant", "content": "".join(self._answer).strip()})
            if self.runner.last_stopped:
                self.transcript.mark_stopped()
            self._finish(steering)

        job = generation_job(
            engine, messages, steering, settings,
            open_log=lambda: self.recorder.chat_turn(engine, settings, system, user_text),
            on_items=self._show, on_finally=finished,
        )
        self._launch(job, steering)

    def _show(self, events: list[TokenEvent]) -> None:
        self.last_events.extend(events)
        generated = [e for e in events if not e.is_prompt]
        self._answer.extend(e.text for e in generated)
        self.transcript.add_tokens(generated)
        self.plot.add(generated)

    def _show_system_prompt(self, text: str) -> None:
        if self.system.text().strip() != text:
            self.system.setText(text)

    def _update_buttons(self) -> None:
        ready = self.state.engine is not None
        self.send_button.setText("Stop" if self._running else "Send")
        self.send_button.setEnabled(ready and (self._running or not self.runner.busy))
        self.regenerate_button.setEnabled(ready and not self.runner.busy and bool(self.messages))
        self.edit_button.setEnabled(not self.runner.busy and any(m["role"] == "user" for m in self.messages))
