"""Text from files and models made harmless where it is shown: terminals, Markdown, spreadsheets."""
from __future__ import annotations

import html
import re

# C0 and C1 control characters except tab and newline; ESC starts terminal escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_terminal(text: str) -> str:
    """Control characters (escape sequences, carriage returns, bells) removed."""
    return _CONTROL.sub("", text)


def for_markdown(text: str) -> str:
    """HTML-escaped, so Markdown viewers show tags as text instead of running them."""
    return html.escape(text, quote=False)


def for_csv(value: object) -> object:
    """A text cell starting like a formula gets a leading ' so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
