"""Presentation mode: larger fonts and a high-contrast (yellow on black) look for projectors."""
from __future__ import annotations

from PySide6.QtGui import QFont, QFontInfo
from PySide6.QtWidgets import QApplication

LINES_PER_SCREEN = 45  # presentation type: the screen's height / 45, i.e. 24 px at 1080p
MIN_PIXELS = 16


def presentation_pixels(screen_height: int) -> int:
    """The presentation font's pixel size for a screen (or full-screen window) this many pixels tall."""
    return max(MIN_PIXELS, round(screen_height / LINES_PER_SCREEN))

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
        self.pixels = QFontInfo(self.base_font).pixelSize()  # the type size in force

    def set_presentation(self, on: bool, screen_height: int = 1080) -> None:
        """Presentation type scales with the screen (presentation_pixels), never smaller than normal type."""
        self.presentation = on
        font = QFont(self.base_font)
        normal = QFontInfo(self.base_font).pixelSize()
        self.pixels = max(normal, presentation_pixels(screen_height)) if on else normal
        if on:
            font.setPixelSize(self.pixels)
        self.app.setFont(font)
        self.app.setStyleSheet(f"QWidget {{ font-size: {self.pixels}px; }}" + HIGH_CONTRAST if on else "")
