"""Validation of parsed scenario data: turns what yaml.safe_load gave into a Scenario, collecting
a Problem (line, field, plain words) for everything wrong instead of stopping at the first."""
from __future__ import annotations

import math
import re
from typing import Any

from lab.scenarios.checks import Check, Pattern, regex_problem
from lab.scenarios.scenario import (
    CAUSAL, CLAIM_DIRECTIONS, CLAIM_MEASURES, CLAIM_STATISTICS, MAX_CLAIM_STRENGTH, Claim, DEFAULT_MAX_TOKENS, NAME, VARIANT_NAME, Message, ModelTurn, Problem, Repeat, Reset, Scenario, Step, Variant,
)

MAX_DEPTH = 8  # repeat blocks inside repeat blocks
TOP_FIELDS = ("title", "description", "lesson", "models", "system", "variables", "variants", "checks",
              "steps", "temperature", "top_p", "reread", "claim")
CLAIM_FIELDS = ("name", "text", "says", "emotion", "statistic", "measure", "variant", "control", "seeds",
                "strength", "check", "direction", "places", "max_tokens")
STEP_KINDS = ("user", "assistant", "model", "reset", "repeat")
Path_ = tuple[str | int, ...]
_SURROGATE = re.compile("[\ud800-\udfff]")


def field_name(path: Path_) -> str:
    return " > ".join(f"item {p + 1}" if isinstance(p, int) else str(p) for p in path)


