"""The core stays Qt-free: checked statically (import-linter) and at run time."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_every_lab_module_loads_no_qt():
    modules = sorted(p.stem for p in (ROOT / "lab").glob("*.py") if p.stem != "__main__")
    code = "import sys\n" + "".join(f"import lab.{m}\n" for m in modules) + "print([m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'ui'))])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
