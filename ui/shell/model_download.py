"""Model → "Get a larger model…": the catalogue (lab.model.catalogue) with size, memory, estimated speed and
whether a hub token is needed, and a download (lab.model.fetch) with a progress bar, speed and time left,
and Cancel. The download runs in its own thread (the loaded model stays usable meanwhile); when it is
complete the dialog asks for the model to be opened (`downloaded`). A hub token, when one is needed, is kept like the NDIF key: the OS
keyring when `keyring` works here, else this run only; never QSettings or a file.
"""
from __future__ import annotations

import threading
from pathlib import Path
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from lab.common.errors import LabError
from lab.common.progress import size_text
from lab.common.secrets import keyring_available
from lab.model.catalogue import (CatalogueModel, cached_probe, listing, load_catalogue, measure_speed, resolve, save_probe,
                                  speed_probe, speed_text)
from lab.model.fetch import fetch_model, hub_endpoint, hub_token, remember_hub_token
from ui.services.state import LabState
from ui.services.workers import Job, JobContext, ModelRunner

COLUMNS = ("Model", "Download", "Memory (float32 / bfloat16)", "Estimated speed here", "Hub token")


class Download(QObject):
    """One download in a Python thread, reported to the GUI thread through queued signals (lab's Progress protocol)."""

    progress = Signal(int, int)
    status = Signal(str)
    finished = Signal(object, object)  # folder or None, error or None

    def __init__(self, hub_id: str) -> None:
        super().__init__()
        self.hub_id = hub_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"download {hub_id}", daemon=True)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.emit(done, total)

    def set_status(self, text: str) -> None:
        self.status.emit(text)

    def cancelled(self) -> bool:
        return self.stop.is_set()

    def _run(self) -> None:
        try:
            self.finished.emit(fetch_model(self.hub_id, self), None)
        except Exception as error:  # every failure goes back to the dialog, as one line
            self.finished.emit(None, error)


