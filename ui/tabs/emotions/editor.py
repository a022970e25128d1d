"""Emotion editor: make or delete user emotions, place them among the built-in ones, show per-layer accuracy."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lab.emotions.direction_set import DirectionSet
from lab.emotions.evaluation import accuracy_summary, recognition_words

from lab.emotions.library import load_or_extract
from lab.emotions.definitions import MIN_EXAMPLES, delete_user_emotion, parse_examples, save_user_emotion, user_dir
from lab.runtime.engine import Engine
from lab.common.errors import LabError
from ui.widgets.charts import Chart
from ui.services.errors import ErrorFunnel
from lab.common.palette import emotion_color
from ui.services.state import LabState
from ui.services.workers import Job, JobContext, ModelRunner


class AccuracyChart(Chart):
    """Held-out accuracy per layer: one thin line per emotion, the mean in bold, the reading layer marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, size=(5, 3))
        self.highlight: str | None = None
        self._directions: DirectionSet | None = None

    def show_directions(self, directions: DirectionSet, highlight: str | None = None) -> None:
        self._directions, self.highlight = directions, highlight
        self.request_redraw()

    def redraw(self) -> None:
        self.figure.clear()
        d = self._directions
        if d is None:
            return
        ax = self.figure.add_subplot()
        layers = list(range(d.depth))
        for i, name in enumerate(d.emotions):
            bold = name == self.highlight
            ax.plot(layers, d.accuracy[:, i].tolist(), color=emotion_color(name, d.emotions), linewidth=2.6 if bold else 0.9,
                    marker="o" if d.kind(name) == "user-made" else None,  # user-made: measured at the reading layer only
                    alpha=1.0 if bold else 0.55, label=name if bold else None, zorder=3 if bold else 2)
        ax.plot(layers, d.overall_accuracy().tolist(), color=self.colors["ink"], linewidth=2.2, label="mean of all emotions")
        ax.axhline(1 / len(d.emotions), color="#999999", linestyle="--", linewidth=1, label="chance")
        ax.axvline(d.reading_layer, color="#d62728", linestyle=":", linewidth=1.5, label=f"reading layer ({d.reading_layer})")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("layer")
        ax.set_ylabel("held-out accuracy")
        ax.set_title("How well each layer recognises unseen example texts")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, fontsize=self.font_size, frameon=False)
        self.finish()


class EditorTab(QWidget):
    """Define an emotion by examples; saving it places the emotion among the built-in ones in the worker."""

    def __init__(self, state: LabState, runner: ModelRunner, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner, self.errors = state, runner, errors
        self.name = QLineEdit(placeholderText="e.g. nostalgic")
        self.description = QLineEdit(placeholderText="In plain words: what this emotion is")
        self.examples = QPlainTextEdit()
        self.examples.setPlaceholderText(
            f"One example text per line, at least {MIN_EXAMPLES} (40 or more works best).\n"
            "Write texts that convey the emotion without naming it, e.g.\n"
            "The old photo album smelled of my grandmother's attic.\n"
            "We used to ride our bikes down this street every summer."
        )
        self.count = QLabel()
        self.count.setWordWrap(True)  # long on a projector: wraps instead of widening the form
        self.examples.textChanged.connect(self._count)
        self.save_button = QPushButton("Save and measure")
        self.save_button.setToolTip("Store the emotion and measure it against the built-in emotions "
                                    "(only its own examples are read: a few seconds)")
        self.save_button.clicked.connect(self.save)
        self.user_list = QListWidget()
        self.user_list.setToolTip("Emotions you made. Built-in emotions cannot be deleted.")
        self.delete_button = QPushButton("Delete selected")
        self.delete_button.clicked.connect(self.delete_selected)
        self.chart = AccuracyChart()

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        form.addRow("Examples", self.examples)
        form.addRow("", self.count)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form, 3)
        left_layout.addWidget(self.save_button)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        left_layout.addWidget(self.result)
        left_layout.addWidget(QLabel("<b>Your emotions</b>"))
        left_layout.addWidget(self.user_list, 1)
        left_layout.addWidget(self.delete_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([400, 600])  # the chart gets the larger share (scaled to the real width)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)
        runner.busy_changed.connect(self._update_buttons)
        state.engine_changed.connect(self._engine_changed)
        self._count()
        self._update_buttons()

    def save(self) -> None:
        """Validate and store the emotion, then measure it (errors go to the funnel)."""
        if self.state.engine is None or self.runner.busy:
            return
        try:
            emotion = save_user_emotion(self.name.text(), parse_examples(self.examples.toPlainText()), self.description.text())
        except LabError as error:
            self.errors.report(error)
            return
        self.refresh_list()
        self.extract(highlight=emotion.name)

    def delete_selected(self) -> None:
        item = self.user_list.currentItem()
        if item is None or self.state.engine is None or self.runner.busy:
            return
        try:
            delete_user_emotion(item.text())
        except LabError as error:
            self.errors.report(error)
            return
        self.refresh_list()
        self.extract()

    def extract(self, highlight: str | None = None) -> None:
        """Rebuild the directions for the current emotion files in the worker (user-made ones are placed
        into the built-in picture: only their own texts are read)."""
        engine = self.state.engine
        assert engine is not None

        def work(ctx: JobContext) -> DirectionSet:
            ctx.set_status("Measuring the emotions")
            return load_or_extract(engine.lm, engine.directions.method, ctx)

        def done(directions: DirectionSet) -> None:
            self.state.set_engine(Engine(engine.lm, directions))
            self.chart.show_directions(directions, highlight)
            if highlight in directions.emotions:
                self.result.setText(f"{recognition_words(directions, highlight)}\n\nThe numbers: at layer "
                                    f"{directions.reading_layer}, {accuracy_summary(directions, highlight)}.")

        self.runner.start(Job("measuring the emotions", work, on_done=done))

    def refresh_list(self) -> None:
        self.user_list.clear()
        self.user_list.addItems([path.stem for path in sorted(user_dir().glob("*.yaml"))])

    def _engine_changed(self) -> None:
        if self.state.engine is not None:
            self.chart.show_directions(self.state.engine.directions, self.chart.highlight)
        self.refresh_list()
        self._update_buttons()

    def _count(self) -> None:
        n = len(parse_examples(self.examples.toPlainText()))
        self.count.setText(f"{n} example{'s' if n != 1 else ''} (at least {MIN_EXAMPLES} needed; 20 or more to judge how well it is recognised)")

    def _update_buttons(self) -> None:
        ready = self.state.engine is not None and not self.runner.busy
        self.save_button.setEnabled(ready)
        self.delete_button.setEnabled(ready)
