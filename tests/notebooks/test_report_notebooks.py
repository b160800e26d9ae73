"""The papermill report templates: one parameters cell, no outputs, and they run as plain papermill."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from painkit.exchange import write_cohort
from painkit.sample import synthetic_cohort

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "notebooks" / "reports"
NAMES = ["patient_report.ipynb", "cohort_report.ipynb"]


@pytest.mark.parametrize("name", NAMES)
def test_template_is_thin_with_one_parameters_cell_and_no_outputs(name):
    nb = nbformat.read(TEMPLATES / name, as_version=4)
    nbformat.validate(nb)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "source = None" in tagged[0].source and "as_of = None" in tagged[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert len(code) <= 10 and all(len(c.source.splitlines()) <= 6 for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_template_runs_with_the_stock_papermill_engine(name, tmp_path):
    import papermill as pm
    from nbconvert import HTMLExporter

    patients, assessments = synthetic_cohort(4, seed=11)
    csv = write_cohort(patients, assessments, tmp_path / "cohort.csv")
    params = {"source": str(csv), "as_of": "2025-09-01"}
    if name.startswith("patient"):
        params["patient_id"] = patients["patient_id"].iloc[0]
    nb = pm.execute_notebook(str(TEMPLATES / name), str(tmp_path / name), parameters=params, kernel_name="python3",
                             progress_bar=False, cwd=str(tmp_path))
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
    assert "Not medical advice" in body and "report.header()" not in body
    if name.startswith("patient"):
        assert body.index("Red flags") < body.index("Outcome so far") < body.index("Plan schedule")
    else:
        assert "Time to a 30% response" in body and "Observed against expected" in body
