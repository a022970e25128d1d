"""Help → "Does this lab work on this model?": the validation report for the loaded model.

What the direction file already knows (recognition with intervals, neutral detection, the
estimator comparison, the map's axes) shows at once; steering efficacy and the lesson verdicts
generate text for minutes, so they run in the model thread on request (Stop ends them). The page
is lab.diagnostics.validation_report's HTML, the same as `python -m lab validate --out FILE`.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QTextBrowser, QVBoxLayout, QWidget

from lab.common.atomic import write_text
from lab.diagnostics.validation_report import build_report, render_html
from lab.runtime.engine import Engine
from ui.widgets.exports import default_export_path
from ui.services.errors import ErrorFunnel
from ui.services.workers import Job, JobContext, ModelRunner

MAP_URL = "emotion-map.png"


class ValidationPage(QDialog):
    """The report of one engine; `measure()` adds steering efficacy and the lessons."""

    def __init__(self, engine: Engine, runner: ModelRunner, errors: ErrorFunnel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine, self.runner, self.errors = engine, runner, errors
        self.setWindowTitle("Does this lab work on this model?")
        self.resize(900, 760)
        self.browser = QTextBrowser(openExternalLinks=False)
        self.note = QLabel(wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.measure_button = buttons.addButton("Measure steering and lessons…", QDialogButtonBox.ButtonRole.ActionRole)
        self.measure_button.setToolTip("Steer each emotion and re-read the replies, then run every lesson over "
                                       "several seeds (tens of minutes on a laptop; Stop ends it)")
        self.measure_button.clicked.connect(self.measure)
        self.save_button = buttons.addButton("Save as HTML…", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self.save_dialog)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.report: dict[str, Any] = build_report(engine, lessons=False, efficacy=False, precision_check=False)
        self.note.setText("Steering efficacy and the lessons are not measured yet: press "
                          "\"Measure steering and lessons…\" (long), or run python -m lab validate.")
        self.show_report(self.report)

    def show_report(self, report: dict[str, Any]) -> None:
        """Render the report; the map's PNG goes in as a document resource (not a data URL)."""
        self.report = report
        page = render_html(report).replace(f"data:image/png;base64,{report['map_png']}", MAP_URL)
        document = self.browser.document()
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(MAP_URL),
                             QImage.fromData(base64.b64decode(report["map_png"])))
        self.browser.setHtml(page)

    def measure(self) -> bool:
        """Run steering efficacy and the lessons in the model thread; False if the model is busy."""
        engine = self.engine

        def work(ctx: JobContext) -> dict[str, Any]:
            return build_report(engine, progress=ctx)

        def done(report: dict[str, Any]) -> None:
            self.note.setText("Measured on this model just now.")
            self.show_report(report)

        started = self.runner.start(Job("measuring steering and the lessons", work, on_done=done))
        if started:
            self.note.setText("Measuring… (progress in the status bar; Stop ends it)")
        return started

    def save_html(self, path: Path) -> Path:
        """Write the page as a self-contained HTML file (the map inline)."""
        path = path if path.suffix.lower() in (".html", ".htm") else path.with_suffix(".html")
        write_text(path, render_html(self.report))
        return path

    def save_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Save the report", default_export_path("emotion-lab-validation.html"),
                                              "HTML (*.html)")
        if not name:
            return
        try:
            saved = self.save_html(Path(name))
        except OSError as error:
            self.errors.report(f"Could not save the report to {name}: {error.strerror or error}. Choose another folder.")
            return
        self.note.setText(f"Saved to {saved}.")
