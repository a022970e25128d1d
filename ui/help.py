"""'What am I seeing?': the lab explained in plain words for people who do not program."""
from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QWidget

HELP_HTML = """
<h2>What am I seeing?</h2>
<p>A small language model runs on this computer. It writes one <b>token</b> (a word or part of a
word) at a time. While it writes, Emotion Lab looks inside it.</p>

<h3>Emotion directions</h3>
<p>Inside the model, every token is a long list of numbers. For each emotion we showed the model
many example texts (sad stories, angry complaints, …) and found the <b>direction</b> in which those
numbers move when a text carries that emotion. The <i>Emotion map</i> tab shows how these
directions relate to each other.</p>

<h3>Readings</h3>
<p>A <b>reading</b> measures how far a token points along an emotion's direction, compared with
ordinary neutral text. 0 means "as neutral text", +2 means clearly more than usual, −2 clearly less.
In the conversation, tokens are tinted <span style="background:#f4a6a6">red</span> when the chosen
emotion reads above neutral and <span style="background:#a6c8e6">blue</span> when below.
Hover a token to see all its readings. The plot shows readings for every generated token.</p>
<p>A reading is a measurement of the model's inner state, not proof that the model
<i>feels</i> anything.</p>

<h3>Steering</h3>
<p>A slider <b>steers</b>: it pushes the model's inner numbers along an emotion's direction while
it writes. The <b>strength</b> is how hard it pushes: 0.05 adds 5% of the typical size of those
numbers. Small values change the tone; above about 0.06 the text starts to fall apart.
Moving a slider while the model writes changes the very next token. Dotted lines in the plot show
where the steering changed.</p>

<h3>Compare</h3>
<p>The same prompt is answered twice at once, with the same random seed: once with no steering,
once with the sliders. Any difference comes from the steering.</p>

<h3>Held-out accuracy</h3>
<p>Some example texts were kept aside. The accuracy says how often an emotion's direction
recognised those unseen texts. Higher is more trustworthy.</p>

<h3>Sessions</h3>
<p>Every conversation is kept on record with all its readings and steering, so a class can look
at it again later in the <i>Sessions</i> tab.</p>
"""


class HelpPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHtml(HELP_HTML)
        self.setOpenExternalLinks(False)
