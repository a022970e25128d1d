"""Property-based fuzzing of the three kinds of file people share: scenario files, session exports
and direction files (native or imported). Each generated input must be accepted or refused with a
clean one-line LabError, within a time and memory budget, without changing any file outside the
lab's folders.

A few seconds by default; LAB_FUZZ_EXAMPLES=10000 runs the long mode (each input type that many times).
"""
from __future__ import annotations

import json
import math
import os
import time
import tracemalloc

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import record_session

from lab.common.errors import LabError
from lab.store.export import from_json, to_json
from lab.store.lab_file import open_store

EXAMPLES = int(os.environ.get("LAB_FUZZ_EXAMPLES", "40"))
SECONDS = 5.0  # per input
PEAK_BYTES = 300_000_000  # Python allocations per input
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES < 1000,
                suppress_health_check=list(HealthCheck))

# --- strategies --------------------------------------------------------------------------------

pieces = st.sampled_from(["{", "}", "{i}", "{v}", "{{", "\ud800", "\x1b[2J", "<b>", "=1+1"])
texts = st.lists(st.text(max_size=8) | pieces, max_size=6).map("".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
                    st.floats(allow_nan=True), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=12)
regexes = st.sampled_from(["(a+)+$", "(a|aa)+$", "\\bhelp\\b", "(x)\\1", "[", "(?P<n>a)(?P=n)", "a{1,100000}", "(\\w*)*"])


def steps(depth: int) -> st.SearchStrategy:
    leaf = st.one_of(
        st.fixed_dictionaries({"user": texts}), st.fixed_dictionaries({"assistant": texts}),
        st.fixed_dictionaries({"model": st.one_of(st.none(), st.integers(-5, 2000), st.fixed_dictionaries(
            {"max_tokens": scalars}, optional={"steer": st.dictionaries(texts, scalars, max_size=3)}))}),
        st.fixed_dictionaries({"reset": scalars}),
        st.fixed_dictionaries({"user": texts, "only": st.lists(st.sampled_from(["a", "b", "zz"]), max_size=2)}),
    )
    if depth == 0:
        return leaf
    repeat = st.fixed_dictionaries({"repeat": st.fixed_dictionaries(
        {"count": st.one_of(st.integers(-1, 200), st.sampled_from(["{n}", "{v}", "x"])), "steps": st.lists(steps(depth - 1), max_size=4)},
        optional={"counter": st.sampled_from(["i", "n", "1bad"]), "vary": st.dictionaries(st.sampled_from(["v", "w"]), st.lists(texts, max_size=3), max_size=2)},
    )})
    return leaf | repeat


scenario_data = st.fixed_dictionaries(
    {"title": scalars, "steps": st.lists(steps(4), max_size=6)},
    optional={
        "variables": st.dictionaries(st.sampled_from(["v", "n", "bad-name"]), scalars, max_size=3),
        "variants": st.dictionaries(st.sampled_from(["a", "b", "-x"]), st.fixed_dictionaries({}, optional={"variables": st.dictionaries(st.sampled_from(["v", "n"]), scalars)}), max_size=3),
        "checks": st.lists(st.fixed_dictionaries({"name": scalars, "any": st.lists(texts | st.fixed_dictionaries({"regex": regexes}), max_size=3)},
                                                 optional={"negate": scalars, "unless": st.lists(texts, max_size=2)}), max_size=4),
        "temperature": scalars, "top_p": scalars, "reread": scalars, "colour": scalars,
    },
)


@st.composite
def scenario_texts(draw) -> str:
    """YAML from generated structures, sometimes cut, spliced with YAML syntax, or random text."""
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return draw(st.text(max_size=300))
    try:
        text = yaml.safe_dump(draw(scenario_data), allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, UnicodeEncodeError):
        text = "title: x\n"
    if kind == 1:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["&a ", "*a", "[", "{", "!!python/object:os.system ", "\t", "---\n", "? "])) + text[cut:]
    elif kind == 2:
        text = text[: draw(st.integers(0, len(text)))]
    return text


