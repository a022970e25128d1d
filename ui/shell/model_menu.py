"""The Model menu (and toolbar button): the embedded model, a larger one from the catalogue (ui.shell.model_download),
a model folder, a .gguf file, a hub id, or a model on an NDIF server (ui.shell.remote_dialog, opened through the nnsight engine).

Choosing one emits `open_requested` (the shell loads it in the background, ui.shell.model_loading); a
failure goes through the error funnel and the previous model stays loaded. The last few models that loaded are
remembered in QSettings and offered again.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMenu, QToolButton, QWidget

from lab.model.precisions import PRECISIONS
from ui.services.state import LabState
from ui.services.workers import ModelRunner
from ui.shell.model_download import GetModelDialog
from ui.shell.remote_dialog import RemoteModelDialog

RECENT_KEY = "models/recent"
DTYPE_KEY = "models/dtype"
MAX_RECENT = 5


def recent_models(settings: QSettings) -> list[str]:
    value = settings.value(RECENT_KEY, [], type=list)
    return [str(v) for v in value if str(v).strip()][:MAX_RECENT]


def remember_model(settings: QSettings, spec: str) -> list[str]:
    """Put `spec` first in the recent list (at most MAX_RECENT, no duplicates)."""
    recent = [spec] + [s for s in recent_models(settings) if s != spec]
    settings.setValue(RECENT_KEY, recent[:MAX_RECENT])
    return recent[:MAX_RECENT]


def short_name(spec: str) -> str:
    if spec == "embedded":
        return "Embedded (SmolLM2)"
    path = Path(spec)
    return path.name if (path.is_absolute() or spec.startswith("~")) and path.name else spec


class ModelPicker(QObject):
    """Builds the Model menu and a toolbar button that opens it; `model_actions` (Imported emotions…, Reload model)
    end the menu."""

    open_requested = Signal(str, object)  # a model spec, and the NDIF host it runs on (None: this computer)
    precision_changed = Signal(str)  # the precision models load in from now on: the current one loads again

    def __init__(self, settings: QSettings, state: LabState, runner: ModelRunner, model_actions: list[QAction],
                 spec: str, owner: QWidget) -> None:
        super().__init__(owner)
        self.settings, self.state, self.runner, self.owner = settings, state, runner, owner
        self.model_actions = model_actions
        self.menu = QMenu("&Model", owner)
        self.menu.setToolTipsVisible(True)
        self.extra_actions: list[QAction] = []  # shown last, after a separator (ui.shell.suppression_menu)
        self.embedded_action = QAction("&Embedded model (default)", self)
        self.embedded_action.setStatusTip("The small model that ships with Emotion Lab")
        self.embedded_action.triggered.connect(lambda: self.choose("embedded"))
        self.folder_action = QAction("Open &folder…", self)
        self.folder_action.setStatusTip("A Hugging Face model folder (config.json + .safetensors)")
        self.folder_action.triggered.connect(self.open_folder)
        self.gguf_action = QAction("Open .&gguf file…", self)
        self.gguf_action.setStatusTip("A GGUF model file (converted once, then cached)")
        self.gguf_action.triggered.connect(self.open_gguf)
        self.hub_action = QAction("&Hub id…", self)
        self.hub_action.setStatusTip("A model on the Hugging Face hub, e.g. HuggingFaceTB/SmolLM2-135M-Instruct")
        self.hub_action.triggered.connect(self.ask_hub_id)
        self.get_action = QAction("&Get a larger model…", self)
        self.get_action.setStatusTip("Download a larger model from a short list, with its size, memory and expected speed")
        self.get_action.triggered.connect(self.get_model)
        self.remote_action = QAction("&Remote (NDIF)…", self)
        self.remote_action.setStatusTip("A large model run by the National Deep Inference Facility (needs an NDIF API key)")
        self.remote_action.triggered.connect(self.ask_remote)
        self.precision_menu = QMenu("&Precision", owner)
        self.precision_menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        for name, text in PRECISIONS.items():
            action = self.precision_menu.addAction(text)
            action.setCheckable(True)
            action.setData(name)
            action.setChecked(name == self.dtype)
            action.triggered.connect(lambda _=False, n=name: self.choose_precision(n))
            group.addAction(action)
        self.menu.aboutToShow.connect(self._rebuild)
        self.button = QToolButton()
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(self.menu)
        self.button.setToolTip("Which language model the lab reads and steers")
        self._rebuild()
        self.show_current(spec)

    @property
    def dtype(self) -> str:
        """The precision models load in (remembered between runs)."""
        value = str(self.settings.value(DTYPE_KEY, "auto"))
        return value if value in PRECISIONS else "auto"

    def choose_precision(self, name: str) -> None:
        """Remember `name` and load the current model again in it."""
        if name != self.dtype:
            self.settings.setValue(DTYPE_KEY, name)
            self.precision_changed.emit(name)

    def choose(self, spec: str) -> None:
        spec = spec.strip()
        if spec:
            self.open_requested.emit(spec, None)

    def open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.owner, "Open a model folder")
        if folder:
            self.choose(folder)

    def open_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.owner, "Open a GGUF model file", "", "GGUF models (*.gguf)")
        if path:
            self.choose(path)

    def ask_hub_id(self) -> None:
        text, ok = QInputDialog.getText(self.owner, "Model from the hub",
                                        "Hugging Face hub id (organisation/name):")
        if ok and text.strip():
            self.choose(text)

    def get_model(self) -> GetModelDialog:
        """Model → Get a larger model…: the catalogue and a download (ui.shell.model_download); it opens the model when done."""
        dialog = GetModelDialog(self.state, self.runner, self.owner)
        dialog.downloaded.connect(self.choose)
        dialog.open()
        return dialog

    def ask_remote(self) -> None:
        dialog = RemoteModelDialog(self.owner)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.open_requested.emit(dialog.model_id, dialog.host)

    def loaded(self, spec: str) -> None:
        """A model loaded: remember it and show its name."""
        remember_model(self.settings, spec)
        self._rebuild()
        self.show_current(spec)

    def show_current(self, spec: str) -> None:
        self.button.setText(f" Model: {short_name(spec)} ")
        self.button.setToolTip(QtGui.Qt.convertFromPlainText(f"Loaded model: {spec}. Click to choose another one."))

    def recent_actions(self) -> list[QAction]:
        return [a for a in self.menu.actions() if a.data() is not None]

    def _rebuild(self) -> None:
        self.menu.clear()
        for action in (self.embedded_action, self.get_action, self.folder_action, self.gguf_action, self.hub_action,
                       self.remote_action):
            self.menu.addAction(action)
        recent = [s for s in recent_models(self.settings) if s != "embedded"]
        if recent:
            self.menu.addSection("Recent models")
            for spec in recent:
                action = self.menu.addAction(short_name(spec))
                action.setData(spec)
                action.setToolTip(QtGui.Qt.convertFromPlainText(spec))
                action.setStatusTip(spec)
                action.triggered.connect(lambda _=False, s=spec: self.choose(s))
        self.menu.addSeparator()
        self.menu.addMenu(self.precision_menu)
        for action in self.model_actions:
            self.menu.addAction(action)
        if self.extra_actions:
            self.menu.addSeparator()
            for action in self.extra_actions:
                self.menu.addAction(action)
