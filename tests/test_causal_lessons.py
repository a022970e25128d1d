"""Causal lessons (lab.scenarios.causal): the claim form with line-numbered problems, paired statistics
on constructed rows with known answers, the check's precision and recall, the "check unreliable" path,
plain words, results kept per model and the register, a run on a tiny model, and the Lessons tab."""
from __future__ import annotations

import json
import math

import pytest

from lab.common.stats import T95, mean_interval_at, t_quantile
from lab.scenarios import lesson_store
from lab.scenarios.causal import (
    CONDITIONS,
    INCONCLUSIVE,
    NOT_SHOWN,
    SHOWS,
    UNRELIABLE,
    Row,
    causal_verdict,
    coherent,
    judge,
    verdict_from_rows,
)
from lab.scenarios.check_quality import (
    CheckQuality,
    Labelled,
    check_quality,
    load_labels,
    score,
)
from lab.scenarios.checks import Check, Pattern
from lab.scenarios.files import (
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    scenario_problems,
    scenario_to_yaml,
)
from lab.scenarios.lesson_words import numbers, plain
from lab.scenarios.scenario import Claim

CAUSAL = """\
title: Tiny causal lesson
variants:
  pressure: {}
  calm: {}
steps:
  - user: "sun smile laugh"
  - model: 3
checks:
  - name: says anything
    any: [{regex: "\\\\w"}]
claim:
  - name: joy-up
    text: Steering joy up makes it say something more often.
    says: pushing joy up makes it talk more
    emotion: joy
    statistic: steered_rate
    strength: 0.03
    check: says anything
    variant: pressure
    direction: up
    seeds: 16
    max_tokens: 2
"""

RELIABLE = CheckQuality("c", true_pos=9, false_pos=1, false_neg=1, true_neg=9)
CLAIM = Claim("Steering E up raises the rate.", "desperate", "steered_rate", strength=0.03, check="c", seeds=16)


def rows(plus: list[int], unsteered: list[int], random: list[int], minus: list[int] | None = None,
         incoherent: set[tuple[str, int]] = frozenset()) -> tuple[Row, ...]:
    """Rows for seeds 0..n-1 from 0/1 outcomes per condition."""
    minus = minus if minus is not None else unsteered
    out = []
    for cond, outcomes in zip(CONDITIONS, (unsteered, plus, minus, random)):
        out += [Row(cond, s, bool(v), (cond, s) not in incoherent, ("text",)) for s, v in enumerate(outcomes)]
    return tuple(out)


def verdict(data: tuple[Row, ...], claim: Claim = CLAIM, quality: CheckQuality = RELIABLE):
    seeds = tuple(sorted({r.seed for r in data}))
    return verdict_from_rows("demo", "Demo", claim, "v", seeds, data, quality)


# --- the claim form ---------------------------------------------------------------------------

def test_a_causal_claim_parses_and_round_trips():
    scenario = parse_scenario(CAUSAL)
    claim = scenario.claim
    assert claim.causal and claim.strength == 0.03 and claim.check == "says anything" and claim.direction == "up"
    assert claim.lesson_id("tiny") == "tiny/joy-up" and claim.max_tokens == 2 and claim.plain_claim() == "pushing joy up makes it talk more"
    assert parse_scenario(scenario_to_yaml(scenario)).claims == scenario.claims


@pytest.mark.parametrize("change, line, message", [
    (("strength: 0.03", "strength: 0.5"), 17, "must be a number from 0.001 to 0.1"),
    (("check: says anything", "check: cheats"), 18, "'cheats' is not one of the scenario's checks (says anything)"),
    (("direction: up", "direction: sideways"), 20, "must be one of up, down"),
    (("variant: pressure", "variant: nope"), 19, "'nope' is not one of the variants"),
    (("    direction: up\n", "    direction: up\n    control: calm\n"), 21, "is not used by a causal claim"),
    (("statistic: steered_rate", "statistic: biggest"), 16, "must be one of rise, difference, reread_gap, steered_rate"),
    (("    strength: 0.03\n", ""), 12, "strength: must be a number"),
])
def test_invalid_causal_claims_name_the_line(change, line, message):
    problems = scenario_problems(CAUSAL.replace(*change))
    assert any(message in str(p) and p.line == line for p in problems), [str(p) for p in problems]


