"""Lessons measured (lab.scenarios.lessons): the statistics, the verdict rule, the `claim:` block,
the `lessons` command's plumbing on a tiny in-test model, and one run on the embedded model."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lab.cli.main import main
from lab.common.stats import Estimate
from lab.scenarios.files import builtin_scenarios, load_scenario, parse_scenario, scenario_problems, scenario_to_yaml
from lab.scenarios.lessons import INCONCLUSIVE, NOT_SHOWN, SHOWS, judge, lesson_verdict, rise, spearman, statistic

TINY = """
title: Tiny lesson
variants:
  up: {variables: {word: "sun smile laugh"}}
  flat: {variables: {word: "table chair window"}}
steps:
  - repeat:
      count: 3
      steps:
        - user: "{word} {i}"
        - model: 2
claim:
  text: Joy rises.
  emotion: joy
  measure: reply_start
  statistic: rise
  variant: up
  control: flat
  seeds: 3
"""


def test_spearman_against_turn_order():
    assert spearman(np.array([0.1, 0.5, 0.9, 2.0])) == pytest.approx(1.0)
    assert spearman(np.array([3.0, 2.0, 1.0])) == pytest.approx(-1.0)
    assert spearman(np.array([1.0, 1.0, 2.0])) == pytest.approx(math.sqrt(3) / 2)  # ties get average ranks
    assert math.isnan(spearman(np.array([1.0, 1.0, 1.0])))


def test_rise_with_a_flat_control_shows():
    rng = np.random.default_rng(1)
    variant = np.arange(7.0) * 0.5 + rng.normal(0, 0.3, (8, 7))
    control = rng.normal(0, 0.3, (8, 7))
    value, control_value, contrast = rise(variant, control, resamples=300)
    assert value.value > 0.9 and value.low > 0.5
    assert abs(control_value.value) < 0.9 and control_value.low < 0 < control_value.high
    assert contrast.low > 0 and judge("rise", value, contrast) == SHOWS
    assert judge("rise", control_value, Estimate(-contrast.value, -contrast.high, -contrast.low, 8)) == NOT_SHOWN


def test_difference_is_paired_by_seed():
    control = np.array([[0.0, 1.0], [5.0, 5.0], [-3.0, -2.0]])
    value, control_value, contrast = statistic("difference", control + 0.5, control)
    assert contrast.value == pytest.approx(0.5) and contrast.low == pytest.approx(0.5)  # the seed spread cancels
    assert control_value.value == pytest.approx(1.0) and value.value == pytest.approx(1.5)


def test_verdict_rule():
    assert judge("difference", Estimate(1, -5, 7, 8), Estimate(0.3, 0.1, 0.5, 8)) == SHOWS
    assert judge("difference", Estimate(1, 0, 2, 8), Estimate(0.3, -0.1, 0.7, 8)) == INCONCLUSIVE
    assert judge("difference", Estimate(1, 0, 2, 8), Estimate(-0.3, -0.7, 0.1, 8)) == NOT_SHOWN
    assert judge("rise", Estimate(-0.2, -0.8, 0.4, 8), Estimate(0.5, 0.1, 0.9, 8)) == NOT_SHOWN  # no rise of its own
    assert judge("difference", Estimate(1, 0, 2, 2), Estimate(0.3, math.nan, math.nan, 1)) == INCONCLUSIVE


def test_claim_block_round_trips_and_is_validated():
    scenario = parse_scenario(TINY)
    assert parse_scenario(scenario_to_yaml(scenario)).claim == scenario.claim
    broken = TINY.replace("control: flat", "control: up").replace("statistic: rise", "statistic: biggest")
    messages = " ".join(str(p) for p in scenario_problems(broken))
    assert "must be one of rise, difference, reread_gap" in messages and "different variant" in messages
    assert "not one of the variants" in " ".join(str(p) for p in scenario_problems(TINY.replace("control: flat", "control: nope")))


def test_every_builtin_scenario_declares_a_testable_claim():
    for item in builtin_scenarios():
        claim = load_scenario(item.path).claim
        assert claim is not None and claim.text, item.name
        scenario = load_scenario(item.path)
        assert claim.causal or claim.control in scenario.variants
        assert (claim.variant or scenario.default_variant()) in scenario.variants


@pytest.fixture(scope="module")
def tiny_engine(tiny_lm, tiny_directions):
    from lab.runtime.engine import Engine

    return Engine(tiny_lm, tiny_directions)


def test_lesson_verdict_on_a_tiny_model(tiny_engine, torch_one_thread):
    """Known answers without knowing what the random model reads: two identical variants differ by
    exactly 0 at every seed (paired by seed: does not show); swapping variant and control negates
    the contrast and turns the verdict round."""
    difference = TINY.replace("statistic: rise", "statistic: difference")
    same = difference.replace('"table chair window"', '"sun smile laugh"')
    verdict = lesson_verdict(tiny_engine, parse_scenario(same), "tiny", seeds=2)
    data = json.loads(json.dumps(verdict.to_json()))
    assert data["scenario"] == "tiny" and data["seeds"] == [0, 1] and data["verdict"] == NOT_SHOWN
    assert data["contrast"] == {"value": 0.0, "low": 0.0, "high": 0.0, "n": 2} and data["per_turn"]["up"] == data["per_turn"]["flat"]
    assert set(data["per_turn"]) == {"up", "flat"} and all(len(v) == 3 for v in data["per_turn"].values())
    assert "tiny:" in verdict.summary()
    forward = lesson_verdict(tiny_engine, parse_scenario(difference), "tiny", seeds=3).contrast
    backward_verdict = lesson_verdict(tiny_engine, parse_scenario(difference.replace("variant: up\n  control: flat", "variant: flat\n  control: up")),
                                      "tiny", seeds=3)
    backward = backward_verdict.contrast
    assert (backward.value, backward.low, backward.high) == pytest.approx((-forward.value, -forward.high, -forward.low))
    # measured: up - flat = -0.235 (95% interval -0.245 to -0.226): this random model reads more "joy"
    # after the neutral words, so the claim does not show one way round and shows the other
    assert forward.value < -0.1 and backward_verdict.verdict == SHOWS


def test_lessons_command_prints_one_json_object_per_scenario(monkeypatch, capsys, tiny_engine, lab_home):
    import lab.cli.models
    import lab.scenarios.lessons as lessons

    calls = []
    monkeypatch.setattr(lab.cli.models, "open_cli_engine", lambda *args, **options: tiny_engine)
    monkeypatch.setattr(lessons, "lesson_verdicts", lambda *args: calls.append(args) or [
        lesson_verdict(tiny_engine, parse_scenario(TINY), "tiny", seeds=2)])
    assert main(["lessons", "--json", "--seeds", "2", "--scenario", "tiny"]) == 0
    assert calls[0][1:3] == (2, ["tiny"]) and calls[0][5] == "all"
    assert json.loads(capsys.readouterr().out.strip())["scenario"] == "tiny"
    from lab.scenarios.lesson_store import load_results

    assert load_results(tiny_engine.lm.identity)["tiny"]["verdict"] in (SHOWS, NOT_SHOWN, INCONCLUSIVE)  # kept for this model
    assert main(["lessons", "--seeds", "1"]) != 0
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.integration
def test_lessons_on_the_embedded_model(monkeypatch, capsys, engine, torch_one_thread, lab_home):
    import lab.cli.models

    monkeypatch.setattr(lab.cli.models, "open_cli_engine", lambda *args, **options: engine)
    assert main(["lessons", "--scenario", "good-bad-news", "--seeds", "2", "--max-tokens", "6", "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip())
    assert data["scenario"] == "good-bad-news" and data["statistic"] == "difference" and data["seeds"] == [0, 1]
    assert {"value", "control_value", "contrast", "per_turn"} <= set(data) and data["contrast"]["n"] == 2
    assert [len(v) for v in data["per_turn"].values()] == [3, 3]
    # happier after good news: measured +2.73 here (2 seeds, 6 tokens; +1.97, interval 1.48 to 2.46, at 8
    # seeds in full), good above bad at every turn by 1.2 or more; 2 seeds are too few for "shows"
    assert data["contrast"]["value"] > 1 and data["verdict"] != NOT_SHOWN
    assert all(g > b for g, b in zip(data["per_turn"]["good"], data["per_turn"]["bad"]))
