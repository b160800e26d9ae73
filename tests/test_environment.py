"""The project's set-up files stay in step: pyproject.toml, environment.yml, Makefile, CI."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _name(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", spec)
    return match.group(1).lower().replace("_", "-"), match.group(3).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    return dict(_name(s) for s in specs)


def _environment() -> dict[str, str]:
    deps, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        item = re.match(r"^  - ([^:#]+?)\s*$", line)
        if in_deps and item:
            name, bound = _name(item.group(1))
            if name not in {"python", "pip"}:
                deps[name] = bound
    return deps


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert _environment() == _pyproject()


def test_environment_yml_uses_conda_forge_and_installs_the_package():
    text = (ROOT / "environment.yml").read_text()
    assert "- conda-forge" in text and re.search(r"- pip:\n\s+- -e \.", text)


def test_makefile_documents_itself_and_has_the_targets():
    result = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    listed = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    for target in ("demo", "test", "lab", "app", "bench", "install"):
        assert re.search(rf"^  {target} ", listed, re.M), target


def test_ci_script_installs_system_packages_then_runs_make_test():
    text = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install" in text and "chromium" in text
    assert text.rstrip().endswith("make test")


def _tracked(pattern: str) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [line for line in out.stdout.splitlines() if line]


def test_committed_notebooks_have_no_outputs():
    for path in _tracked("*.ipynb"):
        nb = json.loads((ROOT / path).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and not cell.get("execution_count"), path


def test_reports_folder_holds_no_generated_output_in_git():
    tracked = _tracked("reports")
    assert set(tracked) <= {"reports/.gitkeep", "reports/README.md"}
