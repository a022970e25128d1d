"""Experiments tab: sweep a scenario over emotions x strengths x seeds (plus a random-direction
control), watch the dose-response plot fill in batch by batch, read the table with 95% intervals,
export CSV/PNG/HTML, and open any run's recorded session."""
from __future__ import annotations

import math
from collections.abc import Callable
from html import escape
from pathlib import Path

from matplotlib.lines import Line2D
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListView,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from lab.common.errors import LabError
from lab.scenarios.runner import CONTROL
from lab.scenarios.scenario import Scenario
from lab.scenarios.files import load_scenario
from lab.common.stats import Estimate
from lab.scenarios.sweep import SweepPlan, SweepResult, SweepRun, sweep
from lab.scenarios.sweep_report import export_sweep
from ui.charts import Chart
from ui.errors import ErrorFunnel
from ui.recorder import Recorder
from ui.scenario_list import ScenarioEntry, list_scenarios
from ui.state import LabState
from ui.workers import Job, JobContext, ModelRunner

DEFAULT_STRENGTHS = "-0.06,-0.03,0,0.03,0.06"
CHECK_STYLES = ("-", "--", ":", "-.")


def parse_strengths(text: str) -> tuple[float, ...]:
    """'-0.06, 0, 0.06' -> (-0.06, 0.0, 0.06); LabError naming the bad part."""
    values = []
    for part in text.replace(";", ",").replace(" ", ",").split(","):
        if not part.strip():
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise LabError(f"'{part.strip()}' is not a number. Write strengths like {DEFAULT_STRENGTHS}.") from None
    if not values:
        raise LabError(f"Give at least one strength, e.g. {DEFAULT_STRENGTHS}.")
    return tuple(dict.fromkeys(values))


def fmt(e: Estimate, percent: bool = False) -> str:
    if not math.isfinite(e.value):
        return "–"
    f = (lambda v: f"{v * 100:.0f}%") if percent else (lambda v: f"{v:.2f}")
    if not math.isfinite(e.low):
        return f(e.value)
    return f"{f(e.value)} [{f(e.low)}, {f(e.high)}]"


