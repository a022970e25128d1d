"""Model menu: "Train the feeling away…" (lab.scenarios.suppression in the model thread, with
progress, time estimate and Stop) and a checkable "Suppression adapter" that switches the loaded
model's latest suppression adapter on or off, like a model variant.

Switching asks for a new recorded session (`model_changed`), so every session's runtime names the adapter it ran with.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from lab.model.adapter import load_adapter, remove_lora, saved_adapters
from lab.scenarios.suppression import DEFAULT_STEPS, SuppressionResult, run_suppression
from lab.scenarios.suppression_data import suppression_emotions
from ui.services.errors import ErrorFunnel
from ui.services.state import LabState
from ui.services.workers import Job, ModelRunner
from ui.shell.model_menu import ModelPicker

ABOUT = ("Fine-tunes the loaded model (a small LoRA adapter) to answer prompts that invite the emotion with composed "
         "replies, and a control adapter the same way on prompts that do not invite it. Then it compares, on prompts "
         "never trained on, how much the replies show the emotion (expression) with the reading inside while the "
         "model writes (representation). About {minutes} minutes on a laptop; Stop ends it.")


class SuppressionActions(QObject):
    """The two Model-menu actions; the menu's extra_actions show them."""

    status = Signal(str)  # one line for the status bar
    long_job_started = Signal()  # a job long enough to show the time left
    model_changed = Signal()  # the adapter changed the model under the conversation: the next message starts a new recording

    def __init__(self, state: LabState, runner: ModelRunner, errors: ErrorFunnel, picker: ModelPicker,
                 owner: QWidget) -> None:
        super().__init__(owner)
        self.state, self.runner, self.errors, self.owner = state, runner, errors, owner
        self.result_box: QMessageBox | None = None
        self.train_action = QAction("Train the feeling away…", owner)
        self.train_action.setStatusTip("Suppression training: can a model be trained not to show a feeling, while it stays inside?")
        self.train_action.triggered.connect(self.ask_and_train)
        self.toggle_action = QAction("Suppression adapter", owner, checkable=True)
        self.toggle_action.setStatusTip("Answer with the model fine-tuned not to express the emotion (starts a new session)")
        self.toggle_action.toggled.connect(self.switch)
        picker.extra_actions += [self.train_action, self.toggle_action]
        picker.menu.aboutToShow.connect(self.refresh)

    def latest_adapter(self) -> Path | None:
        """The loaded model's most recently trained suppression adapter."""
        engine = self.state.engine
        if engine is None:
            return None
        paths = [p for p in saved_adapters(engine.lm.identity) if p.stem.startswith("suppress-")]
        return max(paths, key=lambda p: p.stat().st_mtime, default=None)

    def refresh(self) -> None:
        """Enable what the loaded model allows and show whether its adapter is on."""
        engine = self.state.engine
        local = engine is not None and engine.backend == "local" and engine.remote is None
        self.train_action.setEnabled(local)
        path = self.latest_adapter() if local else None
        self.toggle_action.blockSignals(True)
        self.toggle_action.setEnabled(path is not None)
        self.toggle_action.setText(f"Suppression adapter ({path.stem})" if path else "Suppression adapter (train one first)")
        self.toggle_action.setChecked(bool(engine and engine.lm.adapter))
        self.toggle_action.blockSignals(False)

    def ask_and_train(self) -> None:
        engine = self.state.engine
        choices = [e for e in suppression_emotions() if engine is not None and e in engine.directions.emotions]
        if not choices:
            self.errors.report("No suppression-training set fits the loaded model's emotions.")
            return
        emotion, ok = QInputDialog.getItem(self.owner, "Train the feeling away", ABOUT.format(minutes=5) + "\n\nEmotion:",
                                           choices, 0, False)
        if ok:
            self.train(emotion)

    def train(self, emotion: str, steps: int = DEFAULT_STEPS) -> bool:
        """Run the experiment in the model thread; the verdict is shown when it ends."""
        engine = self.state.engine
        if engine is None or engine.backend != "local" or engine.remote is not None:
            self.errors.report("Training the feeling away needs a model loaded on this computer (not a remote one).")
            return False
        self.long_job_started.emit()
        job = Job(f"training the feeling away ({emotion}, {steps} steps per adapter)",
                  lambda ctx: run_suppression(engine, emotion, steps, progress=ctx), on_done=self.show_result,
                  on_finally=self.refresh)
        return self.runner.start(job)

    def show_result(self, result: SuppressionResult) -> None:
        self.model_changed.emit()
        self.status.emit(f"Suppression of {result.verdict.emotion}: {result.verdict.verdict}.")
        self.result_box = QMessageBox(QMessageBox.Icon.Information, "Can you train the feeling away?", result.summary(),
                                      QMessageBox.StandardButton.Ok, self.owner)
        self.result_box.setModal(False)
        self.result_box.show()

    def switch(self, on: bool) -> None:
        """Switch the adapter on (the latest one) or off in the model thread, then start a new session."""
        engine, path = self.state.engine, self.latest_adapter()
        if engine is None or (on and path is None):
            self.refresh()
            return
        work = (lambda ctx: load_adapter(engine.lm, path)) if on else (lambda ctx: remove_lora(engine.lm))
        started = self.runner.start(Job("switching the suppression adapter " + ("on" if on else "off"), work,
                                               on_done=lambda _: self.model_changed.emit(), on_finally=self.refresh,
                                               cancellable=False))
        if not started:
            self.refresh()
