"""Text from files and models made harmless where it is shown: terminals, Markdown, spreadsheets."""
from __future__ import annotations

import html
import re

# C0 and C1 control characters except tab and newline; ESC starts terminal escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates, marks, and Unicode line separators: they make
# a terminal show text in another order than it is stored ("Trojan Source") or break lines.
_LAYOUT = re.compile("[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})
_MARKDOWN_LINKS = re.compile(r"([\\\[\]])")  # \ [ ]: no link, image or reference can open
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def for_terminal(text: str) -> str:
    """Control characters (escape sequences, carriage returns, bells) removed; bidirectional
    overrides and line separators shown as \\uXXXX."""
    return _LAYOUT.sub(lambda m: f"\\u{ord(m.group()):04x}", _CONTROL.sub("", text))


def one_line(text: object) -> str:
    """A value from data for one printed line: newlines, carriage returns and tabs shown as \\n,
    \\r and \\t (so a title cannot forge a row), then made safe for the terminal."""
    return for_terminal(str(text).translate(_LINE_BREAKS))


def for_markdown(text: str) -> str:
    """Text only in any Markdown viewer: control characters (ESC) removed, HTML escaped, link,
    and image brackets backslash-escaped, and URLs broken so nothing becomes a link."""
    text = html.escape(_CONTROL.sub("", text), quote=False)
    text = _MARKDOWN_LINKS.sub(r"\\\1", text)
    return text.replace("://", ":&#47;&#47;").replace("www.", "www&#46;")


def for_csv(value: object) -> object:
    """A text cell starting like a formula gets a leading ' so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