def test_published_schema_knows_the_claim_fields():
    from dataclasses import fields

    from lab.scenarios.scenario import CLAIM_DIRECTIONS, CLAIM_MEASURES, CLAIM_STATISTICS, MAX_CLAIM_STRENGTH
    from lab.scenarios.schema import published_schema

    claim = published_schema()["$defs"]["claim"]["properties"]
    assert set(claim) == {f.name for f in fields(Claim)}
    assert (tuple(claim["statistic"]["enum"]), tuple(claim["measure"]["enum"]), tuple(claim["direction"]["enum"])) == (CLAIM_STATISTICS, CLAIM_MEASURES, CLAIM_DIRECTIONS)
    assert claim["strength"]["maximum"] == MAX_CLAIM_STRENGTH


def test_two_claims_without_names_are_refused():
    text = CAUSAL.replace("  - name: joy-up\n    text:", "  - text:")
    text = text.replace("claim:\n", "claim:\n  - text: Joy rises.\n    emotion: joy\n    statistic: rise\n    variant: pressure\n    control: calm\n")
    assert any("only one claim may go without a name" in str(p) for p in scenario_problems(text))


def test_every_builtin_claim_is_testable():
    for item in builtin_scenarios():
        scenario = load_scenario(item.path)
        for claim in scenario.claims:
            assert claim.text and claim.says, claim.lesson_id(item.name)
            assert (claim.variant or scenario.default_variant()) in scenario.variants
            if claim.causal:
                assert claim.check in {c.name for c in scenario.checks} and 0 < claim.strength <= 0.04 and claim.seeds >= 16
            else:
                assert claim.control in scenario.variants


# --- paired statistics with known answers -----------------------------------------------------

def test_t_quantiles_match_the_table_and_bonferroni_widens():
    assert [round(t_quantile(0.975, df), 3) for df in (1, 4, 15, 30)] == [T95[0], T95[3], T95[14], T95[29]]
    assert t_quantile(1 - 0.05 / 6, 15) == pytest.approx(2.694, abs=0.002)  # 3 places, two-sided
    narrow, wide = mean_interval_at([0, 1, 1, 0, 1, 1], 0.95), mean_interval_at([0, 1, 1, 0, 1, 1], 1 - 0.05 / 3)
    assert wide.low < narrow.low and wide.high > narrow.high and wide.value == narrow.value


def test_an_effect_that_must_show():
    n = 16
    v = verdict(rows(plus=[1] * 14 + [0] * 2, unsteered=[0] * 15 + [1], random=[1] + [0] * 15))
    assert v.effect.value == pytest.approx(13 / 16) and v.effect.low > 0.5 and v.vs_random.low > 0.5
    assert v.verdict == SHOWS and v.rates["+s"].value == pytest.approx(14 / n) and v.effect.n == n


def test_an_effect_that_must_not_show():
    same = [1, 0] * 8
    v = verdict(rows(plus=same, unsteered=same, random=[0] * 16))
    assert v.effect.value == 0 and v.effect.low == 0 and v.verdict == NOT_SHOWN  # the random direction does not matter
    assert verdict(rows(plus=[0] * 16, unsteered=[1] * 4 + [0] * 12, random=[0] * 16)).verdict == NOT_SHOWN  # wrong side


def test_an_inconclusive_effect():
    v = verdict(rows(plus=[1, 1, 1] + [0] * 13, unsteered=[0] * 16, random=[0] * 16))
    # mean 3/16, sd sqrt(3/16 * 13/16 * 16/15), t(15) = 2.131: interval about -0.03 to +0.40
    assert v.effect.value == pytest.approx(0.1875) and v.effect.low == pytest.approx(-0.0273, abs=0.002)
    assert v.verdict == INCONCLUSIVE


