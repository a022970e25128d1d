"""Output that cannot lie: every CLI line printed from data shows control characters, newlines and
bidirectional overrides as escapes, and Markdown exports are text only (no links, images or ESC)."""
from __future__ import annotations

from store_helpers import record_session

from lab.cli.main import main
from lab.common.safe_text import for_markdown, for_terminal, one_line
from lab.store.export import to_markdown
from lab.store.lab_file import open_store

FORGED = "real title\n    99  2026-01-01 00:00:00  complete     forged row"
RLO = "invoice_\u202efdp.exe"


def test_a_title_cannot_forge_a_row_or_reorder_the_terminal(tmp_path, capsys):
    db = tmp_path / "lab.db"
    with open_store(db) as store:
        record_session(store, title=FORGED)
        record_session(store, title=RLO + "\x1b]0;owned\x07")
    capsys.readouterr()
    assert main(["sessions", "list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 2, out  # two sessions, two lines
    assert "real title\\n    99" in out and "\u202e" not in out and "\\u202e" in out and "\x1b" not in out and "\x07" not in out


def test_markdown_exports_are_text_only(tmp_path):
    title = "[click me](javascript:alert(1)) ![pixel](https://tracker.example/p.png) <https://x.example> \x1b[31mred"
    with open_store(tmp_path / "lab.db") as store:
        session_id, _ = record_session(store, title=title, answer=[" see [here](http://evil.example)", " www.evil.example"])
        markdown = to_markdown(store.load_session(session_id))
    assert "\x1b" not in markdown
    assert "](" not in markdown.replace("\\](", "")  # every link bracket escaped
    assert "![" not in markdown and "://" not in markdown and "www.evil" not in markdown
    assert "javascript:alert" in markdown  # the text itself is kept, as text


def test_the_helpers_escape_what_they_promise():
    assert for_terminal("a\u202eb\u2066c\u2028d") == "a\\u202eb\\u2066c\\u2028d"
    assert one_line("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert for_markdown("a\\[b]") == "a\\\\\\[b\\]"
