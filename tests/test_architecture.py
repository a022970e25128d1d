"""The core stays Qt-free and layered: checked statically (import-linter) and at run time."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


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


def test_architecture_map_names_every_module():
    """docs/architecture.md's map of the code keeps up with the tree: one line per module of lab/ and ui/,
    named by its path, and no line for a module that is gone."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = {p.relative_to(ROOT).as_posix() for folder in ("lab", "ui") for p in (ROOT / folder).rglob("*.py")
               if p.name != "__init__.py"}
    assert len(modules) > 80
    mapped = set(re.findall(r"^- `((?:lab|ui)/[\w/]+\.py)`:", text, flags=re.MULTILINE))
    assert sorted(modules - mapped) == [], "add a line for each to the map in docs/architecture.md"
    assert sorted(mapped - modules) == [], "these modules are gone: move or remove their lines in docs/architecture.md"
    for folder in sorted(p.parent.relative_to(ROOT).as_posix() for top in ("lab", "ui") for p in (ROOT / top).glob("*/**/__init__.py")):
        assert f"`{folder}/`" in text, folder


def test_every_path_the_documentation_names_exists():
    """A file or folder of the repository named in README.md or docs/ exists (placeholders like NAME aside),
    and so does every file they link to."""
    named = {
        (doc.name, path)
        for doc in DOCS
        for path in re.findall(r"`((?:lab|ui|tests|scripts|assets|docs)/[\w./-]*)`", doc.read_text(encoding="utf-8"))
        if "NAME" not in path
    }
    assert len(named) > 50
    missing = sorted(f"{doc}: {path}" for doc, path in named if not (ROOT / path).exists())
    links = {(doc, link.split("#", 1)[0]) for doc in DOCS
             for link in re.findall(r"\]\(([^)#][^)]*)\)", doc.read_text(encoding="utf-8")) if "://" not in link}
    missing += sorted(f"{doc.name}: link {link}" for doc, link in links if not (doc.parent / link).exists())
    assert missing == [], missing


def test_documentation_speaks_of_the_product_only():
    """No issue numbers, internal notes or development machines in the README or docs/."""
    outside = re.compile(r"DESIGN\.md|shared/|\bissue\b|#\d|this machine|development machine|dev machine|24 GB machine",
                         re.IGNORECASE)
    found = [f"{doc.name}: {m.group(0)}" for doc in DOCS for m in outside.finditer(doc.read_text(encoding="utf-8"))]
    assert found == []


def test_readme_is_short_and_starts_with_the_first_lesson():
    """A teacher reaches the first lesson on the first screen, and the README stays short."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, len(lines)
    assert any(line.startswith("## ") and "first lesson" in line.lower() for line in lines[:40])
