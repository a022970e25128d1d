"""The published scenario schema is the one source of truth for the format: the lab validates against
it with jsonschema (lab.scenarios.schema), and these tests fail if the schema and the lab disagree:
every kind of rule the schema uses has plain, line-numbered words; data the schema accepts is
accepted (unless a check the schema cannot express refuses it); data it refuses is refused."""
from __future__ import annotations

import textwrap
from dataclasses import fields

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from lab.scenarios import schema as schema_module
from lab.scenarios.building import DEFAULTS
from lab.scenarios.files import parse_scenario, scenario_from_dict, scenario_problems, scenarios_dir
from lab.scenarios.scenario import Scenario, ScenarioError
from lab.scenarios.schema import published_schema, schema_problems

SCHEMA = published_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
BASE = "title: Base\nvariants: {a: {}, b: {}}\nsteps:\n  - user: hi\n  - model: 4\nchecks:\n  - name: c\n    any: [hello]\n"
JSONSCHEMA_ENGLISH = ("is not valid under", "is a required property", "was unexpected", "does not match", "is not of type",
                      "is too short", "is less than", "is greater than", "should not be valid", "is not one of [")


ANNOTATIONS = {"$schema", "$id", "$ref", "title", "description", "default"}
STRUCTURE = {"properties", "$defs", "items", "propertyNames", "if", "then", "else"}  # hold subschemas; their errors are the subschemas'


