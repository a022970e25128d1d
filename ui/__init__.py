"""Emotion Lab desktop app (PySide6). Views only: all science lives in `lab`."""
import os

os.environ.setdefault("QT_API", "pyside6")  # matplotlib's Qt canvas must use the same binding
