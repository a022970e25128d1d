"""The app side of imported emotions: the Model menu lists the loaded model's imported
emotions and removes one through lab.emotions.imported, then re-reads the directions."""
from __future__ import annotations

import torch

from lab.emotions.imported import QUARANTINE, ModelShape, list_imported, model_dir, save_imported

SHAPE = ModelShape("f" * 40, depth=4, width=32)


def vectors() -> dict[int, torch.Tensor]:
    return {layer: torch.ones(SHAPE.width) * (layer + 1) for layer in range(SHAPE.depth)}


def answer(monkeypatch, button) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: button))


def test_dialog_lists_and_removes_imported_emotions(qapp, lab_home, monkeypatch):
    from PySide6.QtWidgets import QMessageBox, QWidget

    from ui.services.errors import ErrorFunnel
    from ui.shell.imported_emotions import ImportedEmotionsDialog

    save_imported("nostalgic", vectors(), "test", SHAPE)
    save_imported("wistful", vectors(), "test", SHAPE)
    (model_dir(SHAPE.identity) / QUARANTINE).mkdir()
    (model_dir(SHAPE.identity) / QUARANTINE / "broken.safetensors").write_bytes(b"x")
    parent = QWidget()
    errors = ErrorFunnel(parent)
    dialog = ImportedEmotionsDialog(SHAPE.identity, "tiny", errors, parent)
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert texts == ["nostalgic", "wistful", "broken — set aside: it does not read; remove it"]
    assert not dialog.remove_button.isEnabled() and not dialog.remove_selected()
    removed = []
    dialog.removed.connect(removed.append)
    dialog.list.setCurrentRow(0)
    assert dialog.remove_button.isEnabled()
    answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not dialog.remove_selected() and len(list_imported(SHAPE.identity)) == 3
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert dialog.remove_selected() and removed == ["nostalgic"]
    assert [e.name for e in list_imported(SHAPE.identity)] == ["wistful", "broken"] and dialog.list.count() == 2
    dialog.list.setCurrentRow(1)
    assert dialog.remove_selected() and [e.name for e in list_imported(SHAPE.identity)] == ["wistful"]
    (model_dir(SHAPE.identity) / "wistful.safetensors").unlink()  # removed elsewhere meanwhile
    dialog.list.setCurrentRow(0)
    assert not dialog.remove_selected()
    assert "no imported emotion 'wistful'" in errors.messages[-1] and dialog.list.count() == 0
    assert "No emotions are imported" in dialog.note.text()


def test_model_menu_opens_the_dialog_and_removing_rereads_the_directions(tiny_window, monkeypatch, tiny_lm):
    window = tiny_window
    from PySide6.QtWidgets import QMessageBox

    shape = ModelShape(tiny_lm.identity, tiny_lm.depth, tiny_lm.width)
    save_imported("nostalgic", {layer: torch.ones(shape.width) for layer in range(shape.depth)}, "test", shape)
    window.model_picker._rebuild()
    assert window.imported_action in window.model_picker.menu.actions()
    extracted = []
    monkeypatch.setattr(window.editor, "extract", lambda: extracted.append(True))
    dialog = window.show_imported_emotions()
    assert dialog is not None and dialog.isVisible() and dialog.list.item(0).text() == "nostalgic"
    dialog.list.setCurrentRow(0)
    answer(monkeypatch, QMessageBox.StandardButton.Yes)
    assert dialog.remove_selected() and extracted == [True] and list_imported(tiny_lm.identity) == []
    dialog.close()
