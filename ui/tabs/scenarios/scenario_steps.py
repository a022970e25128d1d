"""Scenario steps in the builder: what kind a step is, its one-line summary, and the dialog that edits one."""
from __future__ import annotations

from typing import Any

import yaml
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPlainTextEdit, QSpinBox, QVBoxLayout, QWidget

from lab.common.errors import LabError
from lab.scenarios.files import to_yaml

KINDS = ("user", "assistant", "model", "reset", "repeat")


def step_kind(step: Any) -> str:
    if isinstance(step, dict):
        for kind in KINDS:
            if kind in step:
                return kind
    return "?"


def step_summary(step: Any) -> str:
    """One line describing a step for the steps list."""
    kind = step_kind(step)
    only = f"  [only: {', '.join(map(str, step.get('only', [])))}]" if isinstance(step, dict) and step.get("only") else ""
    if kind in ("user", "assistant"):
        text = " ".join(str(step[kind]).split())
        return f"{kind.capitalize()}: {text[:90]}{'…' if len(text) > 90 else ''}{only}"
    if kind == "model":
        spec = step["model"] if isinstance(step["model"], dict) else {}
        steer = spec.get("steer")
        extra = f", steer {steer}" if steer else ""
        return f"Model turn (max {spec.get('max_tokens', 64)} tokens{extra}){only}"
    if kind == "reset":
        return f"Reset conversation{only}"
    if kind == "repeat":
        spec = step["repeat"] if isinstance(step["repeat"], dict) else {}
        inner = spec.get("steps") if isinstance(spec.get("steps"), list) else []
        return f"Repeat {spec.get('count', '?')}× ({len(inner)} steps){only}"
    return f"? {str(step)[:90]}"


class StepDialog(QDialog):
    """Edit one step: a text for messages, max tokens for model turns, YAML for anything else."""

    def __init__(self, step: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit step")
        self.step = dict(step)
        self.kind = step_kind(step)
        layout = QVBoxLayout(self)
        self.text: QPlainTextEdit | None = None
        self.tokens: QSpinBox | None = None
        if self.kind in ("user", "assistant"):
            layout.addWidget(QLabel(f"{self.kind.capitalize()} message (use {{name}} for variables):"))
            self.text = QPlainTextEdit(str(step[self.kind]))
            layout.addWidget(self.text)
        elif self.kind == "model" and isinstance(step["model"], dict):
            form = QFormLayout()
            self.tokens = QSpinBox(minimum=1, maximum=2048, value=int(step["model"].get("max_tokens", 64)))
            form.addRow("Max tokens:", self.tokens)
            layout.addLayout(form)
        else:
            layout.addWidget(QLabel("This step as YAML:"))
            self.text = QPlainTextEdit(to_yaml(step))
            layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 320)

    def result_step(self) -> dict:
        """The edited step; LabError (or yaml.YAMLError) when the YAML text is not a step."""
        step = dict(self.step)
        if self.kind in ("user", "assistant") and self.text is not None:
            step[self.kind] = self.text.toPlainText()
        elif self.tokens is not None:
            step["model"] = {**step["model"], "max_tokens": self.tokens.value()}
        elif self.text is not None:
            loaded = yaml.safe_load(self.text.toPlainText())
            if not isinstance(loaded, dict):
                raise LabError("A step must be a YAML mapping, e.g. 'user: Hello'.")
            step = loaded
        return step