def keywords(node, found: set[str]) -> set[str]:
    """Every kind of rule the schema uses (e.g. minimum, pattern, additionalProperties: false)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs"):
                value = list(value.values())
            elif key == "if":
                continue  # the condition of if/then/else: never reported itself
            elif key not in ANNOTATIONS | STRUCTURE and (key != "additionalProperties" or value is False):
                found.add(key)
            keywords(value, found)
    elif isinstance(node, list):
        for sub in node:
            keywords(sub, found)
    return found


def error_kinds(error) -> set[str]:
    return {error.validator, *(kind for sub in error.context or () for kind in error_kinds(sub))}


def test_the_schema_is_a_valid_2020_12_schema_and_ships_in_assets():
    Draft202012Validator.check_schema(SCHEMA)
    assert schema_module.published_schema() == __import__("json").loads((scenarios_dir() / "scenario.schema.json").read_text(encoding="utf-8"))


# (change to BASE, the field it is about, its line, words in the message): one per kind of rule
BROKEN = [
    (("title: Base", "title: [a]"), "title", 1, "must be text that is not empty, not a list"),
    (("title: Base", 'title: "  "'), "title", 1, "must be text that is not empty"),
    (("title: Base\n", ""), "title", None, "must be text that is not empty; it is missing"),
    (("title: Base", "title: Base\ncolour: red"), "colour", 2, "unknown field 'colour'"),
    (("variants: {a: {}, b: {}}", "variants: {}"), "variants", 2, "at least one entry"),
    (("variants: {a: {}, b: {}}", "variants: {-a: {}}"), "variants > -a", 2, "cannot be a name here"),
    (("  - model: 4", "  - model: 0"), "steps > item 2 > model", 5, "must be a whole number from 1 to 1024, not 0"),
    (("  - model: 4", "  - model: 2000"), "steps > item 2 > model", 5, "from 1 to 1024, not 2000"),
    (("  - model: 4", "  - model: yes"), "steps > item 2 > model", 5, "must be empty or a whole number from 1 to 1024 or a set"),
    (("  - model: 4", "  - model: 4\n    user: x"), "steps > item 2", 5, "a step needs exactly one of user, assistant, model, reset, repeat, not user and model"),
    (("  - model: 4", "  - only: [a]"), "steps > item 2", 5, "a step needs exactly one of"),
    (("    any: [hello]", "    any: []"), "checks > item 1 > any", 8, "must be a list with at least one item"),
    (("title: Base", "title: Base\ntemperature: 3"), "temperature", 2, "must be a number from 0 to 2, not 3"),
    (("title: Base", "title: Base\nreread: maybe"), "reread", 2, "must be true or false, not 'maybe'"),
    (("title: Base", "title: Base\nclaim: {text: t, emotion: e, statistic: best, control: b}"), "claim > statistic", 2,
     "must be one of rise, difference, reread_gap, steered_rate, not 'best'"),
    (("title: Base", "title: Base\nclaim: {text: t, emotion: e, statistic: rise, control: b, strength: 0.01}"), "claim > strength", 2,
     "is not used by a reading claim"),
    (("title: Base", "title: Base\nclaim: {text: t, emotion: e, statistic: rise}"), "claim > control", 2, "it is missing"),
    (("  - user: hi", "  - user: 5"), "steps > item 1 > user", 4, "(put it in quotes)"),
    (("  - user: hi", "  - repeat: {count: many, steps: [{user: x}]}"), "steps > item 1 > repeat > count", 4,
     "must be a whole number from 1 to 100, or a {variable} holding one, not 'many'"),
]


def test_every_kind_of_rule_in_the_schema_is_broken_by_a_case_here():
    """A rule of a new kind in the schema needs plain words in lab.scenarios.schema and a case in BROKEN."""
    used = keywords(SCHEMA, set())
    covered = {kind for change, *_ in BROKEN for error in VALIDATOR.iter_errors(yaml.safe_load(BASE.replace(*change)))
               for kind in error_kinds(error)}
    assert used and used <= covered, used - covered


@pytest.mark.parametrize("change, field, line, words", BROKEN)
def test_each_kind_of_schema_rule_gives_a_plain_line_numbered_problem(change, field, line, words):
    text = BASE.replace(*change)
    assert text != BASE
    assert not VALIDATOR.is_valid(yaml.safe_load(text))  # the schema itself refuses it
    problems = scenario_problems(text)
    match = [p for p in problems if p.field == field and words in p.message]
    assert match and match[0].line == line, [str(p) for p in problems]
    assert not any(english in str(p) for p in problems for english in JSONSCHEMA_ENGLISH), [str(p) for p in problems]


def test_checks_a_schema_cannot_express_are_made_beside_it():
    text = BASE.replace("  - user: hi", "  - user: hi\n    only: [zz]") + "  - name: c\n    any: [{regex: '(a+)+$'}]\n"
    text += "claim: {text: t, emotion: e, statistic: steered_rate, strength: 0.01, check: nope, direction: up, variant: zz}\n"
    schema_ok = VALIDATOR.is_valid(yaml.safe_load(text))
    found = {(p.field, p.message.split(" (")[0]) for p in scenario_problems(text)}
    assert schema_ok
    assert found >= {("steps > item 1 > only", "'zz' is not one of the variants"),
                     ("checks > item 2 > name", "another check is already called 'c'"),
                     ("claim > check", "'nope' is not one of the scenario's checks"),
                     ("claim > variant", "'zz' is not one of the variants")}, found
    assert any(f == "checks > item 2 > any > item 1 > regex" for f, _ in found)


def test_the_schema_defaults_are_the_ones_the_lab_fills_in():
    props = SCHEMA["properties"]
    claim = SCHEMA["$defs"]["claim"]["properties"]
    step = SCHEMA["$defs"]["steps"]["items"]["properties"]
    model = step["model"]["oneOf"][2]["properties"]
    declared = {"temperature": props["temperature"]["default"], "top_p": props["top_p"]["default"], "reread": props["reread"]["default"],
                "max_tokens": model["max_tokens"]["default"], "counter": step["repeat"]["properties"]["counter"]["default"],
                "measure": claim["measure"]["default"], "seeds": claim["seeds"]["default"], "places": claim["places"]["default"],
                "negate": SCHEMA["properties"]["checks"]["items"]["properties"]["negate"]["default"]}
    assert declared == DEFAULTS
    plain = Scenario(title="", steps=())
    assert (plain.temperature, plain.top_p, plain.reread) == (DEFAULTS["temperature"], DEFAULTS["top_p"], DEFAULTS["reread"])
    assert set(props) == {f.name for f in fields(Scenario)} - {"claims", "source"} | {"claim"}


def test_what_the_schema_accepts_at_its_edges_is_accepted():
    """Values on the schema's bounds, and whole numbers written as 3.0 (JSON Schema integers), load."""
    text = textwrap.dedent("""\
        title: Edges
        temperature: 2
        top_p: 0.01
        variables: {n: 3}
        steps:
          - model: {max_tokens: 1024.0, steer: {Calm: -1}}
          - repeat: {count: 100, vary: {v: [1, two]}, steps: [{user: "{v} {n}"}, {model: 1}]}
          - reset: null
        claim: {text: t, emotion: Joy, statistic: steered_rate, strength: 0.1, check: c, direction: down, seeds: 64.0, places: 100}
        checks: [{name: c, any: [x]}]
        """)
    assert VALIDATOR.is_valid(yaml.safe_load(text))
    scenario = parse_scenario(text)
    assert scenario.steps[0].max_tokens == 1024 and scenario.steps[0].steer == {"calm": -1.0}
    assert scenario.claim.seeds == 64 and isinstance(scenario.claim.seeds, int) and scenario.claim.emotion == "joy"


