"""Scenario files (YAML): read with yaml.safe_load, validated against the published schema and the
checks it cannot express, with line numbers (lab.scenarios.validation), written back tidily. A broken file gives a ScenarioError listing every problem; nothing here
crashes on it or writes over it. The format is described in docs/scenarios.md and
assets/scenarios/scenario.schema.json; built-in scenarios live in assets/scenarios/*.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from lab.common.atomic import write_text
from lab.common.errors import LabError
from lab.common.limits import SCENARIO_BYTES, read_bytes
from lab.common.paths import asset_path
from lab.scenarios.scenario import Claim, Message, ModelTurn, Problem, Reset, Scenario, ScenarioError, Step, Variant, problems_in_expansion
from lab.scenarios.budget import MAX_YAML_DEPTH, MAX_YAML_NODES, budget_problems
from lab.scenarios.building import build_scenario
from lab.scenarios.schema import Path_, field_name
from lab.scenarios.validation import data_problems

MAX_FILE_BYTES = SCENARIO_BYTES


@dataclass(frozen=True)
class BuiltinScenario:
    name: str  # the file name without .yaml, usable wherever a scenario file is asked for
    title: str
    path: Path


def scenarios_dir() -> Path:
    return asset_path("scenarios")


def builtin_scenarios() -> list[BuiltinScenario]:
    """The scenarios shipped with the app, in file-name order (titles read from the files)."""
    found = []
    for path in sorted(scenarios_dir().glob("*.yaml")):
        try:
            title = load_scenario(path).title
        except LabError:
            title = path.stem
        found.append(BuiltinScenario(path.stem, title, path))
    return found


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file from a path, or from a built-in scenario's name (e.g. 'impossible-task')."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    builtin = scenarios_dir() / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    names = ", ".join(b.name for b in builtin_scenarios())
    raise LabError(f"No scenario file '{name_or_path}'. Give a path to a .yaml file or a built-in name: {names}.")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; ScenarioError lists every problem."""
    path = Path(path)
    try:
        text = read_bytes(path, MAX_FILE_BYTES, "scenario file").decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(path.name, [Problem(None, "", "the file is not UTF-8 text")]) from None
    scenario = parse_scenario(text, path.name)
    return replace(scenario, source=path)


def parse_scenario(text: str, source: str = "") -> Scenario:
    """A scenario from YAML text; ScenarioError lists every problem."""
    scenario, problems = _parse(text)
    if problems or scenario is None:
        raise ScenarioError(source, problems)
    return scenario


def scenario_problems(text: str) -> list[Problem]:
    """Every problem in YAML text (empty when it is a valid scenario): for live checking in an editor."""
    return _parse(text)[1]


def scenario_from_dict(data: Any) -> Scenario:
    """A scenario from already-parsed data (e.g. built in the app); ScenarioError without line numbers."""
    problems = data_problems(data, {})
    scenario = None if problems else build_scenario(data, {})
    problems = problems or budget_problems(scenario) or problems_in_expansion(scenario)
    if problems:
        raise ScenarioError("", problems)
    return scenario


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The file's structure, leaving out fields at their defaults."""
    defaults = Scenario(title="", steps=())
    data: dict[str, Any] = {"title": scenario.title}
    for key in ("description", "lesson", "system"):
        if getattr(scenario, key):
            data[key] = getattr(scenario, key)
    if scenario.models:
        data["models"] = list(scenario.models)
    if scenario.variables:
        data["variables"] = dict(scenario.variables)
    if scenario.variants:
        data["variants"] = {name: _variant_dict(v) for name, v in scenario.variants.items()}
    for key in ("temperature", "top_p", "reread"):
        if getattr(scenario, key) != getattr(defaults, key):
            data[key] = getattr(scenario, key)
    data["steps"] = [_step_dict(step) for step in scenario.steps]
    if scenario.checks:
        data["checks"] = [check.to_data() for check in scenario.checks]
    if scenario.claims:
        claims = [_claim_dict(c) for c in scenario.claims]
        data["claim"] = claims[0] if len(claims) == 1 else claims
    return data


def _claim_dict(claim: Claim) -> dict[str, Any]:
    data: dict[str, Any] = {"name": claim.name} if claim.name else {}
    data |= {"text": claim.text, "emotion": claim.emotion, "statistic": claim.statistic}
    if claim.says:
        data["says"] = claim.says
    if claim.causal:
        data |= {"strength": claim.strength, "check": claim.check, "direction": claim.direction}
    else:
        data["measure"] = claim.measure
    if claim.variant is not None:
        data["variant"] = claim.variant
    if not claim.causal:
        data["control"] = claim.control
    data["seeds"] = claim.seeds
    if claim.places != 1:
        data["places"] = claim.places
    if claim.max_tokens is not None:
        data["max_tokens"] = claim.max_tokens
    return data