def within_budget(action) -> None:
    """Run `action`; it may raise only a one-line LabError, and must stay within time and memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        action()
    except LabError as error:
        assert "\n" not in str(error).strip() or str(error).count("\n") == 0, str(error)
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    assert peak < PEAK_BYTES, f"peaked at {peak / 1e6:.0f} MB"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A lab home and a working folder; afterwards nothing outside the lab's folders has changed."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    for folder in (home, work):
        folder.mkdir()
    (work / "keep.txt").write_text("untouched")
    monkeypatch.setenv("EMOTION_LAB_HOME", str(home))
    monkeypatch.chdir(work)
    yield home
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"] and (work / "keep.txt").read_text() == "untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "work"]


# --- scenario files ----------------------------------------------------------------------------

def test_fuzz_scenario_files(sandbox):
    from lab.scenarios.files import parse_scenario
    from lab.scenarios.scenario import expand

    @FUZZ
    @given(scenario_texts(), st.text(min_size=1, max_size=200))
    def check(text: str, reply: str) -> None:
        def run() -> None:
            scenario = parse_scenario(text, "fuzz.yaml")
            for variant in list(scenario.variants) or [None]:
                script = expand(scenario, variant)
                for rule in script.checks:
                    rule.fires(reply * 20)

        within_budget(run)

    check()


# --- session imports ---------------------------------------------------------------------------

@st.composite
def session_exports(draw, base: dict) -> str:
    """A real export with a few fields replaced, removed or nested deeper; sometimes random JSON."""
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(json_values))
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 4))):
        target = data
        path = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4))
        for step in path[:-1]:
            children = list(target.items()) if isinstance(target, dict) else list(enumerate(target)) if isinstance(target, list) else []
            if not children or not isinstance(children[step % len(children)][1], (dict, list)):
                break
            target = children[step % len(children)][1]
        if isinstance(target, dict) and target:
            key = sorted(target)[path[-1] % len(target)]
            if draw(st.booleans()):
                target[key] = draw(json_values)
            else:
                del target[key]
        elif isinstance(target, list) and target:
            target[path[-1] % len(target)] = draw(json_values)
    return json.dumps(data)


def test_fuzz_session_imports(sandbox, tmp_path_factory):
    source = tmp_path_factory.mktemp("source")
    with open_store(source / "lab.db") as store:
        session_id, _ = record_session(store)
        base = json.loads(to_json(store.load_session(session_id, raw=True)))
    target = open_store(sandbox / "lab.db")
    try:
        @FUZZ
        @given(session_exports(base))
        def check(text: str) -> None:
            def run() -> None:
                new_id = target.import_session(from_json(text))
                target.load_session(new_id, raw=True)

            within_budget(run)

        check()
    finally:
        target.close()


# --- direction files ---------------------------------------------------------------------------

tensor_shapes = st.lists(st.integers(0, 9), min_size=0, max_size=3)


@st.composite
def direction_files(draw) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a native direction file or an imported emotion, both often wrong."""
    names = ["vectors", "layer_norms", "calib_mean", "calib_std", "accuracy", "contrast_mean", "contrast_std",
             "direction.0", "direction.1", "direction.99", "direction.x"]
    tensors = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=8, unique=True)):
        shape = draw(tensor_shapes)
        fill = draw(st.sampled_from([0.0, 1.0, float("nan"), float("inf"), -2.5]))
        tensors[name] = torch.full(shape, fill)
    meta = {"format": draw(st.sampled_from(["emotion-lab-directions", "other"])), "version": draw(scalars),
            "emotions": draw(st.lists(texts, max_size=3) | scalars), "descriptions": draw(json_values),
            "method": draw(scalars), "reading_layer": draw(scalars), "steering_layers": draw(st.lists(scalars, max_size=3)),
            "model_identity": draw(scalars), "data_hash": draw(scalars)}
    for key in draw(st.lists(st.sampled_from(sorted(meta)), max_size=4, unique=True)):
        del meta[key]
    return tensors, {"emotion_lab": json.dumps(meta, default=str)[:100_000]}


def test_fuzz_direction_files(sandbox):
    from safetensors.torch import save_file

    from lab.emotions.imported import ModelShape, load_imported, model_dir, read_direction_file

    shape = ModelShape("fuzz-model", depth=2, width=8)
    folder = sandbox / "incoming"
    folder.mkdir()

    @FUZZ
    @given(direction_files(), st.binary(max_size=64), st.booleans())
    def check(content, garbage: bytes, damage: bool) -> None:
        tensors, metadata = content
        path = folder / "file.safetensors"
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
        if damage:
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2] + garbage)
        stored = model_dir(shape.identity) / "fuzzed.safetensors"
        stored.write_bytes(path.read_bytes())
        within_budget(lambda: read_direction_file(path, None))
        within_budget(lambda: load_imported(shape))

    check()


