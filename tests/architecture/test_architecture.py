"""The apps' layers (docs/architecture.md) hold: the real ``lint-imports`` keeps the
contracts of pyproject.toml, no import circle joins modules of different apps, and both
checks fail on a copy of the apps with a forbidden import planted in ``core``."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import _import_cycles

BASE_DIR = _import_cycles.BASE_DIR
APPS = _import_cycles.importlinter_settings()["root_packages"]
LAYERS_CONTRACT = "Apps import only lower layers"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """Run the ``lint-imports`` installed beside this interpreter in ``cwd``."""
    command = Path(sys.executable).with_name("lint-imports")
    assert command.is_file(), f"{command} is missing: pip install -r requirements-dev.txt"
    return _run([str(command), "--no-cache"], cwd)


def _run(command, cwd: Path) -> subprocess.CompletedProcess:
    # Only the packages under ``cwd`` are analysed: nothing else on the path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_lint_imports_keeps_every_contract():
    result = lint_imports(BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LAYERS_CONTRACT} KEPT" in result.stdout
    assert " 0 broken." in result.stdout


def test_no_import_cycle_joins_modules_of_different_apps():
    text, clean = _import_cycles.report()
    assert clean, text
    assert "Import cycles between modules of different apps: none" in text
    assert "Imports to remove for the apps to be acyclic: none" in text


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    """A copy of the apps' Python files and pyproject.toml where ``core.money`` imports
    ``reporting.letters``, which imports ``core.money``: a lower layer importing a higher
    one, and a circle between two apps."""
    root = tmp_path_factory.mktemp("layers")

    def python_only(directory, names):
        return [
            name for name in names
            if name == "__pycache__" or (not name.endswith(".py") and not Path(directory, name).is_dir())
        ]

    for app in APPS:
        shutil.copytree(BASE_DIR / app, root / app, ignore=python_only)
    shutil.copy(BASE_DIR / "pyproject.toml", root / "pyproject.toml")
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    shutil.copy(BASE_DIR / "tests" / "_import_cycles.py", root / "tests" / "_import_cycles.py")
    money = root / "core" / "money.py"
    assert "import reporting" not in money.read_text()
    money.write_text(money.read_text() + "\nimport reporting.letters  # noqa: E402,F401\n")
    return root


def test_lint_imports_fails_on_a_forbidden_import(planted):
    result = lint_imports(planted)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{LAYERS_CONTRACT} BROKEN" in result.stdout
    assert "core is not allowed to import reporting" in result.stdout
    assert "core.money -> reporting.letters" in result.stdout


def test_the_cycle_check_fails_on_an_import_circle_between_apps(planted):
    result = _run([sys.executable, "-m", "tests._import_cycles"], planted)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Import cycles between modules of different apps: 1" in result.stdout
    assert "core.money -> reporting.letters -> core.money" in result.stdout
