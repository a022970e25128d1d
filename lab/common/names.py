"""User-supplied names (emotions, imports) and the files they become.

Every name a user types or a file carries goes through check_name(); every path built from one
goes through inside(), so no name can reach outside its folder.
"""
from __future__ import annotations

import re
from pathlib import Path

from lab.common.errors import LabError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def check_name(name: object, what: str = "emotion") -> str:
    """The name stripped and lower-cased; LabError unless it is 1-32 of a-z 0-9 - _ starting with a letter."""
    text = str(name).strip().lower() if isinstance(name, str) else ""
    if not NAME_PATTERN.fullmatch(text):
        shown = repr(name)[:40]
        raise LabError(
            f"{shown} is not a usable {what} name: use 1-32 lowercase letters, digits, '-' or '_', starting with a letter."
        )
    return text


def inside(folder: Path, filename: str) -> Path:
    """folder / filename, refused (LabError) unless it resolves to a file directly inside `folder`."""
    base = folder.resolve()
    path = (base / filename).resolve()
    if path.parent != base:
        raise LabError(f"'{filename}' would be stored outside {folder}; choose a plain name.")
    return path
