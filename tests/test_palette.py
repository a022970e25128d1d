"""One palette for the app and the reports: a reading gets the same token tint in the transcript and
in the HTML report, and an emotion the same colour and line style in the live plot and the report's."""
from __future__ import annotations

import re

import pytest
from matplotlib.colors import to_hex
from store_helpers import EMOTIONS, record_session

from lab.store.lab_file import open_store
from lab.store.report import _line_plot, to_html


@pytest.fixture
def record(tmp_path):
    with open_store(tmp_path / "lab.db") as store:
        session_id, _ = record_session(store)
        return store.load_session(session_id)


def test_the_report_tints_each_token_as_the_app_does(record):
    """Same rule (lab.common.tint_rule) and same colours: every token the report tints has the app's tint."""
    from lab.common.tint_rule import tint_reading
    from ui.widgets.palette import tint

    shown = [tint_reading(t.event.readings, "afraid") for t in record.tokens]
    tinted = [value for value in shown if value]  # None: no reading; 0.0: the rule leaves the token untinted
    backgrounds = re.findall(r'style="background:(#[0-9a-f]{8})" title="afraid ', to_html(record, "afraid"))
    assert len(backgrounds) == len(tinted) >= 1
    for reading, background in zip(tinted, backgrounds, strict=True):
        colour = tuple(int(background[i:i + 2], 16) for i in (1, 3, 5, 7))  # CSS '#rrggbbaa'
        assert colour == tint(reading).getRgb(), reading


def test_each_emotion_has_the_same_colour_and_line_in_the_report_and_the_app(qapp, record):
    from ui.widgets.plot import ReadingsPlot

    plot = ReadingsPlot()
    plot.set_emotions(EMOTIONS, EMOTIONS)
    app = {name: (to_hex(line.get_color()), line.get_linestyle()) for (_, name), line in plot._lines.items()}
    report = {line.get_label(): (to_hex(line.get_color()), line.get_linestyle())
              for line in _line_plot(record, "afraid").axes[0].get_lines() if line.get_label() in EMOTIONS}
    assert report == app and len(app) == len(EMOTIONS)
