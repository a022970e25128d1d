"""HTML pages from Jinja templates shipped in a `templates/` folder beside the module that renders them.

Autoescaped: every value put into a page is HTML-escaped unless the template marks it safe, and a name
the template uses but the caller did not pass is an error, not an empty string.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES = "templates"


@cache
def _environment(folder: Path):
    import jinja2  # imported on first use: starting the CLI or the app does not need it

    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def render(module_file: str, name: str, **context: Any) -> str:
    """Render `templates/<name>` found beside `module_file` (the caller's __file__) with `context`."""
    return _environment(Path(module_file).resolve().parent / TEMPLATES).get_template(name).render(**context)
