"""Scenarios tab: browse, edit, validate, save and run scenario files.

The parts live in their own modules: the list (ui.tabs.scenarios.scenario_browser), the form and YAML editor
(ui.tabs.scenarios.scenario_editor, ui.tabs.scenarios.scenario_form, ui.tabs.scenarios.scenario_steps), file operations (ui.tabs.scenarios.scenario_files)
and the Run page (ui.tabs.scenarios.scenario_run). This tab wires them and knows which file is shown.
Built-in scenarios are read-only: Duplicate makes an editable copy in the user's scenarios folder.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QSplitter, QVBoxLayout, QWidget

from lab.common.errors import LabError
from lab.scenarios.files import parse_scenario, save_scenario
from lab.scenarios.scenario import Scenario
from ui.services.errors import ErrorFunnel
from ui.services.recorder import Recorder
from ui.tabs.scenarios.scenario_browser import ScenarioBrowser
from ui.tabs.scenarios.scenario_editor import ScenarioEditor
from ui.tabs.scenarios.scenario_files import write_copy, write_new_scenario
from ui.widgets.scenario_list import ScenarioEntry, user_scenarios_dir
from ui.tabs.scenarios.scenario_run import ScenarioRunPanel
from ui.services.state import LabState
from ui.services.workers import ModelRunner


class ScenarioBuilderTab(QWidget):
    """Scenario list | editor (form, YAML, Run page) with its problems."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 plotted: Callable[[], list[str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.errors = errors
        self.path: Path | None = None
        self.builtin = False
        self._loading = False
        self.browser = ScenarioBrowser()
        self.editor = ScenarioEditor(errors)
        self.form = self.editor.form
        self.run_panel = ScenarioRunPanel(state, runner, recorder, errors, plotted or (lambda: state.emotions[:4]))
        self.chart = self.run_panel.chart  # for the main window's presentation mode
        self.editor.tabs.addTab(self.run_panel, "Run")
        self.browser.chosen.connect(self._chosen)
        self.browser.new_button.clicked.connect(self.new_scenario)
        self.browser.duplicate_button.clicked.connect(self.duplicate)
        self.browser.save_button.clicked.connect(self.save)
        self.browser.save_as_button.clicked.connect(self.save_as_dialog)
        self.browser.revert_button.clicked.connect(self.revert)
        self.editor.text_changed.connect(self._text_changed)
        self.editor.data_changed.connect(self.run_panel.set_variants)
        self.editor.problems_changed.connect(lambda problems: self.run_panel.controls.set_ready(not problems))
        self.run_panel.run_button.clicked.connect(self.run)
        splitter = QSplitter()
        splitter.addWidget(self.browser)
        splitter.addWidget(self.editor)
        splitter.setSizes([200, 800])
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.refresh()

    def refresh(self, select: Path | None = None) -> None:
        """Re-read the built-in and user scenarios; keep (or move to) `select`."""
        self.browser.refresh(select or self.path, self.path)

    def select_path(self, path: Path) -> None:
        """Show `path` (re-reading the list if it is new)."""
        if not self.browser.select_path(path):
            self.refresh(path)

    def yaml_text(self) -> str:
        return self.editor.yaml_text()

    def scenario(self) -> Scenario:
        """The scenario in the editor (LabError listing its problems if it has any)."""
        scenario = parse_scenario(self.yaml_text(), self.path.name if self.path else "The scenario")
        return replace(scenario, source=self.path)

    def load_text(self, text: str, path: Path | None, builtin: bool) -> None:
        self.path, self.builtin = path, builtin
        self._loading = True
        try:
            self.editor.set_text(text, read_only=builtin)
        finally:
            self._loading = False
        self.browser.show_file(path, builtin)
        self.run_panel.lesson.show_file(path if builtin else None)

    def _chosen(self, entry: ScenarioEntry) -> None:
        try:
            text = self.browser.drafts.get(entry.path) or entry.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            self.errors.report(f"Cannot read {entry.path}: {error}")
            return
        self.load_text(text, entry.path, entry.builtin)

    def _text_changed(self, text: str) -> None:
        if not self._loading and not self.builtin and self.path is not None:
            self.browser.keep_draft(self.path, text)

    # --- files -----------------------------------------------------------------------------------

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
        if self.path is not None:
            self.browser.drop_draft(self.path)
        self.browser.drop_draft(path)
        self.path, self.builtin = path, False
        self.refresh(path)
        return True

    def duplicate(self) -> Path | None:
        """An editable copy of the current scenario in the user's folder (selected afterwards)."""
        try:
            path = write_copy(self.scenario(), self.path)
        except LabError as error:
            self.errors.report(error)
            return None
        self.path = path
        self.refresh(path)
        return path

    def new_scenario(self) -> Path | None:
        try:
            path = write_new_scenario()
        except LabError as error:
            self.errors.report(error)
            return None
        self.path = path
        self.refresh(path)
        return path

    def revert(self) -> None:
        """Drop the unsaved changes of the current file and show it as saved."""
        if self.path is None:
            return
        self.browser.drop_draft(self.path)
        self.refresh(self.path)
        self.browser.reselect()

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Run the scenario in the editor with the current steering (on the Run page)."""
        try:
            scenario = self.scenario()
        except LabError as error:
            self.errors.report(error)
            return
        if self.run_panel.run(scenario):
            self.editor.tabs.setCurrentWidget(self.run_panel)
