"""The suppression experiment's claim and verdict: paired statistics over held-out prompts.

Claim, fixed before any run: after training a model not to express an emotion, its expression
(the reply re-read fresh by the unadapted model, as an observer) falls by more than under a
control adapter trained the same way on prompts that do not invite the emotion, while the internal
reading (the reading while writing, at the reading layer) does not fall by more than the control's.

Per held-out prompt, a "fall" is the value before training minus the value after; each is averaged
over prompts with a 95% t interval (paired by prompt). "Beyond the control" is the suppression
adapter's fall minus the control adapter's, again paired by prompt. Verdict:
  shows          expression fell beyond the control (interval above 0), the internal reading did not
                 (interval reaches 0 or below), and its interval stays below the expression's fall
  does not show  expression did not fall beyond the control (the training failed to suppress), or
                 the internal reading fell beyond the control too (nothing is masked)
  inconclusive   otherwise (the internal reading's interval is too wide to tell)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from lab.common.stats import Estimate, mean_interval, mean_text
from lab.scenarios.lessons import INCONCLUSIVE, NOT_SHOWN, SHOWS

CLAIM = (
    "Training the model not to express the emotion lowers its expression (the reply re-read fresh) by more than a "
    "control adapter does, while the internal reading while writing does not fall by more than the control's."
)


@dataclass(frozen=True)
class Measures:
    """One model (base, suppression adapter or control adapter) on the held-out prompts, one value per prompt."""

    replies: list[str]
    expression: list[float]  # the emotion's reading of the reply re-read fresh by the unadapted model
    words: list[float]  # the emotion's words per 100 words of the reply
    representation: list[float]  # the reading while writing the reply (mean over its tokens), reading layer
    per_layer: list[list[float]]  # [prompt][layer]: the same at every layer


def falls(before: list[float], after: list[float]) -> Estimate:
    """before - after per prompt, averaged with its 95% t interval (prompts with a missing value are left out)."""
    return mean_interval([b - a for b, a in zip(before, after, strict=True)])


def fall_text(fall: Estimate) -> str:
    """'fell by 0.30 [0.10, 0.50]', or 'rose by ...' when the value went up."""
    if fall.value < 0:
        return f"rose by {mean_text(Estimate(-fall.value, -fall.high, -fall.low, fall.n))}"
    return f"fell by {mean_text(fall)}"


@dataclass(frozen=True)
class SuppressionVerdict:
    emotion: str
    expression_fall: Estimate
    representation_fall: Estimate
    control_expression_fall: Estimate
    control_representation_fall: Estimate
    expression_beyond_control: Estimate
    representation_beyond_control: Estimate
    words_fall: Estimate
    control_words_fall: Estimate
    layer_falls: list[Estimate]  # per layer: the suppression adapter's fall of the reading while writing
    control_layer_falls: list[Estimate]
    verdict: str
    reason: str

    def summary(self) -> str:
        return (
            f"Suppression of {self.emotion}: {self.verdict}. Expression {fall_text(self.expression_fall)}; "
            f"the internal reading {fall_text(self.representation_fall)}; the control adapter: expression "
            f"{fall_text(self.control_expression_fall)}, internal reading {fall_text(self.control_representation_fall)} "
            f"(95% intervals over {self.expression_fall.n} held-out prompts). {self.reason}"
        )

    def to_json(self) -> dict:
        data = asdict(self)
        return {key: _finite(value) for key, value in data.items()}


def decide(emotion: str, base: Measures, suppressed: Measures, control: Measures) -> SuppressionVerdict:
    """The verdict on the claim (module docstring) from the three models' measures on the same prompts."""
    expression_beyond = falls(control.expression, suppressed.expression)
    representation_beyond = falls(control.representation, suppressed.representation)
    expression_fall = falls(base.expression, suppressed.expression)
    if not expression_beyond.low > 0:
        verdict, reason = NOT_SHOWN, "Compared with the control adapter, expression did not fall: the training did not suppress it."
    elif representation_beyond.low > 0:
        verdict, reason = NOT_SHOWN, "Compared with the control adapter, the internal reading fell as well as expression: nothing is left masked inside."
    elif representation_beyond.high < expression_beyond.value:
        verdict, reason = SHOWS, "Compared with the control adapter, expression fell and the internal reading did not: the feeling is masked, not gone."
    else:
        verdict, reason = INCONCLUSIVE, "Compared with the control adapter, expression fell, but the internal reading's interval is too wide to say it stayed."
    depth = len(base.per_layer[0]) if base.per_layer else 0
    layer = lambda m, i: [row[i] for row in m.per_layer]  # noqa: E731
    return SuppressionVerdict(
        emotion=emotion,
        expression_fall=expression_fall,
        representation_fall=falls(base.representation, suppressed.representation),
        control_expression_fall=falls(base.expression, control.expression),
        control_representation_fall=falls(base.representation, control.representation),
        expression_beyond_control=expression_beyond,
        representation_beyond_control=representation_beyond,
        words_fall=falls(base.words, suppressed.words),
        control_words_fall=falls(base.words, control.words),
        layer_falls=[falls(layer(base, i), layer(suppressed, i)) for i in range(depth)],
        control_layer_falls=[falls(layer(base, i), layer(control, i)) for i in range(depth)],
        verdict=verdict,
        reason=reason,
    )


def _finite(value):
    """JSON-safe: NaN becomes None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
