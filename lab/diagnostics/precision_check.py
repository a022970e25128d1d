"""Does the precision change what the lab reads? The same texts read in two precisions.

The directions are extracted and validated once, in one precision (`extras["precision"]`, float32 for
the shipped ones). A model run in another precision (bfloat16 for half the memory) reads through those
same directions; this reads the style-shifted validation texts (a few per emotion, plus neutral ones)
with the model in each precision and reports the largest reading difference, how often the label
agrees, and the accuracy in each. `lab validate` includes it whenever the two precisions differ.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from lab.common.progress import Progress, SilentProgress
from lab.emotions.definitions import load_emotions, load_neutral
from lab.emotions.direction_set import NEUTRAL_LABEL, DirectionSet
from lab.model.loader import LoadedModel, load_model
from lab.model.precision import ModelTooLarge
from lab.runtime.reading import text_reading

TEXTS_PER_EMOTION = 5


@dataclass(frozen=True)
class PrecisionComparison:
    """Readings of the same texts in two precisions (`reference` is the one the directions were validated in)."""

    reference: str
    running: str
    texts: int
    largest_difference: float  # largest |reading difference| (z) over every text and emotion
    same_label: int  # texts given the same label in both precisions
    correct: dict[str, int]  # precision -> texts labelled as written (emotion, or "no clear emotion" for neutral)

    def summary(self) -> str:
        return (f"{self.texts} style-shifted texts read in {self.reference} and in {self.running}: largest reading "
                f"difference {self.largest_difference:.2f} z, same label {self.same_label} of {self.texts}, labelled as "
                f"written {self.correct[self.reference]} ({self.reference}) vs {self.correct[self.running]} ({self.running}).")

    def to_json(self) -> dict:
        return asdict(self) | {"summary": self.summary()}


def comparison_texts(directions: DirectionSet, per_emotion: int = TEXTS_PER_EMOTION) -> list[tuple[str, str]]:
    """(text, expected label): the first `per_emotion` validation texts of each built-in emotion, and as many neutral ones."""
    texts = [(text, e.name) for e in load_emotions(include_user=False) if e.name in directions.emotions
             for text in e.validation[:per_emotion]]
    return texts + [(text, NEUTRAL_LABEL) for text in load_neutral().validation[:per_emotion * 4]]


def _read_all(lm: LoadedModel, directions: DirectionSet, texts: list[tuple[str, str]], progress: Progress) -> tuple[torch.Tensor, list[str]]:
    values, labels = [], []
    for index, (text, _expected) in enumerate(texts):
        reading = text_reading(lm, directions, text)
        values.append(torch.tensor([reading.readings[name] for name in directions.emotions]))
        labels.append(reading.top)
        progress.set_progress(index + 1, len(texts))
    return torch.stack(values), labels


def compare_precisions(lm: LoadedModel, directions: DirectionSet, reference: str | None = None,
                       progress: Progress | None = None) -> PrecisionComparison | None:
    """Read the comparison texts with `lm` and with the same model loaded in `reference` (default: the
    directions' precision). None when the precisions are the same or the second copy does not fit in memory."""
    progress = progress or SilentProgress()
    reference = reference or directions.extras.get("precision")
    running = lm.runtime["dtype"]
    if reference is None or reference == running:
        return None
    try:
        other = load_model(lm.spec, dtype=reference)
    except ModelTooLarge:
        return None
    texts = comparison_texts(directions)
    progress.set_status(f"Reading {len(texts)} texts in {running}")
    mine, my_labels = _read_all(lm, directions, texts, progress)
    progress.set_status(f"Reading the same texts in {reference}")
    theirs, their_labels = _read_all(other, directions, texts, progress)
    expected = [label for _text, label in texts]
    return PrecisionComparison(
        reference=reference, running=running, texts=len(texts),
        largest_difference=round(float((mine - theirs).abs().max()), 3),
        same_label=sum(a == b for a, b in zip(my_labels, their_labels)),
        correct={running: sum(a == b for a, b in zip(my_labels, expected)),
                 reference: sum(a == b for a, b in zip(their_labels, expected))},
    )
