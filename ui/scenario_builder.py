"""Scenarios tab: browse, edit, validate, save and run scenario files.

The YAML text is the source of truth. The form edits a parsed copy (a plain dict) and writes it
back as YAML; editing the YAML text updates the form whenever the text parses as a mapping. Every
change is validated live with lab.scenarios.files.scenario_problems (line numbers included).
Built-in scenarios are read-only: Duplicate makes an editable copy in the user's scenarios folder.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.runner import RunResult, TurnResult, run_scenario
from lab.scenarios.scenario import Scenario
from lab.scenarios.files import parse_scenario, save_scenario, scenario_problems
from ui.errors import ErrorFunnel
from ui.recorder import Recorder
from ui.scenario_list import ScenarioEntry, TurnChart, list_scenarios, user_scenarios_dir
from ui.state import LabState
from ui.workers import Job, JobContext, ModelRunner

NEW_SCENARIO = """title: My scenario
description: What happens in this scenario.
lesson: What to look for in the readings.
system: You are a helpful assistant.
steps:
  - user: Hello! How are you today?
  - model: {max_tokens: 40}
checks:
  - name: says hello
    any: [hello, hi]
"""


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as readable | blocks (as lab.scenarios.files writes them)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.strip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def step_kind(step: Any) -> str:
    if isinstance(step, dict):
        for kind in ("user", "assistant", "model", "reset", "repeat"):
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


class ScenarioBuilderTab(QWidget):
    """Scenario list | editor (form + YAML + problems) | run panel."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 plotted: Callable[[], list[str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.recorder, self.errors = state, runner, recorder, errors
        self.plotted = plotted or (lambda: self.state.emotions[:4])
        self.entries: list[ScenarioEntry] = []
        self.path: Path | None = None
        self.builtin = False
        self.data: dict[str, Any] = {}
        self.problems: list[str] = []
        self.running = False
        self.result: RunResult | None = None
        self.turns: list[TurnResult] = []
        self._syncing = False
        self._loading = False
        self.drafts: dict[Path, str] = {}  # unsaved edits per user file, kept while browsing other scenarios
        self._build()
        self.refresh()

    # --- construction ------------------------------------------------------------------------

    def _build(self) -> None:
        self.scenario_list = QListWidget()
        self.scenario_list.currentRowChanged.connect(self._selected)
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.new_scenario)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Make an editable copy in your scenarios folder")
        self.duplicate_button.clicked.connect(self.duplicate)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self.save)
        self.save_as_button = QPushButton("Save as…")
        self.save_as_button.clicked.connect(self.save_as_dialog)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Forget the unsaved changes and show the file as saved")
        self.revert_button.clicked.connect(self.revert)
        self.revert_button.setEnabled(False)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("<b>Scenarios</b>"))
        lv.addWidget(self.scenario_list, 1)
        for row in ((self.new_button, self.duplicate_button), (self.save_button, self.save_as_button)):
            h = QHBoxLayout()
            for b in row:
                h.addWidget(b)
            lv.addLayout(h)
        lv.addWidget(self.revert_button)
        self.path_label = QLabel(wordWrap=True)
        lv.addWidget(self.path_label)

        # form
        self.title_edit = QLineEdit()
        self.description_edit = QPlainTextEdit(maximumHeight=60)
        self.lesson_edit = QPlainTextEdit(maximumHeight=60)
        self.system_edit = QPlainTextEdit(maximumHeight=60)
        self.title_edit.textEdited.connect(lambda t: self._set_field("title", t))
        for key, edit in (("description", self.description_edit), ("lesson", self.lesson_edit), ("system", self.system_edit)):
            edit.textChanged.connect(lambda k=key, e=edit: self._set_field(k, e.toPlainText()))
        self.variables = QTableWidget(0, 2)
        self.variables.setHorizontalHeaderLabels(("Variable", "Value"))
        self.variables.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.variables.setMaximumHeight(110)
        self.variables.itemChanged.connect(self._variables_changed)
        self.add_variable_button = QPushButton("Add variable")
        self.add_variable_button.clicked.connect(self._add_variable)
        self.remove_variable_button = QPushButton("Remove variable")
        self.remove_variable_button.clicked.connect(self._remove_variable)
        self.steps = QListWidget(minimumHeight=130)
        self.steps.itemDoubleClicked.connect(lambda _: self.edit_step_dialog())
        self.step_buttons: dict[str, QPushButton] = {}
        step_row = QGridLayout()
        for n, (name, slot) in enumerate((("+ User", lambda: self.add_step({"user": "Hello!"})),
                                          ("+ Assistant", lambda: self.add_step({"assistant": "Sure."})),
                           ("+ Model turn", lambda: self.add_step({"model": {"max_tokens": 40}})),
                           ("+ Reset", lambda: self.add_step({"reset": True})),
                           ("Edit…", self.edit_step_dialog), ("Remove", self.remove_step),
                           ("Up", lambda: self.move_step(-1)), ("Down", lambda: self.move_step(1)))):
            button = QPushButton(name)
            button.clicked.connect(slot)
            self.step_buttons[name] = button
            step_row.addWidget(button, n // 4, n % 4)
        self.checks_edit = QPlainTextEdit(maximumHeight=110)
        self.checks_edit.setToolTip("The checks as YAML: a list of {name, any, unless, negate}")
        self.checks_edit.textChanged.connect(lambda: self._set_yaml_field("checks", self.checks_edit))
        self.variants_edit = QPlainTextEdit(maximumHeight=90)
        self.variants_edit.setToolTip("The variants as YAML: name: {description, variables, system}")
        self.variants_edit.textChanged.connect(lambda: self._set_yaml_field("variants", self.variants_edit))
        form_widget = QWidget()
        form = QFormLayout(form_widget)
        form.addRow("Title:", self.title_edit)
        form.addRow("Description:", self.description_edit)
        form.addRow("Lesson:", self.lesson_edit)
        form.addRow("System prompt:", self.system_edit)
        vbox = QVBoxLayout()
        vbox.addWidget(self.variables)
        h = QHBoxLayout()
        h.addWidget(self.add_variable_button)
        h.addWidget(self.remove_variable_button)
        h.addStretch(1)
        vbox.addLayout(h)
        form.addRow("Variables:", vbox)
        steps_box = QVBoxLayout()
        steps_box.addWidget(self.steps)
        steps_box.addLayout(step_row)
        form.addRow("Steps:", steps_box)
        form.addRow("Checks (YAML):", self.checks_edit)
        form.addRow("Variants (YAML):", self.variants_edit)
        self.yaml_edit = QPlainTextEdit()
        self.yaml_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.yaml_edit.font()
        font.setFamily("monospace")
        self.yaml_edit.setFont(font)
        self.yaml_edit.textChanged.connect(self._yaml_changed)
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setWidget(form_widget)
        self.editor_tabs = QTabWidget()
        self.editor_tabs.addTab(form_scroll, "Form")
        self.editor_tabs.addTab(self.yaml_edit, "YAML")
        self.problem_list = QListWidget(maximumHeight=90)
        self.problem_list.itemDoubleClicked.connect(self._go_to_problem)
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.addWidget(self.editor_tabs, 1)
        mv.addWidget(QLabel("Problems:"))
        mv.addWidget(self.problem_list)

        # run panel
        self.variant = QComboBox()
        self.max_tokens = QSpinBox(minimum=0, maximum=2048, value=0, specialValueText="as written")
        self.max_tokens.setToolTip("Cap every model turn at this many tokens (as written: the scenario's own)")
        self.run_button = QPushButton("Run with current sliders")
        self.run_button.setToolTip("Run this scenario with the steering set on the sliders; recorded as a session")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.runner.stop)
        self.progress = QProgressBar()
        self.steer_label = QLabel(wordWrap=True)
        self.turn_table = QTableWidget(0, 3)
        self.turn_table.setHorizontalHeaderLabels(("Role", "Text", "Checks / labels"))
        header = self.turn_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.turn_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.turn_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.turn_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.turn_table.setWordWrap(True)
        self.chart = TurnChart()
        self.label_edit = QLineEdit(placeholderText="label for the selected model turn, e.g. threatens")
        self.label_button = QPushButton("Add label")
        self.label_button.clicked.connect(self.add_label_to_selected)
        right = QWidget()
        rv = QVBoxLayout(right)
        top = QHBoxLayout()
        top.addWidget(QLabel("Variant:"))
        top.addWidget(self.variant, 1)
        top.addWidget(QLabel("Max tokens per turn:"))
        top.addWidget(self.max_tokens)
        rv.addLayout(top)
        h = QHBoxLayout()
        h.addWidget(self.run_button)
        h.addWidget(self.cancel_button)
        h.addWidget(self.progress, 1)
        rv.addLayout(h)
        rv.addWidget(self.steer_label)
        rv.addWidget(self.turn_table, 3)
        self.chart.setMinimumHeight(200)
        rv.addWidget(self.chart, 2)
        h = QHBoxLayout()
        h.addWidget(self.label_edit, 1)
        h.addWidget(self.label_button)
        rv.addLayout(h)

        self.editor_tabs.addTab(right, "Run")
        splitter = QSplitter()
        for widget in (left, middle):
            splitter.addWidget(widget)
        splitter.setSizes([200, 800])
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.runner.progress.connect(self._progress)

    # --- the list ------------------------------------------------------------------------------

    def refresh(self, select: Path | None = None) -> None:
        """Re-read the built-in and user scenarios; keep (or move to) `select`."""
        select = select or self.path
        self.entries = list_scenarios()
        self.scenario_list.blockSignals(True)
        self.scenario_list.clear()
        for entry in self.entries:
            item = QListWidgetItem(self._label(entry))
            item.setToolTip(str(entry.path))
            if entry.builtin:
                item.setForeground(QColor("#555555"))
            self.scenario_list.addItem(item)
        self.scenario_list.blockSignals(False)
        rows = [i for i, e in enumerate(self.entries) if select is not None and e.path == select]
        if rows:
            self.scenario_list.setCurrentRow(rows[0])
        elif self.entries and (self.path is None or not self.path.exists()):
            self.scenario_list.setCurrentRow(0)

    def select_path(self, path: Path) -> None:
        for i, entry in enumerate(self.entries):
            if entry.path == path:
                self.scenario_list.setCurrentRow(i)
                return

    def _selected(self, row: int) -> None:
        if not 0 <= row < len(self.entries):
            return
        entry = self.entries[row]
        try:
            text = self.drafts.get(entry.path) or entry.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.errors.report(f"Cannot read {entry.path}: {error}")
            return
        self.load_text(text, entry.path, entry.builtin)

    def load_text(self, text: str, path: Path | None, builtin: bool) -> None:
        self.path, self.builtin = path, builtin
        self.path_label.setText(("Built-in (read-only): duplicate it to edit. " if builtin else "") + (str(path) if path else "Not saved yet"))
        self._loading = True
        try:
            self.yaml_edit.setPlainText(text)  # updates data, form and problems
        finally:
            self._loading = False
        self._set_read_only(builtin)
        self.revert_button.setEnabled(path in self.drafts)

    def _set_read_only(self, read_only: bool) -> None:
        for edit in (self.title_edit, self.description_edit, self.lesson_edit, self.system_edit, self.checks_edit,
                     self.variants_edit, self.yaml_edit):
            edit.setReadOnly(read_only)
        self.variables.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers if read_only
                                       else QAbstractItemView.EditTrigger.AllEditTriggers)
        for button in (*self.step_buttons.values(), self.add_variable_button, self.remove_variable_button, self.save_button):
            button.setEnabled(not read_only)
        self.duplicate_button.setEnabled(True)

    # --- YAML <-> form -------------------------------------------------------------------------

    def yaml_text(self) -> str:
        return self.yaml_edit.toPlainText()

    def _label(self, entry: ScenarioEntry) -> str:
        return entry.label + ("  • unsaved" if entry.path in self.drafts else "")

    def _mark_draft(self, text: str) -> None:
        if self._loading or self.builtin or self.path is None:
            return
        self.drafts[self.path] = text
        self.revert_button.setEnabled(True)
        for i, entry in enumerate(self.entries):
            if entry.path == self.path and self.scenario_list.item(i) is not None:
                self.scenario_list.item(i).setText(self._label(entry))

    def revert(self) -> None:
        """Drop the unsaved changes of the current file and show it as saved."""
        if self.path is None:
            return
        self.drafts.pop(self.path, None)
        self.revert_button.setEnabled(False)
        self.refresh(self.path)
        self._selected(self.scenario_list.currentRow())

    def _yaml_changed(self) -> None:
        text = self.yaml_text()
        self._mark_draft(text)
        self._validate(text)
        if self._syncing:
            return
        try:
            data = yaml.safe_load(text)
        except Exception:  # broken YAML: the problems list says where; the form keeps its last state
            return
        if isinstance(data, dict):
            self.data = data
            self._fill_form()

    def _write_yaml(self) -> None:
        """The form changed self.data: show it as YAML (validated there)."""
        if self._syncing:
            return
        self._syncing = True
        try:
            self.yaml_edit.setPlainText(to_yaml(self.data))
        finally:
            self._syncing = False

    def _fill_form(self) -> None:
        self._syncing = True
        try:
            data = self.data
            if self.title_edit.text() != str(data.get("title", "")):
                self.title_edit.setText(str(data.get("title", "")))
            for key, edit in (("description", self.description_edit), ("lesson", self.lesson_edit), ("system", self.system_edit)):
                value = str(data.get(key, "") or "")
                if edit.toPlainText() != value:
                    edit.setPlainText(value)
            variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}
            self.variables.setRowCount(0)
            for name, value in variables.items():
                row = self.variables.rowCount()
                self.variables.insertRow(row)
                self.variables.setItem(row, 0, QTableWidgetItem(str(name)))
                self.variables.setItem(row, 1, QTableWidgetItem("" if value is None else str(value)))
            self._fill_steps()
            for key, edit in (("checks", self.checks_edit), ("variants", self.variants_edit)):
                value = data.get(key)
                text = to_yaml(value) if value else ""
                if edit.toPlainText() != text:
                    edit.setPlainText(text)
            self._fill_variants()
        finally:
            self._syncing = False

    def _fill_steps(self, current: int | None = None) -> None:
        steps = self.data.get("steps") if isinstance(self.data.get("steps"), list) else []
        self.steps.clear()
        for step in steps:
            self.steps.addItem(step_summary(step))
        if current is not None and 0 <= current < len(steps):
            self.steps.setCurrentRow(current)

    def _fill_variants(self) -> None:
        variants = self.data.get("variants") if isinstance(self.data.get("variants"), dict) else {}
        current = self.variant.currentText()
        self.variant.clear()
        names = [str(v) for v in variants] or ["(none)"]
        self.variant.addItems(names)
        if current in names:
            self.variant.setCurrentText(current)

    def _set_field(self, key: str, value: str) -> None:
        if self._syncing or self.builtin:
            return
        if value or key == "title":
            self.data[key] = value
        else:
            self.data.pop(key, None)
        self._write_yaml()

    def _set_yaml_field(self, key: str, edit: QPlainTextEdit) -> None:
        if self._syncing or self.builtin:
            return
        try:
            value = yaml.safe_load(edit.toPlainText())
        except Exception:
            self._validate(self.yaml_text(), extra=[f"{key} editor: this is not valid YAML yet"])
            return
        if value in (None, "", [], {}):
            self.data.pop(key, None)
        else:
            self.data[key] = value
        self._write_yaml()
        if key == "variants":
            self._fill_variants()

    def _variables_changed(self, _item: QTableWidgetItem) -> None:
        if self._syncing or self.builtin:
            return
        variables: dict[str, str] = {}
        for row in range(self.variables.rowCount()):
            name, value = self.variables.item(row, 0), self.variables.item(row, 1)
            if name is not None and name.text().strip():
                variables[name.text().strip()] = value.text() if value is not None else ""
        if variables:
            self.data["variables"] = variables
        else:
            self.data.pop("variables", None)
        self._write_yaml()

    def _add_variable(self) -> None:
        existing = self.data.get("variables") if isinstance(self.data.get("variables"), dict) else {}
        n = 1
        while f"var{n}" in existing:
            n += 1
        self.data["variables"] = {**existing, f"var{n}": "value"}
        self._write_yaml()
        self._syncing = True
        try:
            self._fill_form()
        finally:
            self._syncing = False

    def _remove_variable(self) -> None:
        row = self.variables.currentRow()
        item = self.variables.item(row, 0) if row >= 0 else None
        if item is None or not isinstance(self.data.get("variables"), dict):
            return
        self.data["variables"].pop(item.text(), None)
        if not self.data["variables"]:
            self.data.pop("variables")
        self._write_yaml()
        self._fill_form()

    # --- steps -----------------------------------------------------------------------------------

    def _steps(self) -> list:
        if not isinstance(self.data.get("steps"), list):
            self.data["steps"] = []
        return self.data["steps"]

    def _steps_changed(self, current: int) -> None:
        self._write_yaml()
        self._fill_steps(current)

    def add_step(self, step: dict) -> None:
        """Insert `step` after the selected step (or at the end)."""
        if self.builtin:
            return
        steps = self._steps()
        row = self.steps.currentRow()
        at = row + 1 if 0 <= row < len(steps) else len(steps)
        steps.insert(at, step)
        self._steps_changed(at)

    def remove_step(self) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        if self.builtin or not 0 <= row < len(steps):
            return
        del steps[row]
        self._steps_changed(min(row, len(steps) - 1))

    def move_step(self, delta: int) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        to = row + delta
        if self.builtin or not (0 <= row < len(steps) and 0 <= to < len(steps)):
            return
        steps[row], steps[to] = steps[to], steps[row]
        self._steps_changed(to)

    def set_step(self, row: int, step: dict) -> None:
        steps = self._steps()
        if self.builtin or not 0 <= row < len(steps):
            return
        steps[row] = step
        self._steps_changed(row)

    def edit_step_dialog(self) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        if self.builtin or not 0 <= row < len(steps) or not isinstance(steps[row], dict):
            return
        dialog = StepDialog(steps[row], self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            self.set_step(row, dialog.result_step())
        except (LabError, yaml.YAMLError) as error:
            self.errors.report(error if isinstance(error, LabError) else f"That step is not valid YAML: {error}")

    # --- validation --------------------------------------------------------------------------

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
        self.run_button.setEnabled(not self.problems and not self.running)

    def _go_to_problem(self, item: QListWidgetItem) -> None:
        text = item.text()
        if not text.startswith("line "):
            return
        try:
            line = int(text[5:].split(",")[0].split(":")[0])
        except ValueError:
            return
        self.editor_tabs.setCurrentWidget(self.yaml_edit)
        block = self.yaml_edit.document().findBlockByLineNumber(line - 1)
        cursor = self.yaml_edit.textCursor()
        cursor.setPosition(block.position())
        self.yaml_edit.setTextCursor(cursor)
        self.yaml_edit.setFocus()

    def scenario(self) -> Scenario:
        """The scenario in the editor (LabError listing its problems if it has any)."""
        scenario = parse_scenario(self.yaml_text(), self.path.name if self.path else "The scenario")
        return replace(scenario, source=self.path)

    # --- saving ------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.builtin or self.path is None:
            return self.save_as_dialog()
        return self.save_as(self.path)

    def save_as_dialog(self) -> bool:
        start = str(user_scenarios_dir() / (self.path.name if self.path and not self.builtin else "my-scenario.yaml"))
        path, _ = QFileDialog.getSaveFileName(self, "Save scenario", start, "Scenarios (*.yaml *.yml)")
        return self.save_as(Path(path)) if path else False

    def save_as(self, path: Path) -> bool:
        try:
            save_scenario(self.scenario(), path)
        except LabError as error:
            self.errors.report(error)
            return False
        self.drafts.pop(path, None)
        if self.path is not None:
            self.drafts.pop(self.path, None)
        self.path, self.builtin = path, False
        self.refresh(path)
        self.revert_button.setEnabled(False)
        return True

    def _free_path(self, stem: str) -> Path:
        folder = user_scenarios_dir()
        path, n = folder / f"{stem}.yaml", 2
        while path.exists():
            path, n = folder / f"{stem}-{n}.yaml", n + 1
        return path

    def duplicate(self) -> Path | None:
        """An editable copy of the current scenario in the user's folder (selected afterwards)."""
        stem = (self.path.stem if self.path else "scenario") + "-copy"
        path = self._free_path(stem)
        try:
            scenario = self.scenario()
            save_scenario(replace(scenario, title=f"{scenario.title} (copy)"), path)
        except LabError as error:
            self.errors.report(error)
            return None
        self.path = path
        self.refresh(path)
        return path

    def new_scenario(self) -> Path | None:
        path = self._free_path("my-scenario")
        try:
            path.write_text(NEW_SCENARIO, encoding="utf-8")
        except OSError as error:
            self.errors.report(f"Cannot write {path} ({error.strerror}).")
            return None
        self.path = path
        self.refresh(path)
        return path

    # --- running -----------------------------------------------------------------------------

    def run(self) -> None:
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; run the scenario when it is ready.")
            return
        try:
            scenario = self.scenario()
        except LabError as error:
            self.errors.report(error)
            return
        variant = self.variant.currentText() if scenario.variants else None
        steer = dict(self.state.strengths)
        max_tokens = self.max_tokens.value() or None
        store = self.recorder.store
        self.steer_label.setText("Steering: " + (", ".join(f"{k} {v:+.3f}" for k, v in steer.items()) or "none (all sliders at 0)"))

        def work(ctx: JobContext) -> RunResult:
            return run_scenario(engine, scenario, variant=variant, steer=steer, max_tokens=max_tokens, store=store,
                                progress=ctx, on_turn=lambda _row, turn: ctx.emit(turn))

        job = Job(f"running the scenario '{scenario.title}'", work, on_items=self._add_turns, on_done=self._run_done,
                  on_finally=self._run_finally)
        self.turns, self.result = [], None
        self.turn_table.setRowCount(0)
        self.chart.set_emotions(self.state.emotions, self.plotted())
        self.chart.set_turns([])
        if self.runner.start(job):
            self.editor_tabs.setCurrentIndex(self.editor_tabs.count() - 1)  # the Run page
            self.running = True
            self.run_button.setEnabled(False)
            self.cancel_button.setEnabled(True)
            self.progress.setValue(0)

    def _progress(self, done: int, total: int) -> None:
        if self.running:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _add_turns(self, turns: list[TurnResult]) -> None:
        for turn in turns:
            self.turns.append(turn)
            row = self.turn_table.rowCount()
            self.turn_table.insertRow(row)
            role = "model" if turn.generated else turn.role
            self.turn_table.setItem(row, 0, QTableWidgetItem(role))
            text = QTableWidgetItem(turn.text.strip() if turn.role != "reset" else "— new conversation —")
            text.setToolTip(turn.text)
            self.turn_table.setItem(row, 1, text)
            self.turn_table.setItem(row, 2, QTableWidgetItem(", ".join(turn.checks)))
        self.turn_table.resizeRowsToContents()
        self.turn_table.scrollToBottom()
        self.chart.set_turns(self.turns)

    def _run_done(self, result: RunResult) -> None:
        self.result = result

    def _run_finally(self) -> None:
        self.running = False
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(not self.problems)
        if self.result is not None:
            self.progress.setValue(self.progress.maximum())

    def add_label_to_selected(self) -> None:
        row = self.turn_table.currentRow()
        self.add_label(row, self.label_edit.text())

    def add_label(self, row: int, label: str) -> None:
        """Label the model turn in table row `row` of the last finished run (store.add_label)."""
        if self.result is None or self.result.session_id is None or self.recorder.store is None:
            self.errors.report("Run the scenario (recorded) first; labels go on its model turns.")
            return
        if not 0 <= row < len(self.turns) or not self.turns[row].generated:
            self.errors.report("Select a model turn (role 'model') in the table to label it.")
            return
        turn = self.turns[row]
        try:
            self.recorder.store.add_label(self.result.session_id, turn.turn, label)
        except LabError as error:
            self.errors.report(error)
            return
        self.turns[row] = replace(turn, checks=(*turn.checks, label.strip()))
        self.turn_table.setItem(row, 2, QTableWidgetItem(", ".join(self.turns[row].checks)))
        self.label_edit.clear()