def test_data_built_in_code_is_checked_against_the_same_schema():
    with pytest.raises(ScenarioError, match=r"temperature: must be a number from 0 to 2, not 5"):
        scenario_from_dict({"title": "t", "steps": [{"user": "hi"}], "temperature": 5})


# --- the schema and the lab agree on generated data -------------------------------------------------

texts = st.sampled_from(["hi", "", " ", "a", "{n}", "{zz}", "b-c", "x_1", "Joy"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2000), st.sampled_from([0.5, 1.5, 2.5, 3.0, -0.02, 1e400]), texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=6)


def step(depth: int) -> st.SearchStrategy:
    leaf = st.one_of(
        st.fixed_dictionaries({"user": texts | scalars}), st.fixed_dictionaries({"assistant": texts}),
        st.fixed_dictionaries({"model": st.none() | st.integers(-1, 1030) | st.fixed_dictionaries(
            {}, optional={"max_tokens": scalars, "steer": st.dictionaries(texts, scalars, max_size=2), "x": scalars})}),
        st.fixed_dictionaries({"reset": scalars}),
        st.fixed_dictionaries({"user": texts, "only": st.lists(st.sampled_from(["a", "b", "zz"]), max_size=2) | texts}),
        st.dictionaries(st.sampled_from(["user", "model", "only", "x"]), scalars, max_size=2),
    )
    if depth == 0:
        return leaf
    return leaf | st.fixed_dictionaries({"repeat": st.fixed_dictionaries(
        {"count": st.integers(-1, 120) | texts, "steps": st.lists(step(depth - 1), max_size=3)},
        optional={"counter": texts, "vary": st.dictionaries(texts, st.lists(texts | scalars, max_size=2) | scalars, max_size=2)})})


claims = st.fixed_dictionaries(
    {"text": texts, "emotion": texts, "statistic": st.sampled_from(["rise", "difference", "reread_gap", "steered_rate", "best"])},
    optional={key: st.sampled_from(values_) for key, values_ in {
        "control": ["a", "b", "zz", ""], "variant": ["a", "b"], "measure": ["reply_start", "x"], "strength": [0.03, 0.5, 0],
        "check": ["c", "nope"], "direction": ["up", "sideways"], "seeds": [8, 1, 65], "places": [1, 0], "max_tokens": [5, 0],
        "name": ["n1", "n2", "-x"], "says": ["s", 3]}.items()},
)
scenario_data = st.fixed_dictionaries(
    {"title": texts | scalars, "steps": st.lists(step(2), max_size=4)},
    optional={
        "variables": st.dictionaries(texts, scalars, max_size=2),
        "variants": st.dictionaries(st.sampled_from(["a", "b", "-x"]), st.none() | st.fixed_dictionaries(
            {}, optional={"variables": st.dictionaries(texts, scalars, max_size=2), "system": texts | scalars}), max_size=2),
        "checks": st.lists(st.fixed_dictionaries({"name": texts, "any": st.lists(texts | st.fixed_dictionaries({"regex": texts}), max_size=2)},
                                                 optional={"negate": scalars}), max_size=2),
        "claim": claims | st.lists(claims, max_size=2),
        "temperature": scalars, "top_p": scalars, "reread": scalars, "models": values, "colour": scalars,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_data)
def test_the_lab_refuses_exactly_what_the_schema_refuses(data):
    """The schema's verdict and the lab's schema problems agree on every generated document; every
    problem has a line (from the YAML text) and plain words; schema-valid data is built or refused
    only by the checks the schema cannot express."""
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    parsed = yaml.safe_load(text)
    valid = VALIDATOR.is_valid(parsed)
    assert (schema_problems(parsed, {}) == []) == valid
    problems = scenario_problems(text)
    beside = ("is not one of the variants", "another check", "is not one of the scenario's checks", "different variant", "another claim",
              "only one claim", "not defined", "is not a whole number", "must be from 1 to", "expands to more than", "the limit")
    assert not any(e in str(p) for p in problems for e in JSONSCHEMA_ENGLISH), [str(p) for p in problems]
    if valid:
        assert all(any(words in p.message for words in beside) for p in problems), [str(p) for p in problems]
    else:
        assert problems and all(p.line for p in problems if not any(words in p.message for words in beside)), [str(p) for p in problems]
