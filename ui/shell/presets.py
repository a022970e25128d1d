"""Slider presets as small JSON files (never pickle): {"format", "version", "strengths"}, loaded and saved
from the File menu and the emotion panel's buttons (PresetFiles)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from lab.common.atomic import write_text
from lab.common.errors import LabError
from ui.services.errors import ErrorFunnel
from ui.services.state import LabState
from ui.widgets.exports import default_export_path

FORMAT = "emotion-lab-preset"
VERSION = 1


def save_preset(path: Path, strengths: dict[str, float]) -> None:
    payload = {"format": FORMAT, "version": VERSION, "strengths": {k: round(v, 4) for k, v in strengths.items() if v}}
    write_text(path, json.dumps(payload, indent=1, sort_keys=True))


def load_preset(path: Path) -> dict[str, float]:
    """The strengths stored in a preset file; LabError for anything that is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LabError(f"Cannot open the preset {path} ({error.strerror}).") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise LabError(f"{path.name} is not a valid preset file: it is not readable JSON.") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("strengths"), dict):
        raise LabError(f"{path.name} is not an Emotion Lab preset (expected a JSON file saved with 'Save preset').")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise LabError(f"{path.name} was saved by a newer Emotion Lab. Update the app to read it.")
    strengths: dict[str, float] = {}
    for name, value in data["strengths"].items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise LabError(f"{path.name}: the strength for '{name}' is not a number.")
        strengths[str(name)] = float(value)
    return strengths


class PresetFiles(QObject):
    """File → Load/Save preset…: the steering sliders to and from a preset file; a bad file is explained."""

    def __init__(self, state: LabState, errors: ErrorFunnel, owner: QWidget) -> None:
        super().__init__(owner)
        self.state, self.errors, self.owner = state, errors, owner

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.owner, "Load slider preset", "", "Emotion Lab presets (*.json)")
        if path:
            self.load(Path(path))

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.owner, "Save slider preset", default_export_path("preset.json"),
                                              "Emotion Lab presets (*.json)")
        if path:
            self.save(Path(path))

    def load(self, path: Path) -> None:
        try:
            unknown = self.state.steering.set_all(load_preset(path))
        except LabError as error:
            self.errors.report(error)
            return
        if unknown:
            self.errors.report(f"The preset was loaded, except for emotions this lab does not have: {', '.join(unknown)}.")

    def save(self, path: Path) -> None:
        try:
            save_preset(path, self.state.strengths)
        except LabError as error:
            self.errors.report(error)
