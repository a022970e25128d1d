"""Exports: JSON round trip into another lab file, CSV, Markdown and the HTML report."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from html_page import Page
from store_helpers import EMOTIONS, SAMPLING, event, record_session, register

from lab.common.errors import LabError
from lab.common.events import TokenEvent
from lab.store.export import export_session, from_json, import_json, to_csv, to_json, to_markdown
from lab.store.report import to_html
from lab.store.lab_file import open_store


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "lab.db") as opened:
        yield opened


def test_json_export_then_import_gives_equal_data(store, tmp_path):
    session_id, events = record_session(store)
    original = store.load_session(session_id, raw=True)
    exported = to_json(original)
    export_session(original, tmp_path / "session.json")
    with open_store(tmp_path / "other.db") as other:
        record_session(other, "already here")  # ids in the target differ from the source
        new_id = import_json(other, tmp_path / "session.json")
        imported = other.load_session(new_id, raw=True)
    assert to_json(imported) == exported
    assert imported.tokens[3].raw[12].tolist() == original.tokens[3].raw[12].tolist()
    assert json.loads(exported)["tokens"][-1]["readings"]["calm"] is None  # NaN travels as null
    assert "raw" not in to_json(original, raw=False)


def test_import_rejects_files_that_are_not_exports(tmp_path):
    with pytest.raises(LabError, match="not an Emotion Lab session export"):
        from_json('{"hello": 1}')
    with pytest.raises(LabError, match="damaged: title must be text"):
        from_json('{"format": "emotion-lab-session", "format_version": 1}')
    with pytest.raises(LabError, match="not JSON"):
        from_json("not json")
    with pytest.raises(LabError, match="newer version"):
        from_json('{"format": "emotion-lab-session", "format_version": 99}')


def test_csv_has_one_row_per_token_and_a_column_per_emotion(store):
    session_id, events = record_session(store)
    rows = list(csv.DictReader(io.StringIO(to_csv(store.load_session(session_id)))))
    assert list(rows[0]) == ["turn", "role", "batch_row", "position", "token_id", "token", "is_prompt", *EMOTIONS]
    assert len(rows) == len(events)
    assert float(rows[2]["afraid"]) == events[2].readings["afraid"]
    assert rows[-1]["token"] == "\n" and rows[-1]["calm"] == "" and rows[-1]["role"] == "assistant"


def test_markdown_transcript(store):
    session_id, _ = record_session(store)
    text = to_markdown(store.load_session(session_id))
    assert text.startswith("# a session\n")
    assert "### user\n\nTell a story" in text and "### assistant\n\n Once upon a &lt;time&gt;" in text  # HTML-escaped
    assert "| 1 | 0 | 6 | happy +2 | [10, 11] |" in text


def test_html_report_escapes_model_text_and_embeds_plots(store):
    model, directions = register(store)
    with store.start_session("<script>alert('title')</script>", model, directions, SAMPLING,
                             notes="<img src=x onerror=alert(1)>", app_version="t") as rec:
        rec.begin_turn("user", "<script>alert('user')</script>")
        rec.end_turn()
        rec.begin_turn("assistant")
        rec.add_token(event(0, "<script>", prompt=True))
        for i, piece in enumerate(["alert(1)", "</script>", ' "quoted" & <b>bold</b>']):
            rec.add_token(event(i + 1, piece))
        rec.end_turn()
    html = to_html(store.load_session(rec.session_id), "afraid")
    assert "<script" not in html.lower() and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in html
    assert "&lt;/script&gt;" in html and "&#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    page = Page(html)  # what a browser sees: the recorded markup as text, only the report's own tags
    assert {"<script>alert('title')</script>", "<img src=x onerror=alert(1)>", ' "quoted" & <b>bold</b>'} <= set(page.text)
    assert not page.tags & {"script", "b"} and len(page.images) == 2
    assert 'title="afraid ' in html and "Transcript tinted by afraid" in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2
    assert all(base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n") for data in images)


def test_html_report_of_an_unknown_emotion_is_refused(store):
    session_id, _ = record_session(store)
    with pytest.raises(LabError, match="no readings for 'bored'"):
        to_html(store.load_session(session_id), "bored")


def test_export_by_file_suffix(store, tmp_path):
    session_id, _ = record_session(store)
    record = store.load_session(session_id)
    for suffix in (".json", ".csv", ".md", ".html"):
        export_session(record, tmp_path / f"out{suffix}", emotion="calm")
        assert (tmp_path / f"out{suffix}").stat().st_size > 100
    with pytest.raises(LabError, match="suffixes"):
        export_session(record, tmp_path / "out.xlsx")


def test_report_without_readings_still_renders(store):
    model, _ = register(store)
    with store.start_session("plain", model, None, SAMPLING, app_version="t") as rec:
        rec.begin_turn("assistant")
        rec.add_token(TokenEvent(0, 0, 1, "hi", False, {}))
        rec.end_turn()
    html = to_html(store.load_session(rec.session_id))
    assert "hi" in html and "data:image/png" not in html


def test_store_and_exports_never_import_qt():
    code = ("import sys, lab.store.lab_file, lab.store.export, lab.store.report, lab.diagnostics.bench_store; "
            "sys.exit(any(m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6') or m == 'matplotlib.pyplot' "
            "for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1]).returncode == 0