class DoseResponseChart(Chart):
    """Mean reading and check rates against steering strength, one line per series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(7, 2.8))
        self.result: SweepResult | None = None
        self.redraw()

    def show_result(self, result: SweepResult | None) -> None:
        self.result = result
        self.request_redraw()

    def redraw(self) -> None:
        self.figure.clear()
        readings, rates = self.figure.subplots(1, 2)
        result = self.result
        if result is not None and result.runs:
            points = result.points()
            checks = result.check_names()
            for i, series in enumerate(result.plan.series()):
                chosen = [p for p in points if p.series == series]
                if not chosen:
                    continue
                xs = [p.strength for p in chosen]
                colour, style = f"C{i}", "--" if series == CONTROL else "-"
                emotions = result.plan.emotions if series == CONTROL else [series]
                for emotion in emotions:
                    est = [p.readings[emotion] for p in chosen]
                    label = f"control: {emotion}" if series == CONTROL else series
                    readings.plot(xs, [e.value for e in est], style, marker="o", color=colour, label=label)
                    readings.fill_between(xs, [e.low if math.isfinite(e.low) else e.value for e in est],
                                          [e.high if math.isfinite(e.high) else e.value for e in est], color=colour, alpha=0.15)
                for k, check in enumerate(checks):
                    est = [p.rates[check] for p in chosen]
                    rates.plot(xs, [e.value for e in est], CHECK_STYLES[k % len(CHECK_STYLES)], marker="o", color=colour,
                               label=f"{series}: {check}", alpha=0.85)
            readings.legend(fontsize="x-small")
            if checks:  # one entry per series (colour) and per check (line style), not per line
                handles = [Line2D([], [], color=f"C{i}", marker="o", label=series)
                           for i, series in enumerate(result.plan.series())]
                handles += [Line2D([], [], color="#666666", linestyle=CHECK_STYLES[k % len(CHECK_STYLES)], label=check)
                            for k, check in enumerate(checks)]
                rates.legend(handles=handles, fontsize="xx-small", loc="best")
        readings.set_title("Mean reading while writing")
        readings.set_xlabel("steering strength")
        readings.set_ylabel("reading (z)")
        rates.set_title("Checks fired (share of runs)")
        rates.set_xlabel("steering strength")
        rates.set_ylim(-0.05, 1.05)
        self.finish()


class ExperimentsTab(QWidget):
    """Set up a sweep, run it in the worker, and explore and export the results."""

    def __init__(self, state: LabState, runner: ModelRunner, recorder: Recorder, errors: ErrorFunnel,
                 open_session: Callable[[int], None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.recorder, self.errors = state, runner, recorder, errors
        self.open_session = open_session
        self.entries: list[ScenarioEntry] = []
        self.result: SweepResult | None = None
        self.running = False
        self.batch_rows = 16  # runs per batch: the plot and table update after each batch
        self.updates = 0  # partial results shown during the current sweep
        self._build()
        self.refresh_scenarios()
        self.state.engine_changed.connect(self._engine_changed)
        if self.state.engine is not None:
            self._engine_changed()

    def _build(self) -> None:
        self.scenario = QComboBox()
        self.scenario.currentIndexChanged.connect(self._scenario_changed)
        refresh = QPushButton("↻")
        refresh.setToolTip("Re-read the scenario files")
        refresh.clicked.connect(self.refresh_scenarios)
        self.variant = QComboBox()
        self.emotion_list = QListWidget()
        self.emotion_list.setToolTip("Tick the emotions to sweep")
        self.strengths = QLineEdit(DEFAULT_STRENGTHS)
        self.strengths.setToolTip("Steering strengths, separated by commas")
        self.seeds = QSpinBox(minimum=1, maximum=100, value=2)
        self.seeds.setToolTip("Runs per strength (seeds 0..N-1)")
        self.control = QCheckBox("Random-direction control series")
        self.control.setChecked(True)
        self.control.setToolTip("Also steer along a random direction of the same size, to tell emotion effects from mere disruption")
        self.max_tokens = QSpinBox(minimum=0, maximum=2048, value=0, specialValueText="as written")
        self.max_tokens.setToolTip("Cap every model turn at this many tokens (as written: the scenario's own)")
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.runner.stop)
        self.progress = QProgressBar()
        self.status = QLabel(wordWrap=True)
        self.emotion_list.setFlow(QListView.Flow.LeftToRight)
        self.emotion_list.setWrapping(True)
        self.emotion_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.emotion_list.setSpacing(2)
        self.emotion_list.setMaximumHeight(64)
        setup = QGridLayout()
        setup.addWidget(QLabel("Scenario:"), 0, 0)
        h = QHBoxLayout()
        h.addWidget(self.scenario, 1)
        h.addWidget(refresh)
        setup.addLayout(h, 0, 1)
        setup.addWidget(QLabel("Variant:"), 0, 2)
        setup.addWidget(self.variant, 0, 3)
        setup.addWidget(QLabel("Emotions:"), 1, 0)
        setup.addWidget(self.emotion_list, 1, 1, 1, 3)
        setup.addWidget(QLabel("Strengths:"), 2, 0)
        setup.addWidget(self.strengths, 2, 1)
        setup.addWidget(QLabel("Seeds per strength:"), 2, 2)
        setup.addWidget(self.seeds, 2, 3)
        setup.addWidget(self.control, 3, 1)
        setup.addWidget(QLabel("Max tokens per turn:"), 3, 2)
        setup.addWidget(self.max_tokens, 3, 3)
        setup.setColumnStretch(1, 3)
        setup.setColumnStretch(3, 1)
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        top = QWidget()
        tv = QVBoxLayout(top)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addLayout(setup)
        tv.addLayout(run_row)
        tv.addWidget(self.status)

        self.chart = DoseResponseChart()
        self.chart.setMinimumHeight(240)
        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs = QTableWidget(0, 6)
        self.runs.setHorizontalHeaderLabels(("Series", "Strength", "Seed", "Session", "Checks fired", "First reply"))
        self.runs.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.runs.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setToolTip("Double-click a run to open its recorded session")
        self.runs.cellDoubleClicked.connect(lambda row, _col: self.open_run(row))
        self.export_buttons = []
        export_row = QHBoxLayout()
        export_row.addWidget(QLabel("Export results:"))
        for suffix in ("csv", "png", "html"):
            button = QPushButton(suffix.upper(), enabled=False)
            button.clicked.connect(lambda _=False, s=suffix: self.export_dialog(s))
            self.export_buttons.append(button)
            export_row.addWidget(button)
        export_row.addStretch(1)
        self.result_tabs = QTabWidget()
        self.result_tabs.addTab(self.table, "Per strength (95% intervals)")
        self.result_tabs.addTab(self.runs, "Runs (double-click to open the session)")
        bottom = QWidget()
        bv = QVBoxLayout(bottom)
        bv.setContentsMargins(0, 0, 0, 0)
        bv.addWidget(self.result_tabs, 1)
        bv.addLayout(export_row)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.chart)
        splitter.addWidget(bottom)
        splitter.setSizes([360, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(top)
        layout.addWidget(splitter, 1)
        self.runner.progress.connect(self._progress)
        self.runner.status.connect(lambda text: self.status.setText(text) if self.running else None)

    # --- choices -----------------------------------------------------------------------------

    def refresh_scenarios(self) -> None:
        current = self.scenario.currentData()  # paths are kept as text: QVariant compares Python objects by identity
        self.entries = list_scenarios()
        self.scenario.blockSignals(True)
        self.scenario.clear()
        for entry in self.entries:
            self.scenario.addItem(entry.label, str(entry.path))
        self.scenario.blockSignals(False)
        index = self.scenario.findData(current) if current is not None else 0
        self.scenario.setCurrentIndex(max(index, 0))
        self._scenario_changed()

    def select_scenario(self, path: Path) -> None:
        index = self.scenario.findData(str(path))
        if index < 0:
            self.refresh_scenarios()
            index = self.scenario.findData(str(path))
        self.scenario.setCurrentIndex(index)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.running:
            self.refresh_scenarios()

    def _scenario_changed(self, *_: object) -> None:
        self.variant.clear()
        path = self.scenario.currentData()
        if path is None:
            return
        try:
            scenario = load_scenario(Path(path))
        except LabError:
            self.variant.addItem("(scenario has problems)")
            return
        self.variant.addItems(list(scenario.variants) or ["(none)"])

    def _engine_changed(self) -> None:
        ticked = set(self.emotions()) or {"desperate", "calm"}
        self.emotion_list.clear()
        for name in self.state.emotions:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.emotion_list.addItem(item)

    def emotions(self) -> list[str]:
        return [self.emotion_list.item(i).text() for i in range(self.emotion_list.count())
                if self.emotion_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_emotions(self, names: list[str]) -> None:
        for i in range(self.emotion_list.count()):
            item = self.emotion_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked)

    # --- running -----------------------------------------------------------------------------

    def plan(self, scenario: Scenario) -> SweepPlan:
        emotions = tuple(self.emotions())
        if not emotions:
            raise LabError("Tick at least one emotion to sweep.")
        variant = self.variant.currentText() if scenario.variants else None
        plan = SweepPlan(emotions, parse_strengths(self.strengths.text()), tuple(range(self.seeds.value())),
                         self.control.isChecked(), variant, self.max_tokens.value() or None, batch_rows=self.batch_rows)
        plan.check()
        return plan

    def start(self) -> None:
        engine = self.state.engine
        if engine is None:
            self.errors.report("The model is still loading; start the sweep when it is ready.")
            return
        try:
            path = self.scenario.currentData()
            if path is None:
                raise LabError("Choose a scenario first.")
            scenario = load_scenario(Path(path))
            plan = self.plan(scenario)
        except LabError as error:
            self.errors.report(error)
            return
        store = self.recorder.store

        def work(ctx: JobContext) -> SweepResult:
            return sweep(engine, scenario, plan, store=store, progress=ctx, on_update=ctx.emit)

        job = Job(f"sweeping '{scenario.title}'", work, on_items=self._partial, on_done=self._done,
                  on_finally=self._finally)
        self.show_result(None)
        self.updates = 0
        if self.runner.start(job):
            self.running = True
            self.start_button.setEnabled(False)
            self.cancel_button.setEnabled(True)
            self.progress.setValue(0)
            runs = len(plan.conditions())
            self.status.setText(f"{runs} runs of '{scenario.title}'…")

    def _progress(self, done: int, total: int) -> None:
        if self.running:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _partial(self, results: list[SweepResult]) -> None:
        """Results so far (after each batch): only the newest matters."""
        self.updates += 1
        self.show_result(results[-1])

    def _done(self, result: SweepResult) -> None:
        self.show_result(result)
        done = len(result.runs)
        runs = f"{done} run{'s' if done != 1 else ''}"
        recorded = f", recorded as experiment {result.experiment_id}" if result.experiment_id is not None else ""
        self.status.setText(f"Stopped early: {runs} finished (partial results{recorded})." if result.cancelled
                            else f"Finished: {runs}{recorded}.")

    def _finally(self) -> None:
        self.running = False
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # --- results -----------------------------------------------------------------------------

    def show_result(self, result: SweepResult | None) -> None:
        self.result = result
        self.chart.show_result(result)
        for button in self.export_buttons:
            button.setEnabled(result is not None and bool(result.runs))
        self.table.clear()
        self.runs.setRowCount(0)
        if result is None:
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            return
        checks = result.check_names()
        head = ["Series", "Strength", "Runs", *[f"{c} (rate)" for c in checks], "Mean reading",
                "Distinct-2", "Repetition", "Perplexity"]
        points = result.points()
        self.table.setColumnCount(len(head))
        self.table.setHorizontalHeaderLabels(head)
        self.table.setRowCount(len(points))
        for r, p in enumerate(points):
            if p.series == CONTROL:
                reading = "; ".join(f"{e} {fmt(p.readings[e])}" for e in result.plan.emotions)
            else:
                reading = fmt(p.readings[p.series])
            cells = [p.series, f"{p.strength:+g}", str(p.runs), *[fmt(p.rates[c], percent=True) for c in checks],
                     reading, fmt(p.distinct2), fmt(p.repetition), fmt(p.perplexity)]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.runs.setRowCount(len(result.runs))
        for r, item in enumerate(result.runs):
            replies = item.run.replies()
            first = replies[0].text.strip().replace("\n", " ") if replies else ""
            cells = [item.series, f"{item.strength:+g}", str(item.seed), str(item.run.session_id or ""),
                     ", ".join(sorted(item.run.fired())), first]
            for c, text in enumerate(cells):
                self.runs.setItem(r, c, QTableWidgetItem(text))

    def open_run(self, row: int) -> None:
        """Hand the run's session to the Sessions tab (or show its transcript in a dialog)."""
        if self.result is None or not 0 <= row < len(self.result.runs):
            return
        item = self.result.runs[row]
        if item.run.session_id is not None and self.open_session is not None:
            self.open_session(item.run.session_id)
        else:
            self.show_transcript(item)

    def show_transcript(self, item: SweepRun) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{item.series} {item.strength:+g}, seed {item.seed}")
        view = QTextBrowser()
        parts = []
        for turn in item.run.turns:
            if turn.role == "reset":
                parts.append("<hr>")
                continue
            checks = f" <i>({escape(', '.join(turn.checks))})</i>" if turn.checks else ""
            parts.append(f"<p><b>{escape(turn.role)}</b>{checks}: {escape(turn.text)}</p>")
        view.setHtml("".join(parts))
        QVBoxLayout(dialog).addWidget(view)
        dialog.resize(600, 500)
        dialog.show()
        return dialog

    def export_dialog(self, suffix: str) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export sweep", f"sweep.{suffix}", f"{suffix.upper()} (*.{suffix})")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> bool:
        if self.result is None:
            self.errors.report("Run a sweep first.")
            return False
        try:
            export_sweep(self.result, path)
        except LabError as error:
            self.errors.report(error)
            return False
        return True
