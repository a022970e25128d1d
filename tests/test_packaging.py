"""Installing as Python users expect (`pipx install .`, `uv tool install .`): pyproject.toml declares the
runtime dependencies pinned as requirements.txt pins them, ships every package and the assets, and its
entry points exist. (CI's fresh install of the wheel runs `emotion-lab-cli emotions` and `emotion-lab --self-test`.)"""
from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s#;]+)", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_every_package_of_lab_and_ui_is_installed_with_the_assets():
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for top in ("lab", "ui") for p in (ROOT / top).rglob("__init__.py")}
    assert packages - {"lab.assets"} == on_disk
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"lab.assets": "assets"}
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["lab.assets"] == ["**/*"]


def test_every_report_template_is_installed_and_bundled():
    package_data = PYPROJECT["tool"]["setuptools"]["package-data"]
    templates = sorted((ROOT / "lab").glob("*/templates/*"))
    assert templates  # the HTML reports are rendered from them (lab.common.html_template)
    for path in templates:
        package = "lab." + path.parent.parent.name
        relative = path.relative_to(path.parent.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in package_data.get(package, [])), relative
    assert 'ROOT.glob("lab/*/templates")' in (ROOT / "build.spec").read_text(encoding="utf-8")  # the bundle's datas


def test_the_bundle_takes_the_model_families_from_the_one_table():
    """build.spec collects the transformers packages of lab.model.families, and each of them exists."""
    from lab.model.families import TRANSFORMERS_PACKAGES

    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert "from lab.model.families import TRANSFORMERS_PACKAGES" in spec
    assert 'for package in TRANSFORMERS_PACKAGES for name in collect_submodules(f"transformers.models.{package}")' in spec
    missing = [p for p in TRANSFORMERS_PACKAGES if importlib.util.find_spec(f"transformers.models.{p}") is None]
    assert missing == []


def test_dependencies_are_pinned_as_requirements_txt_pins_them():
    requirements = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    project = PYPROJECT["project"]
    declared = _pins(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _pins(extra)
    assert len(declared) == len(project["dependencies"]) + sum(map(len, project["optional-dependencies"].values()))
    assert {name: requirements.get(name) for name in declared} == declared  # every declared pin is requirements.txt's
    assert set(requirements) - set(declared) <= {"ruff"}  # and nothing required is left undeclared (ruff: make lint only)


def test_entry_points_name_functions_that_exist():
    scripts = PYPROJECT["project"]["scripts"] | PYPROJECT["project"]["gui-scripts"]
    assert set(scripts) == {"emotion-lab", "emotion-lab-cli"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_an_installed_package_reads_its_assets_inside_lab_and_keeps_sessions_in_the_user_folder(tmp_path, monkeypatch):
    from lab.common import paths

    monkeypatch.delenv("EMOTION_LAB_HOME", raising=False)
    assert not paths.is_installed() and paths.asset_path("emotions") == ROOT / "assets" / "emotions"
    monkeypatch.setattr(paths, "installed_assets", lambda: tmp_path / "lab" / "assets")
    (tmp_path / "lab" / "assets").mkdir(parents=True)
    monkeypatch.setattr(paths.platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    assert paths.asset_path("emotions") == tmp_path / "lab" / "assets" / "emotions"
    assert paths.default_db_path() == tmp_path / "data" / "lab.db"


def test_the_frozen_app_ships_what_scenario_validation_reads():
    """Scenario files are validated against the published schema (in assets/, bundled whole) with
    jsonschema, which loads its metaschemas from jsonschema_specifications' data files."""
    spec = (ROOT / "build.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "assets"), "assets")' in spec
    assert 'collect_data_files("jsonschema_specifications")' in spec and 'collect_data_files("jsonschema")' in spec
    assert (ROOT / "assets" / "scenarios" / "scenario.schema.json").is_file()
    lock = _pins((ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines())
    requirements = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    assert {name: lock.get(name) for name in requirements if name != "torch"} == {n: v for n, v in requirements.items() if n != "torch"}
