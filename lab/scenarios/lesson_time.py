"""How long measuring a lesson takes, roughly, before it runs (for "about N minutes" next to a verdict
that is not measured yet).

A lesson generates its model turns token by token, the rows of a batch side by side: a reading claim
runs its variant and its control (one batch of `seeds` rows each), a causal claim four conditions
per seed in batches of causal.BATCH_ROWS. The time is the batches' generation steps times the
seconds one step took on the embedded model on a 2-core laptop (STEP_SECONDS, measured with
`python -m lab lessons`), scaled by the model's size (layers x width², as a step reads every weight).
A guide, not a promise.
"""
from __future__ import annotations

import math

from lab.scenarios.causal import BATCH_ROWS
from lab.scenarios.runner import cap_tokens
from lab.scenarios.scenario import Claim, Scenario, expand

STEP_SECONDS = 1.5  # one generation step of a batch of rows, embedded model, float32, 2 CPU cores (measured:
# good-bad-news, 8 rows, 1.1-1.5 s per step with the cores partly busy; batches of 32 are assumed no slower)
EMBEDDED_SIZE = 30 * 576**2  # the embedded model's layers x width²


def lesson_steps(scenario: Scenario, claim: Claim, seeds: int | None = None) -> int:
    """Generation steps (batches x tokens per row) that measuring `claim` takes."""
    count = claim.seeds if seeds is None else seeds
    variant = claim.variant or scenario.default_variant()
    if claim.causal:
        caps = [m for m in (claim.max_tokens,) if m is not None]
        script = cap_tokens(expand(scenario, variant), min(caps) if caps else None)
        batches = math.ceil(4 * count / BATCH_ROWS)
        return batches * sum(s.max_tokens for s in script.model_steps())
    return sum(sum(s.max_tokens for s in expand(scenario, v).model_steps()) for v in (variant, claim.control))


def lesson_seconds(scenario: Scenario, claim: Claim, depth: int, width: int, seeds: int | None = None) -> float:
    """About how long measuring `claim` takes on a model of `depth` layers and `width`."""
    return lesson_steps(scenario, claim, seeds) * STEP_SECONDS * depth * width**2 / EMBEDDED_SIZE


def lesson_minutes(scenario: Scenario, claim: Claim, depth: int, width: int, seeds: int | None = None) -> int:
    """lesson_seconds in whole minutes, at least 1."""
    return max(1, round(lesson_seconds(scenario, claim, depth, width, seeds) / 60))
