"""The scenario builder's form: title, texts, variables, steps, checks and variants of a parsed
scenario (a plain dict, `data`). Edits change `data` and emit `edited`; `show_data` fills it in."""
from __future__ import annotations

from typing import Any

import yaml
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.files import to_yaml
from ui.services.errors import ErrorFunnel
from ui.tabs.scenarios.scenario_steps import StepDialog, step_summary

TEXT_FIELDS = ("description", "lesson", "system")
YAML_FIELDS = ("checks", "variants")


class ScenarioForm(QWidget):
    """Edits `data` field by field; read-only for built-in scenarios."""

    edited = Signal()  # `data` was changed through the form
    yaml_problem = Signal(str)  # a YAML field does not parse yet

    def __init__(self, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors = errors
        self.data: dict[str, Any] = {}
        self.read_only = False
        self._filling = False
        self.title_edit = QLineEdit()
        self.title_edit.textEdited.connect(lambda t: self._set_field("title", t))
        self.text_edits = {key: QPlainTextEdit(maximumHeight=60) for key in TEXT_FIELDS}
        for key, edit in self.text_edits.items():
            edit.textChanged.connect(lambda k=key, e=edit: self._set_field(k, e.toPlainText()))
        self.description_edit, self.lesson_edit, self.system_edit = (self.text_edits[k] for k in TEXT_FIELDS)
        self.variables = QTableWidget(0, 2)
        self.variables.setHorizontalHeaderLabels(("Variable", "Value"))
        self.variables.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.variables.setMaximumHeight(110)
        self.variables.itemChanged.connect(self._variables_changed)
        self.add_variable_button = QPushButton("Add variable")
        self.add_variable_button.clicked.connect(self._add_variable)
        self.remove_variable_button = QPushButton("Remove variable")
        self.remove_variable_button.clicked.connect(self._remove_variable)
        self.steps = QListWidget(minimumHeight=130, wordWrap=True)  # long steps wrap instead of being cut
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
        self.yaml_edits = {key: QPlainTextEdit(maximumHeight=110 if key == "checks" else 90) for key in YAML_FIELDS}
        self.checks_edit, self.variants_edit = self.yaml_edits["checks"], self.yaml_edits["variants"]
        self.checks_edit.setToolTip("The checks as YAML: a list of {name, any, unless, negate}")
        self.variants_edit.setToolTip("The variants as YAML: name: {description, variables, system}")
        for key, edit in self.yaml_edits.items():
            edit.textChanged.connect(lambda k=key, e=edit: self._set_yaml_field(k, e))

        form = QFormLayout(self)
        form.addRow("Title:", self.title_edit)
        form.addRow("Description:", self.description_edit)
        form.addRow("Lesson:", self.lesson_edit)
        form.addRow("System prompt:", self.system_edit)
        variables = QVBoxLayout()
        variables.addWidget(self.variables)
        row = QHBoxLayout()
        row.addWidget(self.add_variable_button)
        row.addWidget(self.remove_variable_button)
        row.addStretch(1)
        variables.addLayout(row)
        form.addRow("Variables:", variables)
        steps_box = QVBoxLayout()
        steps_box.addWidget(self.steps)
        steps_box.addLayout(step_row)
        form.addRow("Steps:", steps_box)
        form.addRow("Checks (YAML):", self.checks_edit)
        form.addRow("Variants (YAML):", self.variants_edit)

    # --- showing ---------------------------------------------------------------------------------

    def show_data(self, data: dict[str, Any]) -> None:
        """Make `data` the form's scenario and fill every field from it (emits nothing)."""
        self.data = data
        self._filling = True
        try:
            if self.title_edit.text() != str(data.get("title", "")):
                self.title_edit.setText(str(data.get("title", "")))
            for key, edit in self.text_edits.items():
                _set_text(edit, str(data.get(key, "") or ""))
            variables = data.get("variables") if isinstance(data.get("variables"), dict) else {}
            self.variables.setRowCount(0)
            for name, value in variables.items():
                row = self.variables.rowCount()
                self.variables.insertRow(row)
                self.variables.setItem(row, 0, QTableWidgetItem(str(name)))
                self.variables.setItem(row, 1, QTableWidgetItem("" if value is None else str(value)))
            self._fill_steps()
            for key, edit in self.yaml_edits.items():
                value = data.get(key)
                _set_text(edit, to_yaml(value) if value else "")
        finally:
            self._filling = False

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        for edit in (self.title_edit, *self.text_edits.values(), *self.yaml_edits.values()):
            edit.setReadOnly(read_only)
        self.variables.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers if read_only
                                       else QAbstractItemView.EditTrigger.AllEditTriggers)
        for button in (*self.step_buttons.values(), self.add_variable_button, self.remove_variable_button):
            button.setEnabled(not read_only)

    def _fill_steps(self, current: int | None = None) -> None:
        steps = self.data.get("steps") if isinstance(self.data.get("steps"), list) else []
        self.steps.clear()
        for step in steps:
            self.steps.addItem(step_summary(step))
        if current is not None and 0 <= current < len(steps):
            self.steps.setCurrentRow(current)

    # --- fields ----------------------------------------------------------------------------------

    def _editable(self) -> bool:
        return not self._filling and not self.read_only

    def _set_field(self, key: str, value: str) -> None:
        if not self._editable():
            return
        if value or key == "title":
            self.data[key] = value
        else:
            self.data.pop(key, None)
        self.edited.emit()

    def _set_yaml_field(self, key: str, edit: QPlainTextEdit) -> None:
        if not self._editable():
            return
        try:
            value = yaml.safe_load(edit.toPlainText())
        except Exception:  # any YAML that does not load yet
            self.yaml_problem.emit(f"{key} editor: this is not valid YAML yet")
            return
        if value in (None, "", [], {}):
            self.data.pop(key, None)
        else:
            self.data[key] = value
        self.edited.emit()

    def _variables_changed(self, _item: QTableWidgetItem) -> None:
        if not self._editable():
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
        self.edited.emit()

    def _add_variable(self) -> None:
        existing = self.data.get("variables") if isinstance(self.data.get("variables"), dict) else {}
        n = 1
        while f"var{n}" in existing:
            n += 1
        self.data["variables"] = {**existing, f"var{n}": "value"}
        self.edited.emit()
        self.show_data(self.data)

    def _remove_variable(self) -> None:
        row = self.variables.currentRow()
        item = self.variables.item(row, 0) if row >= 0 else None
        if item is None or not isinstance(self.data.get("variables"), dict):
            return
        self.data["variables"].pop(item.text(), None)
        if not self.data["variables"]:
            self.data.pop("variables")
        self.edited.emit()
        self.show_data(self.data)

    # --- steps -----------------------------------------------------------------------------------

    def _steps(self) -> list:
        if not isinstance(self.data.get("steps"), list):
            self.data["steps"] = []
        return self.data["steps"]

    def _steps_changed(self, current: int) -> None:
        self.edited.emit()
        self._fill_steps(current)

    def add_step(self, step: dict) -> None:
        """Insert `step` after the selected step (or at the end)."""
        if self.read_only:
            return
        steps = self._steps()
        row = self.steps.currentRow()
        at = row + 1 if 0 <= row < len(steps) else len(steps)
        steps.insert(at, step)
        self._steps_changed(at)

    def remove_step(self) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        if self.read_only or not 0 <= row < len(steps):
            return
        del steps[row]
        self._steps_changed(min(row, len(steps) - 1))

    def move_step(self, delta: int) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        to = row + delta
        if self.read_only or not (0 <= row < len(steps) and 0 <= to < len(steps)):
            return
        steps[row], steps[to] = steps[to], steps[row]
        self._steps_changed(to)

    def set_step(self, row: int, step: dict) -> None:
        steps = self._steps()
        if self.read_only or not 0 <= row < len(steps):
            return
        steps[row] = step
        self._steps_changed(row)

    def edit_step_dialog(self) -> None:
        steps = self._steps()
        row = self.steps.currentRow()
        if self.read_only or not 0 <= row < len(steps) or not isinstance(steps[row], dict):
            return
        dialog = StepDialog(steps[row], self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            self.set_step(row, dialog.result_step())
        except (LabError, yaml.YAMLError) as error:
            self.errors.report(error if isinstance(error, LabError) else f"That step is not valid YAML: {error}")


def _set_text(edit: QPlainTextEdit, text: str) -> None:
    if edit.toPlainText() != text:
        edit.setPlainText(text)
