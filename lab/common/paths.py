"""Where things live: shipped assets (frozen-aware) and the user's data and cache folders.

EMOTION_LAB_HOME overrides both user folders (tests and portable installs use it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "EmotionLab"


def source_root() -> Path:
    """The repository root when run from source, or the bundle folder when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    return Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[2]


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def installed_assets() -> Path:
    """Where an installed package keeps the assets (pyproject.toml maps assets/ to lab/assets/)."""
    return Path(__file__).resolve().parents[1] / "assets"


def is_installed() -> bool:
    """Installed with pip/pipx/uv (not run from a checkout, not frozen)."""
    return installed_assets().is_dir()


def asset_path(*parts: str) -> Path:
    root = installed_assets() if is_installed() else source_root() / "assets"
    return root.joinpath(*parts)


def bundled_model_path(filename: str) -> Path:
    """A model file shipped inside the frozen bundle (build.spec copies it into models/)."""
    return source_root().joinpath("models", filename)


def _home_override() -> Path | None:
    home = os.environ.get("EMOTION_LAB_HOME")
    return Path(home) if home else None


def user_data_dir() -> Path:
    home = _home_override()
    path = home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    home = _home_override()
    path = home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """sessions/lab.db from source; the user data folder when installed, frozen or overridden."""
    if is_frozen() or is_installed() or _home_override():
        return user_data_dir() / "lab.db"
    return source_root() / "sessions" / "lab.db"