# --- agentic-misalignment template import ------------------------------------------------------

template_pieces = st.sampled_from(["${company}", "${board_statement}", "$$", "${", "## Pro-America\n```json\n{\"company\": \"X\"}\n```\n",
                                   "## Broken\n```json\n{oops\n```\n", "```", "\n", "\ud800", "\x1b[2J"])
template_texts = st.lists(st.text(max_size=10) | template_pieces, max_size=12).map("".join)
python_lines = st.sampled_from([
    'A = "x"', "A = A + A", "L = [A, A, A]", "L = [a + a for a in L]", "M = [L for i in L]", "D = {'k': A}",
    'BLACKMAIL_SYSTEM_PROMPT = "You are ${company}."', "BLACKMAIL_SYSTEM_PROMPT = A", "USER_PROMPT = A",
    "GOAL_VARIABLES = {'none': {'goal_statement': A}}", "X, Y = L", "import os", "def f(): pass", "A = (", "A = 1 +",
])
config_texts = st.one_of(
    st.lists(st.sampled_from(["blackmail", "murder", "n1", "n2", "x-y", "bad name", "../up"]), max_size=6).flatmap(
        lambda names: st.sampled_from(["scenarios", "goal_types", "goal_values", "urgency_types"]).map(
            lambda key: f"expansions:\n  - variables: {{{key}: [{', '.join(names)}], scenarios: [blackmail], "
                        "goal_types: [explicit, none], goal_values: [america], urgency_types: [replacement]}\n")),
    st.text(max_size=200).map(lambda t: "expansions:\n" + t),
    st.just("a: &a [x]\nexpansions: [*a]\n"),
)


def test_fuzz_agentic_template_import(sandbox, tmp_path_factory):
    from test_scenarios import write_framework

    from lab.scenarios.agentic_import import import_agentic

    @FUZZ
    @given(config_texts, st.lists(python_lines, max_size=30), template_texts, template_texts)
    def check(config_text: str, python: list[str], email: str, variables: str) -> None:
        root = tmp_path_factory.mktemp("framework")
        config = write_framework(root)
        templates = root / "templates"
        config.write_text(config_text, encoding="utf-8", errors="surrogatepass")
        if python:
            (templates / "system_prompt_templates.py").write_text("\n".join(python) + "\n")
        (templates / "blackmail" / "templates" / "email-template-blackmail-shared.md").write_text(email, errors="surrogatepass")
        (templates / "blackmail" / "variables" / "america_vs_global.md").write_text(variables, errors="surrogatepass")
        within_budget(lambda: import_agentic(config))

    check()


# --- the CLI's numeric options ------------------------------------------------------------------

numbers_as_text = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", " 5 ", "", "١٢", "9" * 5000]), st.text(max_size=20),
)
NUMERIC_OPTIONS = [("generate", "--seed"), ("generate", "--temperature"), ("generate", "--top-p"), ("generate", "--max-new-tokens"),
                   ("export", "--strength"), ("bench", "--rounds"), ("run", "--seed"), ("run", "--temperature"), ("sweep", "--seeds"),
                   ("sweep", "--strengths"), ("sweep", "--batch-rows"), ("lessons", "--seeds")]


def test_fuzz_cli_numeric_options(capsys):
    from lab.cli.main import build_parser

    positional = {"generate": ["hi"], "export": ["out.safetensors"], "bench": [], "run": ["x.yaml"], "sweep": ["x.yaml", "--emotion", "joy"],
                  "lessons": []}

    @FUZZ
    @given(st.sampled_from(NUMERIC_OPTIONS), numbers_as_text)
    def check(option: tuple[str, str], text: str) -> None:
        command, flag = option
        try:
            args = build_parser().parse_args([command, *positional[command], f"{flag}={text}"])
        except SystemExit as exit:
            err = capsys.readouterr().err
            assert exit.code == 2 and err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
            return
        value = getattr(args, flag.lstrip("-").replace("-", "_"))
        for number in value if isinstance(value, tuple) else (value,):
            assert math.isfinite(number) and abs(number) < 2**63, (flag, text, value)
        if flag == "--top-p":
            assert 0 < value <= 1
        if flag in ("--seed", "--max-new-tokens", "--seeds", "--rounds", "--batch-rows"):
            assert isinstance(value, int) and value >= 0

    check()
