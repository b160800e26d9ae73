"""The app notebooks run clean top to bottom in a real kernel and are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = [ROOT / "notebooks" / "tracker.ipynb", ROOT / "notebooks" / "evidence_explorer.ipynb"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs committed"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_clean(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PAINKIT_DB", str(tmp_path / "painkit.db"))  # never the default store
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text]
    views = [o for o in outputs if o.output_type == "execute_result" and WIDGET_VIEW in o.get("data", {})]
    assert views, f"{path.name}: the app was not displayed"
    assert (tmp_path / "painkit.db").exists() == (path.name == "tracker.ipynb")