class Reader:
    """Turns parsed YAML into a Scenario, collecting a Problem for everything wrong."""

    def __init__(self, lines: dict[Path_, int]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def problem(self, path: Path_, message: str) -> None:
        line = next((self.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.lines), None)
        self.problems.append(Problem(line, field_name(path), message))

    def mapping(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be a set of 'name: value' fields, not {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                self.problem(path + (str(key),), f"unknown field '{key}' (known fields: {', '.join(allowed)})")
        return value

    def text(self, value: Any, path: Path_, required: bool = False) -> str:
        if value is None and not required:
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or (required and not str(value).strip()):
            self.problem(path, "must be text" + (" and cannot be empty" if required else f", not {_kind(value)}"))
            return ""
        text = str(value)
        if not text.isascii() and _SURROGATE.search(text):
            self.problem(path, "holds characters that are not valid Unicode (a lone surrogate such as \\ud800)")
            return ""
        return text

    def number(self, value: Any, path: Path_, low: float, high: float, whole: bool = False) -> float:
        kind = int if whole else (int, float)
        finite = isinstance(value, int) or isinstance(value, float) and math.isfinite(value)  # ints of any size
        if isinstance(value, bool) or not isinstance(value, kind) or not finite or not low <= value <= high:
            what = "a whole number" if whole else "a number"
            self.problem(path, f"must be {what} from {low:g} to {high:g}, not {_show(value)}")
            return low
        return value

    def flag(self, value: Any, path: Path_) -> bool:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {_show(value)}")
            return False
        return value

    def items(self, value: Any, path: Path_, required: bool = False) -> list[Any]:
        if value is None and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.problem(path, "must be a list" + (" with at least one item" if required else f", not {_kind(value)}"))
            return []
        return value

    def names(self, value: Any, path: Path_) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else self.items(value, path)
        return tuple(self.text(v, path + (i,), required=True) for i, v in enumerate(values))

    def variables(self, value: Any, path: Path_) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"must be a set of 'name: value' variables, not {_kind(value)}")
            return {}
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or not NAME.match(key):
                self.problem(path + (str(key),), f"'{key}' is not a variable name: use letters, digits and _, starting with a letter")
            else:
                out[key] = self.text(item, path + (key,))
        return out

    # --- the parts of a scenario -------------------------------------------------------------

    def scenario(self, data: Any) -> Scenario | None:
        data = self.mapping(data, (), TOP_FIELDS)
        if data is None:
            return None
        variants = self.variants(data.get("variants"), ("variants",))
        steps = self.steps(data.get("steps"), ("steps",), set(variants), depth=0, required=True)
        checks = self.checks(data.get("checks"), ("checks",))
        return Scenario(
            title=self.text(data.get("title"), ("title",), required=True).strip(),
            steps=steps,
            description=self.text(data.get("description"), ("description",)).strip(),
            lesson=self.text(data.get("lesson"), ("lesson",)).strip(),
            models=self.names(data.get("models"), ("models",)),
            system=self.text(data.get("system"), ("system",)),
            variables=self.variables(data.get("variables"), ("variables",)),
            variants=variants,
            checks=checks,
            temperature=float(self.number(data.get("temperature", 0.7), ("temperature",), 0, 2)),
            top_p=float(self.number(data.get("top_p", 0.95), ("top_p",), 0.01, 1)),
            reread=self.flag(data.get("reread", False), ("reread",)),
            claims=self.claims(data.get("claim"), ("claim",), variants, checks),
        )

    def variants(self, value: Any, path: Path_) -> dict[str, Variant]:
        if value is None:
            return {}
        if not isinstance(value, dict) or not value:
            self.problem(path, f"must be a set of named variants, not {_kind(value)}")
            return {}
        out = {}
        for name, spec in value.items():
            where = path + (str(name),)
            if not isinstance(name, str) or not VARIANT_NAME.match(name):
                self.problem(where, f"'{name}' is not a variant name: use letters, digits, - and _, starting with a letter")
                continue
            spec = self.mapping({} if spec is None else spec, where, ("description", "variables", "system"))
            if spec is not None:
                system = spec.get("system")
                out[name] = Variant(
                    description=self.text(spec.get("description"), where + ("description",)).strip(),
                    variables=self.variables(spec.get("variables"), where + ("variables",)),
                    system=None if system is None else self.text(system, where + ("system",)),
                )
        return out

    def steps(self, value: Any, path: Path_, variants: set[str], depth: int, required: bool = False) -> tuple[Step, ...]:
        out = []
        for i, item in enumerate(self.items(value, path, required=required)):
            step = self.step(item, path + (i,), variants, depth)
            if step is not None:
                out.append(step)
        return tuple(out)

    def step(self, item: Any, path: Path_, variants: set[str], depth: int) -> Step | None:
        item = self.mapping(item, path, STEP_KINDS + ("only",))
        if item is None:
            return None
        kinds = [k for k in STEP_KINDS if k in item]
        if len(kinds) != 1:
            self.problem(path, f"a step needs exactly one of {', '.join(STEP_KINDS)}" + (f", not {' and '.join(kinds)}" if kinds else ""))
            return None
        kind, value = kinds[0], item[kinds[0]]
        only = self.names(item.get("only"), path + ("only",))
        for name in only:
            if name not in variants:
                self.problem(path + ("only",), f"'{name}' is not one of the variants ({', '.join(sorted(variants)) or 'none defined'})")
        line = self.lines.get(path)
        where = path + (kind,)
        if kind in ("user", "assistant"):
            return Message(kind, self.text(value, where, required=True), only, line)
        if kind == "reset":
            if value is not None and not isinstance(value, bool):
                self.problem(where, f"must be true or false, not {_show(value)}")
            return Reset(only, line) if value is not False else None  # `reset: false` does nothing
        if kind == "model":
            return self.model_turn(value, where, only, line)
        if depth >= MAX_DEPTH:
            self.problem(where, f"repeat blocks may be nested at most {MAX_DEPTH} deep")
            return None
        return self.repeat(value, where, only, line, variants, depth)

    def model_turn(self, value: Any, path: Path_, only: tuple[str, ...], line: int | None) -> ModelTurn:
        if value is None or isinstance(value, int) and not isinstance(value, bool):
            value = {} if value is None else {"max_tokens": value}
        spec = self.mapping(value, path, ("max_tokens", "steer")) or {}
        max_tokens = int(self.number(spec.get("max_tokens", DEFAULT_MAX_TOKENS), path + ("max_tokens",), 1, 1024, whole=True))
        return ModelTurn(max_tokens, self.steer(spec.get("steer"), path + ("steer",)), only, line)

    def steer(self, value: Any, path: Path_) -> dict[str, float]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, f"must be a set of 'emotion: strength' pairs, not {_kind(value)}")
            return {}
        out = {}
        for name, strength in value.items():
            if not isinstance(name, str) or not name.strip():
                self.problem(path + (str(name),), "an emotion name must be text")
                continue
            out[name.strip().lower()] = float(self.number(strength, path + (name,), -1, 1))
        return out

    def repeat(self, value: Any, path: Path_, only: tuple[str, ...], line: int | None, variants: set[str], depth: int) -> Repeat | None:
        spec = self.mapping(value, path, ("count", "counter", "vary", "steps"))
        if spec is None:
            return None
        count: int | str
        raw = spec.get("count")
        if isinstance(raw, str) and "{" in raw:
            count = raw
        else:
            count = int(self.number(raw, path + ("count",), 1, 100, whole=True))
        counter = spec.get("counter", "i")
        if not isinstance(counter, str) or not NAME.match(counter):
            self.problem(path + ("counter",), f"'{counter}' is not a variable name: use letters, digits and _, starting with a letter")
            counter = "i"
        vary = {}
        raw_vary = spec.get("vary") or {}
        if not isinstance(raw_vary, dict):
            self.problem(path + ("vary",), "must be a set of 'variable: [values, ...]' lists")
            raw_vary = {}
        for name, values in raw_vary.items():
            where = path + ("vary", str(name))
            if not isinstance(name, str) or not NAME.match(name):
                self.problem(where, f"'{name}' is not a variable name: use letters, digits and _, starting with a letter")
                continue
            vary[name] = tuple(self.text(v, where + (i,)) for i, v in enumerate(self.items(values, where, required=True)))
        steps = self.steps(spec.get("steps"), path + ("steps",), variants, depth + 1, required=True)
        return Repeat(count, steps, counter, vary, only, line)

    def checks(self, value: Any, path: Path_) -> tuple[Check, ...]:
        out: list[Check] = []
        names: set[str] = set()
        for i, item in enumerate(self.items(value, path)):
            where = path + (i,)
            spec = self.mapping(item, where, ("name", "any", "unless", "negate"))
            if spec is None:
                continue
            name = self.text(spec.get("name"), where + ("name",), required=True).strip()
            if name and name in names:
                self.problem(where + ("name",), f"another check is already called '{name}'")
            names.add(name)
            patterns = self.patterns(spec.get("any"), where + ("any",), required=True)
            unless = self.patterns(spec.get("unless"), where + ("unless",))
            negate = self.flag(spec.get("negate", False), where + ("negate",))
            out.append(Check(name, patterns, unless, negate))
        return tuple(out)

    def patterns(self, value: Any, path: Path_, required: bool = False) -> tuple[Pattern, ...]:
        out = []
        for i, item in enumerate(self.items(value, path, required=required)):
            where = path + (i,)
            if isinstance(item, dict):
                spec = self.mapping(item, where, ("regex",))
                text = self.text((spec or {}).get("regex"), where + ("regex",), required=True)
                pattern = Pattern(text, regex=True)
                refused = regex_problem(text) if text else None
                if refused:
                    self.problem(where + ("regex",), refused)
                    continue
            else:
                text = self.text(item, where, required=True)
                pattern = Pattern(text)
            if text.strip():
                out.append(pattern)
        return tuple(out)


    # --- the lesson's claim (see Claim) --------------------------------------------------------

    def claims(self, value: Any, path: Path_, variants: dict[str, Variant], checks: tuple[Check, ...]) -> tuple[Claim, ...]:
        """One claim (a set of fields) or a list of them; several claims need distinct names."""
        if value is None:
            return ()
        if not isinstance(value, list):
            claim = self.claim(value, path, variants, checks)
            return (claim,) if claim else ()
        out = [c for i, item in enumerate(self.items(value, path, required=True))
               if (c := self.claim(item, path + (i,), variants, checks)) is not None]
        seen: set[str] = set()
        for i, claim in enumerate(out):
            if claim.name in seen:
                what = f"another claim is already called '{claim.name}'" if claim.name else "only one claim may go without a name"
                self.problem(path + (i, "name"), what)
            seen.add(claim.name)
        return tuple(out)

    def claim(self, value: Any, path: Path_, variants: dict[str, Variant], checks: tuple[Check, ...]) -> Claim | None:
        spec = self.mapping(value, path, CLAIM_FIELDS)
        if spec is None:
            return None
        statistic = self.choice(spec.get("statistic"), path + ("statistic",), CLAIM_STATISTICS)
        causal = statistic == CAUSAL
        names = {}
        for key in ("variant", "control"):
            name = self.text(spec.get(key), path + (key,)).strip() or None
            if name is not None and name not in variants:
                self.problem(path + (key,), f"'{name}' is not one of the variants ({', '.join(variants) or 'none defined'})")
            names[key] = name
        for key in (("measure", "control") if causal else ("strength", "check", "direction", "max_tokens")):
            if key in spec:
                kind = "a causal claim (steered_rate)" if causal else f"a reading claim ({statistic})"
                self.problem(path + (key,), f"is not used by {kind}; remove it")
        if not causal:
            if names["control"] is None:
                self.problem(path + ("control",), "name the control variant the claim is compared against")
            elif names["control"] == (names["variant"] or next(iter(variants), None)):
                self.problem(path + ("control",), "must be a different variant from the one the claim is about")
        strength, check, direction = 0.0, "", "up"
        if causal:
            strength = float(self.number(spec.get("strength"), path + ("strength",), 0.001, MAX_CLAIM_STRENGTH))
            check = self.text(spec.get("check"), path + ("check",), required=True).strip()
            known = [c.name for c in checks]
            if check and check not in known:
                self.problem(path + ("check",), f"'{check}' is not one of the scenario's checks ({', '.join(known) or 'none defined'})")
            direction = self.choice(spec.get("direction"), path + ("direction",), CLAIM_DIRECTIONS)
        name = self.text(spec.get("name"), path + ("name",)).strip()
        if name and not VARIANT_NAME.match(name):
            self.problem(path + ("name",), f"'{name}' is not a claim name: use letters, digits, - and _, starting with a letter")
        return Claim(
            text=self.text(spec.get("text"), path + ("text",), required=True).strip(),
            emotion=self.text(spec.get("emotion"), path + ("emotion",), required=True).strip().lower(),
            statistic=statistic, control=names["control"] or "",
            measure=self.choice(spec.get("measure", "reply_start"), path + ("measure",), CLAIM_MEASURES),
            variant=names["variant"], seeds=int(self.number(spec.get("seeds", 8), path + ("seeds",), 2, 64, whole=True)),
            name=name, says=self.text(spec.get("says"), path + ("says",)).strip(),
            strength=strength, check=check, direction=direction,
            places=int(self.number(spec.get("places", 1), path + ("places",), 1, 100, whole=True)),
            max_tokens=int(self.number(spec["max_tokens"], path + ("max_tokens",), 1, 1024, whole=True)) if "max_tokens" in spec else None,
        )

    def choice(self, value: Any, path: Path_, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            self.problem(path, f"must be one of {', '.join(allowed)}, not {_show(value)}")
            return allowed[0]
        return value


def _kind(value: Any) -> str:
    return {dict: "a set of fields", list: "a list", str: "text", bool: "true/false", type(None): "empty"}.get(type(value), f"'{_show(value)}'")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
