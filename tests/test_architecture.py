"""The core stays Qt-free and layered: checked statically (import-linter) and at run time."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    """Both contracts: no Qt in lab/, and lab's subpackages import only downwards."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_every_lab_module_loads_no_qt():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "lab").rglob("*.py")
        if p.stem not in ("__main__", "__init__")
    )
    assert len(modules) > 40
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print([m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'ui'))])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lab_has_no_modules_outside_its_subpackages():
    loose = sorted(p.name for p in (ROOT / "lab").glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert loose == []


def test_readme_map_names_every_module():
    """The README's map of the code keeps up with the tree: every module of lab/ and ui/ is named."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    modules = [p for folder in ("lab", "ui") for p in (ROOT / folder).rglob("*.py") if p.name != "__init__.py"]
    assert len(modules) > 80
    missing = sorted(str(p.relative_to(ROOT)) for p in modules if f"`{p.name}`" not in readme)
    assert missing == [], f"add these to the README's map of the code: {missing}"
    for folder in sorted(p.parent.relative_to(ROOT) for top in ("lab", "ui") for p in (ROOT / top).glob("*/**/__init__.py")):
        assert f"`{folder}/`" in readme, folder