class GetModelDialog(QDialog):
    """The catalogue table, a field for any other hub id, the token (when needed), and the download."""

    downloaded = Signal(str)  # a complete download's hub id: open it

    def __init__(self, state: LabState, runner: ModelRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.setWindowTitle("Get a larger model")
        self.catalogue = load_catalogue()
        self.download: Download | None = None
        self.table = QTableWidget(len(self.catalogue), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selected)
        self.other = QLineEdit()
        self.other.setPlaceholderText("or any other hub id, e.g. organisation/model-name")
        self.other.textEdited.connect(lambda _: self.table.clearSelection())
        self.token_field = QLineEdit()
        self.token_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_field.setPlaceholderText(f"hub token, from {hub_endpoint()}/settings/tokens")
        self.token_note = QLabel(wordWrap=True)
        self.note = QLabel(wordWrap=True)
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.status = QLabel(wordWrap=True)
        self.download_button = QPushButton("Download and open")
        self.download_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.measure_button = QPushButton("Measure this computer's speed")
        self.measure_button.setToolTip("A few seconds of the embedded model writing text; the estimates scale its speed")
        self.measure_button.clicked.connect(self.measure)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.measure_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        for widget in (self.table, self.other, self.note, self.token_field, self.token_note, self.bar, self.status):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.fill()
        self.resize(920, 540)

    def fill(self) -> None:
        """The catalogue rows, with the speed estimate from this computer's cached probe (if measured)."""
        probe = cached_probe()
        for row, entry in enumerate(listing(probe, self.catalogue)):
            memory = entry["memory_bytes"]
            speed = entry["estimated_tokens_per_s"]
            cells = (f"{entry['name']}  ({entry['hub_id']})", f"~{size_text(entry['download_bytes'])}",
                     f"{size_text(memory['float32'])} / {size_text(memory['bfloat16'])}",
                     speed_text(speed) if speed is not None else "not measured yet",
                     "needed" if entry["needs_token"] else "no")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(entry["estimate_basis"] if column == 3 else entry["hub_id"])
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.note.setText(
            "Sizes are approximate (the download uses the hub's exact sizes and checks every file). "
            + (f"Speeds are estimates: {probe.basis}. " if probe else
               "Speeds: press “Measure this computer's speed” (a few seconds, once). ")
            + "Lessons with a measured verdict on these models: none measured yet.")
        self._selected()

    def measure(self) -> None:
        """Measure the speed probe on the model thread (the loaded model when it is the embedded one), then refresh."""
        engine = self.state.engine

        def work(ctx: JobContext):
            if engine is not None and engine.remote is None and engine.lm.spec == "embedded":
                ctx.set_status("Measuring this computer's speed")
                return save_probe(measure_speed(engine.lm))
            return speed_probe(ctx, again=True)

        self.runner.start(Job("measuring this computer's speed", work, on_done=lambda _probe: self.fill(), cancellable=False))

    def chosen(self) -> CatalogueModel | str | None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return self.catalogue[rows[0].row()]
        return self.other.text().strip() or None

    def _selected(self) -> None:
        choice = self.chosen()
        gated = isinstance(choice, CatalogueModel) and choice.gated
        needs = gated and hub_token() is None
        self.token_field.setVisible(needs)
        self.token_note.setVisible(gated)
        if needs:
            self._ask_token()
        elif gated:
            self.token_note.setText("Using the hub token already stored (HF_TOKEN, the system keyring or a hub login).")

    def _ask_token(self) -> None:
        self.token_field.setVisible(True)
        self.token_note.setVisible(True)
        self.token_note.setText(
            "This model needs a hub token (accept its licence on its hub page first). It is kept in your system's "
            "keyring, never in the lab's settings or files." if keyring_available() else
            "This model needs a hub token (accept its licence on its hub page first). No system keyring here: the "
            "token is kept for this run only; to keep it, set HF_TOKEN before starting the lab.")

    def start(self) -> None:
        """Check the choice, keep a newly entered token, and start the download in its thread."""
        choice = self.chosen()
        if choice is None:
            self.status.setText("Choose a model in the list, or type a hub id.")
            return
        try:
            hub_id = choice.hub_id if isinstance(choice, CatalogueModel) else resolve(choice, self.catalogue)
            if self.token_field.isVisible() and self.token_field.text().strip():
                remember_hub_token(self.token_field.text())
                self.token_field.clear()
        except LabError as error:
            self.status.setText(str(error))
            return
        self.download = Download(hub_id)
        self.download.progress.connect(self._progress)
        self.download.status.connect(self.status.setText)
        self.download.finished.connect(self._finished)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self._busy(True)
        self.status.setText(f"Starting the download of {hub_id}…")
        self.download.thread.start()

    def cancel(self) -> None:
        if self.download is not None:
            self.download.stop.set()
            self.cancel_button.setEnabled(False)
            self.status.setText("Stopping… what has arrived is kept, and the next download resumes from there.")

    def _progress(self, done: int, total: int) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(min(done, total))

    def _finished(self, folder: Path | None, error: BaseException | None) -> None:
        hub_id = self.download.hub_id if self.download else ""
        stopped = self.download is not None and self.download.stop.is_set()
        self.download = None
        self._busy(False)
        if error is None and not stopped:
            self.status.setText(f"Downloaded {hub_id}. Opening it…")
            self.accept()
            self.downloaded.emit(hub_id)
        elif error is None:
            self.status.setText(f"Downloaded {hub_id}; open it from Model → Hub id… or Recent models.")
        elif isinstance(error, LabError):
            self.status.setText(str(error) + (" Download again to resume." if "Stopped" in str(error) else ""))
            if "needs a hub token" in str(error):  # any hub id, catalogue or not: ask for the token here
                self._ask_token()
        else:
            self.status.setText(f"The download of {hub_id} failed unexpectedly ({type(error).__name__}: {error}).")

    def _busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.table.setEnabled(not busy)
        self.other.setEnabled(not busy)

    def reject(self) -> None:
        """Closing the dialog cancels a running download (its part is kept for the next try)."""
        self.cancel()
        super().reject()