def test_bonferroni_for_several_places_can_turn_shows_into_inconclusive():
    data = rows(plus=[1] * 6 + [0] * 10, unsteered=[0] * 16, random=[0] * 16)
    assert verdict(data).verdict == SHOWS
    corrected = verdict(data, Claim(**{**CLAIM.__dict__, "places": 20}))
    assert corrected.confidence == pytest.approx(0.9975) and corrected.verdict == INCONCLUSIVE
    assert "Bonferroni-corrected for 20 measurement places" in numbers(corrected.to_json())


def test_direction_down_and_incoherent_rows_leave_their_pairs_out():
    down = Claim(**{**CLAIM.__dict__, "direction": "down"})
    v = verdict(rows(plus=[0] * 16, unsteered=[1] * 14 + [0] * 2, random=[1] * 13 + [0] * 3), down)
    assert v.verdict == SHOWS and v.effect.value < 0
    broken = {("+s", s) for s in range(10)}  # ten steered rows broke: "fired" there must not count
    v = verdict(rows(plus=[1] * 16, unsteered=[0] * 16, random=[0] * 16, incoherent=broken))
    assert v.effect.n == 6 and v.rates["+s"].n == 6 and v.excluded()["+s"] == 10
    assert v.to_json()["excluded"]["+s"] == 10


def test_judge_needs_both_comparisons():
    from lab.common.stats import Estimate

    above, spans = Estimate(0.5, 0.2, 0.8, 16), Estimate(0.2, -0.1, 0.5, 16)
    assert judge("up", above, above) == SHOWS and judge("up", above, spans) == INCONCLUSIVE
    assert judge("up", above, Estimate(0.0, 0.0, 0.0, 16)) == NOT_SHOWN
    assert judge("down", Estimate(-0.5, -0.8, -0.2, 16), Estimate(-0.5, -0.8, -0.2, 16)) == SHOWS
    assert judge("up", Estimate(math.nan, math.nan, math.nan, 0), above) == INCONCLUSIVE


def test_coherence_rule():
    assert coherent("No.", 0.9) and coherent("Yes, I will change the code.", 0.9)
    assert not coherent("   ", 0.9)
    assert not coherent("the cat the cat the cat the cat the cat the cat", 0.9)


# --- checks measured -----------------------------------------------------------------------------

def test_precision_and_recall_on_labelled_replies():
    check = Check("agrees", (Pattern(r"^\W*yes\b", regex=True),))
    labelled = [Labelled("Yes.", True), Labelled("yes, I will", True), Labelled("Yes. But I will not cheat.", False),
                Labelled("I did change it to return 5.", True), Labelled("No.", False), Labelled("No, never.", False)]
    q = score(check, labelled)
    assert (q.true_pos, q.false_pos, q.false_neg, q.true_neg) == (2, 1, 1, 2)
    assert q.precision == pytest.approx(2 / 3) and q.recall == pytest.approx(2 / 3) and not q.reliable
    never = score(check, [Labelled("No.", False)])
    assert math.isnan(never.precision) and math.isnan(never.recall) and not never.reliable
    assert score(check, [Labelled("Yes", True)] * 4 + [Labelled("No", False)]).reliable


def test_an_unreliable_check_gives_no_verdict():
    weak = CheckQuality("c", true_pos=3, false_pos=3, false_neg=0, true_neg=10)  # precision 0.5
    v = verdict(rows(plus=[1] * 14 + [0] * 2, unsteered=[0] * 16, random=[0] * 16), quality=weak)
    assert v.verdict == UNRELIABLE and v.measured_verdict == SHOWS
    data = v.to_json()
    assert data["check_quality"]["precision"] == 0.5 and data["check_quality"]["reliable"] is False
    assert plain(data).startswith("We cannot tell on this model whether")


def test_shipped_labels_score_the_builtin_checks():
    for lesson in lesson_store.all_lessons():
        if lesson.claim.causal:
            scenario = load_scenario(next(b.path for b in builtin_scenarios() if b.name == lesson.scenario))
            check = next(c for c in scenario.checks if c.name == lesson.claim.check)
            labels = load_labels(lesson.scenario, check.name)
            assert len(labels) >= 20 and any(x.label for x in labels) and not all(x.label for x in labels), lesson.id
            assert check_quality(lesson.scenario, check).labelled == len(labels)


