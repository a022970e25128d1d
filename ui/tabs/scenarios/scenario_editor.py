"""The scenario builder's editor: the form and the YAML text kept in step, with live problems.

The YAML text is the source of truth. The form edits a parsed copy (a plain dict) and writes it
back as YAML; editing the YAML text updates the form whenever the text parses as a mapping. Every
change is validated with lab.scenarios.files.scenario_problems (line numbers included).
"""
from __future__ import annotations

from typing import Any

import yaml
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from lab.scenarios.files import scenario_problems, to_yaml
from ui.services.errors import ErrorFunnel
from ui.tabs.scenarios.scenario_form import ScenarioForm


class ScenarioEditor(QWidget):
    """Form and YAML pages (more pages may be added to `tabs`) above the list of problems."""

    text_changed = Signal(str)  # the YAML text changed (typed, loaded or written by the form)
    data_changed = Signal(dict)  # the parsed scenario changed
    problems_changed = Signal(list)  # the problems of the text now ([] when it is ready to run)

    def __init__(self, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems: list[str] = []
        self._writing = False
        self.form = ScenarioForm(errors)
        self.form.edited.connect(self._form_edited)
        self.form.yaml_problem.connect(lambda problem: self._validate(self.yaml_text(), [problem]))
        self.yaml_edit = QPlainTextEdit()
        self.yaml_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.yaml_edit.font()
        font.setFamily("monospace")
        self.yaml_edit.setFont(font)
        self.yaml_edit.textChanged.connect(self._yaml_changed)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setWidget(self.form)
        self.tabs = QTabWidget()
        self.tabs.addTab(form_scroll, "Form")
        self.tabs.addTab(self.yaml_edit, "YAML")
        self.problem_list = QListWidget(maximumHeight=90)
        self.problem_list.itemDoubleClicked.connect(self._go_to_problem)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(QLabel("Problems:"))
        layout.addWidget(self.problem_list)

    def yaml_text(self) -> str:
        return self.yaml_edit.toPlainText()

    def set_text(self, text: str, read_only: bool) -> None:
        """Show a scenario's YAML text (the form follows)."""
        self.yaml_edit.setPlainText(text)
        self.yaml_edit.setReadOnly(read_only)
        self.form.set_read_only(read_only)

    def _form_edited(self) -> None:
        """The form changed its data: show it as YAML (validated there)."""
        self._writing = True
        try:
            self.yaml_edit.setPlainText(to_yaml(self.form.data))
        finally:
            self._writing = False
        self.data_changed.emit(self.form.data)

    def _yaml_changed(self) -> None:
        text = self.yaml_text()
        self.text_changed.emit(text)
        self._validate(text)
        if self._writing:
            return
        try:
            data: Any = yaml.safe_load(text)
        except Exception:  # broken YAML: the problems list says where; the form keeps its last state
            return
        if isinstance(data, dict):
            self.form.show_data(data)
            self.data_changed.emit(data)

    def _validate(self, text: str, extra: list[str] | None = None) -> None:
        self.problems = [str(p) for p in scenario_problems(text)] + list(extra or [])
        self.problem_list.clear()
        if not self.problems:
            item = QListWidgetItem("No problems: this scenario is ready to run.")
            item.setForeground(QColor("#2e7d32"))
            self.problem_list.addItem(item)
        for problem in self.problems:
            item = QListWidgetItem(problem)
            item.setForeground(QColor("#c62828"))
            self.problem_list.addItem(item)
        self.problems_changed.emit(self.problems)

    def _go_to_problem(self, item: QListWidgetItem) -> None:
        text = item.text()
        if not text.startswith("line "):
            return
        try:
            line = int(text[5:].split(",")[0].split(":")[0])
        except ValueError:
            return
        self.tabs.setCurrentWidget(self.yaml_edit)
        block = self.yaml_edit.document().findBlockByLineNumber(line - 1)
        cursor = self.yaml_edit.textCursor()
        cursor.setPosition(block.position())
        self.yaml_edit.setTextCursor(cursor)
        self.yaml_edit.setFocus()
