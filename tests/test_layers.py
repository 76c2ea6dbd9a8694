"""The floors hold (README "Layers"): imports only go down, and so do the migrations.

core <- invoices <- tickets <- disputes <- penalties <- notifications <- (jdpop | demo).
`lint-imports` checks the imports in `make test`; here it runs once as it is, and once on a
copy with one import pointing up, which must break it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ["core", "invoices", "tickets", "disputes", "penalties", "categories", "notifications"]
PACKAGES = [*FLOORS, "jdpop", "demo"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_floors_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_import_up_a_floor_breaks_the_build(tmp_path):
    # given a copy of the project in which core reaches up to penalties
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    roles = tmp_path / "core" / "roles.py"
    roles.write_text(roles.read_text() + "\nimport penalties.models  # noqa: E402, F401\n")
    # when the contracts are checked, then they fail and name the import
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "core.roles -> penalties.models" in result.stdout


def test_migrations_depend_only_on_their_floor_and_below():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for (app, name), migration in loader.disk_migrations.items():
        if app not in FLOORS:
            continue
        for dep_app, _dep in migration.dependencies:
            if dep_app in FLOORS:
                assert FLOORS.index(dep_app) <= FLOORS.index(app), f"{app}.{name} -> {dep_app}"