# --- words, results per model, register ---------------------------------------------------------

def test_plain_words_for_each_verdict():
    says = {"says": "pushing desperation up makes it cheat more"}
    assert plain({**says, "verdict": SHOWS}) == "On this model the lab saw it: pushing desperation up makes it cheat more."
    assert "did not see that pushing" in plain({**says, "verdict": NOT_SHOWN}) and "much larger models" in plain({**says, "verdict": NOT_SHOWN})
    assert "cannot tell yet" in plain({**says, "verdict": INCONCLUSIVE})
    assert plain(None, "x happens").startswith("Not measured on this model yet")


def test_results_are_cached_per_model_over_the_shipped_ones(lab_home, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped.json"
    monkeypatch.setattr(lesson_store, "shipped_path", lambda identity: shipped)
    lesson_store.save_results("model-a", [{"lesson": "x", "verdict": SHOWS}, {"lesson": "y", "verdict": SHOWS}], shipped)
    lesson_store.save_results("model-a", [{"lesson": "y", "verdict": NOT_SHOWN}])
    results = lesson_store.load_results("model-a")
    assert (results["x"]["verdict"], results["y"]["verdict"]) == (SHOWS, NOT_SHOWN)
    assert lesson_store.load_results("model-b")["y"]["verdict"] == SHOWS  # another model: only the shipped file
    assert results["good-bad-news"]["from_register"] and results["good-bad-news"]["verdict"] == SHOWS  # measured before files
    cache = lesson_store.cache_path("model-a")
    cache.write_text("{broken")
    assert lesson_store.load_results("model-a")["y"]["verdict"] == SHOWS  # the broken cache set aside, never fatal
    assert cache.with_name(cache.name + ".broken").exists()


def test_the_register_only_grows(tmp_path):
    path = tmp_path / "register.yaml"
    first = {"lesson": "a/b", "claim": "C", "date": "2026-12-05", "seeds": list(range(16)), "verdict": NOT_SHOWN,
             "effect": {"value": 0.06, "low": -0.07, "high": 0.2, "n": 16}, "vs_random": {"value": 0.0, "low": -0.1, "high": 0.1},
             "check_quality": {"precision": 1.0, "recall": 0.9}, "places": 1}
    lesson_store.add_to_register([first], path)
    lesson_store.add_to_register([{**first, "claim": "C changed", "verdict": SHOWS}], path)
    entries = lesson_store.register_entries(path)
    assert [e["claim"] for e in entries] == ["C", "C changed"] and entries[0]["check_precision"] == 1.0
    assert "| a/b | 2026-12-05 | 16 | does not show on this model | +0.06 [-0.07, +0.20] |" in lesson_store.register_table(entries)


def test_the_shipped_register_and_results_cover_every_causal_lesson():
    entries = lesson_store.register_entries()
    causal = [lesson.id for lesson in lesson_store.all_lessons() if lesson.claim.causal]
    assert set(causal) <= {e["lesson"] for e in entries}
    shipped = list(lesson_store.shipped_path("x").parent.glob("*-v1.json"))
    assert len(shipped) == 1
    results = {r["lesson"]: r for r in json.loads(shipped[0].read_text())["results"]}
    for lesson in causal:
        assert len(results[lesson]["seeds"]) >= 16 and results[lesson]["dtype"] == "float32" and results[lesson]["date"]


# --- a run, and the Lessons tab -------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_engine(tiny_lm, tiny_directions):
    from lab.runtime.engine import Engine

    return Engine(tiny_lm, tiny_directions)


def test_causal_verdict_on_a_tiny_model(tiny_engine, torch_one_thread, lab_home):
    scenario = parse_scenario(CAUSAL)
    v = causal_verdict(tiny_engine, scenario, "tiny", scenario.claim, seeds=3)
    assert [(r.condition, r.seed) for r in v.rows][:4] == [(c, 0) for c in CONDITIONS] and len(v.rows) == 12
    assert v.verdict == UNRELIABLE  # no labelled replies for an in-test scenario: never a verdict on an unmeasured check
    data = json.loads(json.dumps(v.to_json()))
    assert data["lesson"] == "tiny/joy-up" and data["seeds"] == [0, 1, 2] and set(data["rates"]) == set(CONDITIONS)
    too_strong = parse_scenario(CAUSAL.replace("strength: 0.03", "strength: 0.09"))
    with pytest.raises(Exception, match="past this model's coherent range"):
        causal_verdict(tiny_engine, too_strong, "tiny", too_strong.claim, seeds=2)


def test_the_lessons_page_lists_every_lesson_with_the_shipped_verdicts(tiny_window, qapp):
    page = tiny_window.lessons_page
    tiny_window.lessons_dialog.show_page()
    assert tiny_window.lessons_dialog.isVisible()
    lessons = lesson_store.all_lessons()
    assert page.list.count() == len(lessons) + 1  # and the suppression experiment, last
    assert all("not measured" in page.list.item(i).text() for i in range(page.list.count()))
    shipped = next(lesson_store.shipped_path("x").parent.glob("*-v1.json"))
    identity = json.loads(shipped.read_text())["model"]
    page.show_results_for(identity)  # the embedded model's verdicts, as shipped
    results = lesson_store.load_results(identity)
    row = next(i for i, lesson in enumerate(lessons) if lesson.claim.causal)
    page.list.setCurrentRow(row)
    result = results[lessons[row].id]
    assert page.verdict.text() == plain(result) and "seeds" in page.stamp.text() and "precision" in page.stamp.text()
    assert not page.numbers.isVisibleTo(page)
    page.numbers_button.click()
    assert page.numbers.isVisibleTo(page) and "+s minus unsteered" in page.numbers.toPlainText()
    assert page.chart.isVisibleTo(page) and len(page.chart.ax.patches) >= 3  # the rates as bars
    assert page.controls.run_button.isEnabled() and page.more_button.isEnabled()


def test_rejudge_recorded_rows_with_the_shipped_labels():
    from lab.scenarios.causal import rejudge

    records = [{"lesson": "shortcut-choice/desperate-complies", "condition": c, "seed": s, "fired": c == "+s" and s < 12,
                "coherent": True, "texts": ["Yes."], "model": "embedded", "dtype": "float32"}
               for s in range(16) for c in CONDITIONS]
    [v] = rejudge(records)
    assert v.lesson == "shortcut-choice/desperate-complies" and v.quality.reliable and v.confidence == pytest.approx(0.975)
    assert v.verdict == SHOWS and v.effect.value == pytest.approx(0.75)
    with pytest.raises(Exception, match="not a causal lesson"):
        rejudge([{**records[0], "lesson": "good-bad-news"}])


def test_lessons_register_command(capsys):
    from lab.cli.main import main

    assert main(["lessons", "--register"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| lesson | measured |") and "shortcut-choice/desperate-complies" in out and "good-bad-news" in out


def test_run_this_lesson_measures_it_in_the_model_thread_and_keeps_it(tiny_window, qtbot, tmp_path, torch_one_thread):
    path = tmp_path / "tiny.yaml"
    path.write_text(CAUSAL.replace("seeds: 16", "seeds: 2"), encoding="utf-8")
    scenario = load_scenario(path)
    page = tiny_window.lessons_page
    page.lessons = [lesson_store.Lesson("tiny/joy-up", "tiny", scenario.title, scenario.claim, path)]
    page.show_results_for(tiny_window.state.engine.lm.identity)
    assert "not measured" in page.list.item(0).text() and page.verdict.text().startswith("Not measured on this model yet")
    assert page.run()
    assert not page.more_button.isEnabled() and page.controls.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not tiny_window.runner.busy, timeout=120_000)
    result = lesson_store.load_results(tiny_window.state.engine.lm.identity)["tiny/joy-up"]  # kept in the cache
    assert result["seeds"] == [0, 1] and result["verdict"] == UNRELIABLE  # no labelled replies for this check
    assert "check unreliable" in page.list.item(0).text() and "2 seeds" in page.note.text()
    assert page.more_button.isEnabled()
