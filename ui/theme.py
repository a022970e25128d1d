"""Presentation mode: larger fonts and a high-contrast (yellow on black) look for projectors."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

FONT_SCALE = 1.5
HIGH_CONTRAST = """
QWidget { background-color: #000000; color: #ffffff; }
QLineEdit, QPlainTextEdit, QTextBrowser, QSpinBox, QDoubleSpinBox, QComboBox, QTableWidget, QListWidget {
    background-color: #101010; color: #ffffff; border: 2px solid #ffffff; selection-background-color: #ffff00;
    selection-color: #000000; }
QPushButton, QToolButton { background-color: #1a1a1a; color: #ffff00; border: 2px solid #ffff00;
    padding: 4px 12px; font-weight: bold; }
QPushButton:disabled, QToolButton:disabled { color: #808080; border-color: #808080; }
QTabBar::tab { background: #1a1a1a; color: #ffffff; border: 1px solid #ffffff; padding: 6px 8px; }
QTabBar::tab:selected { background: #ffff00; color: #000000; }
QSlider::groove:horizontal { height: 8px; background: #606060; border-radius: 4px; }
QSlider::handle:horizontal { background: #ffff00; width: 20px; margin: -7px 0; border-radius: 5px; }
QCheckBox::indicator { width: 16px; height: 16px; border: 2px solid #ffffff; background: #000000; }
QCheckBox::indicator:checked { background: #ffff00; }
QHeaderView::section { background: #1a1a1a; color: #ffffff; border: 1px solid #808080; }
QDockWidget::title { background: #1a1a1a; padding: 4px; }
QMenuBar::item:selected, QMenu::item:selected { background: #ffff00; color: #000000; }
QProgressBar { border: 2px solid #ffffff; text-align: center; }
QProgressBar::chunk { background: #ffff00; }
QToolTip { background-color: #ffffff; color: #000000; border: 2px solid #000000; }
"""


class Theme:
    """Switches the whole application between normal and presentation mode."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.base_font = QFont(app.font())
        self.presentation = False

    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        font = QFont(self.base_font)
        if on and self.base_font.pointSizeF() > 0:
            font.setPointSizeF(self.base_font.pointSizeF() * FONT_SCALE)
        elif on:
            font.setPixelSize(round(self.base_font.pixelSize() * FONT_SCALE))
        self.app.setFont(font)
        size = f"QWidget {{ font-size: {font.pointSizeF():g}pt; }}" if font.pointSizeF() > 0 else ""
        self.app.setStyleSheet(size + HIGH_CONTRAST if on else "")