def scenario_to_yaml(scenario: Scenario) -> str:
    return to_yaml(scenario_to_dict(scenario))


def to_yaml(data: Any) -> str:
    """Any part of a scenario (plain data) as YAML in the scenario files' style: | blocks for multi-line texts."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write `scenario` to `path` (atomically). Refuses to replace a built-in scenario or an
    existing file that does not read as a valid scenario, so a broken file is never lost."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise LabError(f"Save scenarios as .yaml files, not {path.name}.")
    if path.resolve().parent == scenarios_dir().resolve():
        raise LabError("Built-in scenarios cannot be changed. Save your version under another folder.")
    text = scenario_to_yaml(scenario)
    parse_scenario(text, "The scenario to save")  # never write a file that would not load again
    if path.exists():
        try:
            load_scenario(path)
        except LabError as error:
            raise LabError(f"{path.name} already exists and does not read as a valid scenario, so it was left untouched ({error}). Save under another name.") from None
    write_text(path, text)


# --- parsing with line numbers --------------------------------------------------------------------

def _parse(text: str) -> tuple[Scenario | None, list[Problem]]:
    """Parse once (refusing aliases and anything over the YAML budget while composing), validate,
    check the work budget, and only then expand each variant."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        return None, [Problem(None, "", f"the text is larger than the {MAX_FILE_BYTES // 1_000_000} MB limit")]
    try:
        node, data = _compose(text)
        lines: dict[Path_, int] = {}
        twice: list[Problem] = []
        _line_numbers(node, (), lines, twice)
    except YamlRefused as refused:
        return None, [refused.problem]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        return None, [Problem(mark.line + 1 if mark else None, "", f"this is not valid YAML ({error.problem or error.context})")]
    except Exception as error:  # anything else the YAML reader raises on odd input: still a problem, never a crash
        return None, [Problem(None, "", f"this is not valid YAML ({type(error).__name__}: {' '.join(str(error).split())[:200]})")]
    problems = data_problems(data, lines)
    if twice or problems:
        return None, sorted(twice + problems, key=lambda p: (p.line or 0))
    scenario = build_scenario(data, lines)
    over = budget_problems(scenario)
    if over:
        return None, over
    return scenario, problems_in_expansion(scenario)


class YamlRefused(Exception):
    """A YAML text refused while it was read (an alias, too many values, nested too deeply)."""

    def __init__(self, line: int, message: str) -> None:
        self.problem = Problem(line, "", message)


class _BudgetLoader(yaml.SafeLoader):
    """The safe loader, counting values and nesting while it composes and refusing aliases."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused(line, f"uses the YAML alias *{event.anchor}; write the value out instead")
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES:
            raise YamlRefused(line, f"the file has more than {MAX_YAML_NODES} values (the limit); make it smaller")
        self.depth += 1
        if self.depth > MAX_YAML_DEPTH:
            raise YamlRefused(line, f"is nested more than {MAX_YAML_DEPTH} levels deep (the limit); flatten it")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml_within_budget(text: str) -> Any:
    """The data of a YAML text, refusing aliases and anything over the value or nesting budget
    (YamlRefused) while it is read, before anything is built from it."""
    return _compose(text)[1]


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data it holds, from one pass over the text."""
    loader = _BudgetLoader(text)
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def _line_numbers(node: yaml.Node | None, path: Path_, lines: dict[Path_, int], twice: list[Problem]) -> None:
    """Note the line (1-based) of every mapping value and list item by its path, and every field
    written twice in one mapping (YAML would silently keep the last)."""
    if node is None:
        return
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    twice.append(Problem(key.start_mark.line + 1, field_name(path + (key.value,)), "is written twice; keep one"))
                seen.add(key.value)
                lines[path + (key.value,)] = key.start_mark.line + 1
                _line_numbers(value, path + (key.value,), lines, twice)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_numbers(item, path + (i,), lines, twice)


def _variant_dict(variant: Variant) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if variant.description:
        data["description"] = variant.description
    if variant.variables:
        data["variables"] = dict(variant.variables)
    if variant.system is not None:
        data["system"] = variant.system
    return data


def _step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any]
    if isinstance(step, Message):
        data = {step.role: step.text}
    elif isinstance(step, Reset):
        data = {"reset": True}
    elif isinstance(step, ModelTurn):
        spec: dict[str, Any] = {"max_tokens": step.max_tokens}
        if step.steer:
            spec["steer"] = dict(step.steer)
        data = {"model": spec}
    else:
        spec = {"count": step.count}
        if step.counter != "i":
            spec["counter"] = step.counter
        if step.vary:
            spec["vary"] = {k: list(v) for k, v in step.vary.items()}
        spec["steps"] = [_step_dict(s) for s in step.steps]
        data = {"repeat": spec}
    if step.only:
        data["only"] = list(step.only)
    return data


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as readable | blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\r\t") and value == value.strip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
