"""'What am I seeing?': the lab explained in plain words for people who do not program."""
from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QWidget

HELP_HTML = """
<h2>What am I seeing?</h2>
<p>A small language model runs on this computer. It writes one <b>token</b> (a word or part of a
word) at a time. While it writes, Emotion Lab looks inside it.</p>

<h3>Emotion directions</h3>
<p>Inside the model, every token is a long list of numbers. For each emotion we showed the model
many example texts and found the <b>direction</b> in which those numbers move when a text carries
that emotion. The <i>Emotion map</i> tab shows how these directions relate to each other.</p>

<h3>Readings: what the numbers mean, and what they do not</h3>
<p>A <b>reading</b> measures how far a token points along an emotion's direction, compared with
ordinary neutral text: 0 means "as neutral text", +2 clearly more than usual, −2 clearly less.
<p><b>The colours:</b> a token is tinted <span style="background:#f2c09e">orange</span> only when the
chosen emotion stands out clearly there: its reading is at least +2 <i>and</i> higher than every other
emotion's reading at that token by at least 1. It is tinted <span style="background:#9ec5e0">blue</span>
when the reading is −2 or lower. Every other token stays white. Why so strict: one token's readings
are noisy. We measured it on the built-in model with 67 emotion words that people have rated: when
every reading was coloured, a third of the orange fell on words with the opposite feeling ("anxious" and
"sorrowful" turned orange for <i>happy</i>); with this rule, about 3 in 100. No colour does <i>not</i>
mean "no emotion": hover any token for all its readings, and read the plot for the trend.</p>
<p><b>Which readings are shown:</b> by default the readings are <b>push-free</b>: when you steer an
emotion, the push the slider adds is subtracted, so a reading shows what the text itself carries.
<i>View → Show raw readings (push included)</i> shows the raw numbers instead (the push left in);
a steered emotion then reads high simply because it is being pushed.</p>
<p>A reading is a measurement of the model's inner state, not proof that the model <i>feels</i>
anything. Readings compare tokens and emotions; they are not percentages or probabilities.</p>

<h3>Steering and the coherence cliff</h3>
<p>A slider <b>steers</b>: it pushes the model's inner numbers along an emotion's direction while
it writes. 0.05 adds 5% of the typical size of those numbers. The sliders end where the text
starts to fall apart on this model (measured once per model: the "coherence cliff").
<i>Expert range</i> lets them go further; the shaded zone is beyond the cliff. A typed value out
of range is set to the nearest allowed one, and the status bar says so.
Dotted lines in the plot show where the steering changed; dashed ones where an answer starts.
If one token's reading is extreme, the plot keeps its scale and says "1 point off the scale".</p>

<h3>The tabs</h3>
<p><b>Chat</b>: talk to the model; <i>New conversation</i> starts afresh (and a new recording).
<b>Compare</b>: the same prompt answered twice at once with the same random seed, once unsteered and
once with the sliders; any difference comes from the steering.
<b>Emotion editor</b>: make your own emotion from example texts (at least 20 for a verdict); it is
placed among the built-in emotions without moving them. <b>Emotion map</b>: the directions in two
dimensions. Fitted axes are the model's best guess at how pleasant and how aroused people rate each
emotion word; each such label says how well it places an emotion it was not fitted on ("held-out r":
1 = exactly, 0 = not at all). Principal components are the directions in which the emotions differ
most; they are called "pleasant" or "calm" only when they follow the ratings. The map starts with
whichever follows the ratings better (on the built-in model: the fitted axes); the menu above it switches.
<b>Sessions</b>: every conversation is kept with its readings and steering; search, reopen, compare, export.
<b>Scenarios</b>: run a prepared lesson (several steps, with checks of what the model says).
<b>Experiments</b>: run a scenario at several strengths and seeds and compare the results.
<i>Help → Lessons</i>: every lesson's claim and what the lab measured on the loaded model, in one sentence
first ("Show the numbers" for the statistics). A causal lesson steers an emotion and counts a
behaviour in four runs per seed (unsteered, pushed up, pushed down, a random push); a broken reply
never counts, and the check that counts the behaviour was itself tested on replies a person labelled.</p>

<h3>Rates, intervals and the random direction</h3>
<p>Experiments count how often a check fired, e.g. "2 of 5 runs". With few runs such a count
says little: the <b>95% interval</b> (in the tooltip) is the range of rates that fit the count;
"0 of 3 runs" fits anything from 0% to about 70%, so it is marked "too few to tell".
The <b>random direction</b> is a control: a made-up direction pushed as hard as the emotion. If the
random push changes the text as much as the emotion does, the effect is not about that emotion.</p>

<h3>Held-out accuracy, and "no clear emotion"</h3>
<p>Some example texts were kept aside, and more were written in another style (short messages,
dialogue). The accuracy says how often the lab named the right emotion for those unseen texts,
with its 95% interval: higher is more trustworthy. When no emotion stands out, the lab says
<b>"no clear emotion"</b> instead of guessing. <i>Help → Does this lab work on this model?</i>
shows all these numbers for the loaded model, and can measure whether steering works and whether
each lesson shows on it.</p>
"""


class HelpPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHtml(HELP_HTML)
        self.setOpenExternalLinks(False)
