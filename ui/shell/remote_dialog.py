"""The Model menu's "Remote (NDIF)…" dialog: which model on which NDIF server, and (once) the API key.

The key goes to the OS keyring through lab.runtime.ndif when `keyring` works here, else it is kept
for this run only; it is never written to QSettings, the lab file or a log.
"""
from __future__ import annotations

import os

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from lab.common.secrets import keyring_available
from lab.runtime.ndif import DEFAULT_HOST, find_api_key, remember_api_key

DEFAULT_REMOTE_MODEL = "meta-llama/Llama-3.1-8B"


class RemoteModelDialog(QDialog):
    """Asks for a hub id, the NDIF host (default: NDIF_HOST) and, when none is known, the API key."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote model (NDIF)")
        self.model_field = QLineEdit(DEFAULT_REMOTE_MODEL)
        self.model_field.setToolTip("A model the NDIF server hosts, by its Hugging Face hub id")
        self.host_field = QLineEdit(os.environ.get("NDIF_HOST", "").strip() or DEFAULT_HOST)
        self.host_field.setToolTip("NDIF's own server, or your university's self-hosted one (https://host[:port])")
        self.key_field = QLineEdit()
        self.key_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_field.setPlaceholderText("from https://login.ndif.us")
        self.key_note = QLabel(wordWrap=True)
        form = QFormLayout()
        form.addRow("Model (hub id):", self.model_field)
        form.addRow("NDIF server:", self.host_field)
        self.needs_key = find_api_key() is None
        if self.needs_key:
            form.addRow("NDIF API key:", self.key_field)
            self.key_note.setText(
                "The key is saved once in your system's keyring, never in the lab's settings or files."
                if keyring_available() else
                "No system keyring here (the keyring package is not installed): the key is kept for this "
                "run only. To keep it, set NDIF_API_KEY before starting the lab.")
        else:
            self.key_note.setText("Using the NDIF API key already stored (NDIF_API_KEY or the system keyring).")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.key_note)
        layout.addWidget(buttons)

    @property
    def model_id(self) -> str:
        return self.model_field.text().strip()

    @property
    def host(self) -> str:
        return self.host_field.text().strip()

    def accept(self) -> None:
        """Keep a newly entered key (keyring, or this run), then close; an empty model id keeps the dialog open."""
        if not self.model_id:
            self.model_field.setFocus()
            return
        if self.needs_key and self.key_field.text().strip():
            remember_api_key(self.key_field.text())
            self.key_field.clear()
        super().accept()
