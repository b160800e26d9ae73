"""``painkit report`` and ``painkit batch`` on the command line: outputs, exit codes, messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from painkit.cli import main
from painkit.exchange import write_cohort
from painkit.reports import safe_slug
from painkit.sample import synthetic_cohort

AS_OF = "2025-09-01"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory):
    patients, assessments = synthetic_cohort(4, seed=7)
    path = write_cohort(patients, assessments, tmp_path_factory.mktemp("cohort") / "cohort.csv")
    return path, patients


def test_report_unknown_patient_is_one_line_exit_2(cohort_csv, tmp_path, capsys):
    path, _ = cohort_csv
    code = main(["report", "nobody", "--cohort", str(path), "--out", str(tmp_path), "--as-of", AS_OF])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'nobody' is not in the cohort" in err


def test_bad_as_of_and_missing_file_exit_2(cohort_csv, tmp_path, capsys):
    path, _ = cohort_csv
    with pytest.raises(SystemExit) as stop:
        main(["batch", "--cohort", str(path), "--out", str(tmp_path), "--as-of", "someday"])
    assert stop.value.code == 2 and "--as-of: 'someday' is not a date" in capsys.readouterr().err
    assert main(["batch", "--cohort", str(tmp_path / "missing.csv"), "--out", str(tmp_path)]) == 2
    assert main(["batch", "--cohort", str(path), "--workers", "0", "--out", str(tmp_path)]) == 2


@pytest.mark.notebook
def test_report_writes_one_private_html(cohort_csv, tmp_path, capsys):
    path, patients = cohort_csv
    pid = patients["patient_id"].iloc[0]
    code = main(["report", pid, "--cohort", str(path), "--out", str(tmp_path / "r"), "--as-of", AS_OF])
    out = capsys.readouterr().out
    html = tmp_path / "r" / "patients" / f"{safe_slug(pid)}.html"
    assert code == 0 and f"Report: {html}" in out
    assert html.stat().st_mode & 0o777 == 0o600 and "Red flags" in html.read_text()
    assert not (tmp_path / "r" / "manifest.csv").exists()  # one report never overwrites a batch's manifest


@pytest.mark.notebook
def test_batch_exit_1_when_a_report_fails_and_the_rest_are_written(cohort_csv, tmp_path, capsys, monkeypatch):
    path, patients = cohort_csv
    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copy(ROOT / "notebooks" / "reports" / "cohort_report.ipynb", templates)
    nb = nbformat.read(ROOT / "notebooks" / "reports" / "patient_report.ipynb", as_version=4)
    victim = patients["patient_id"].iloc[1]
    nb.cells.insert(3, nbformat.v4.new_code_cell(f"if patient_id == {victim!r}:\n    raise ValueError('cannot render')"))
    nbformat.write(nb, templates / "patient_report.ipynb")
    monkeypatch.setenv("PAINKIT_REPORT_TEMPLATES", str(templates))
    out = tmp_path / "out"
    code = main(["batch", "--cohort", str(path), "--out", str(out), "--as-of", AS_OF, "--workers", "1",
                 "--no-progress", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    rows = json.loads(captured.out)
    status = {r["patient_id"]: r["status"] for r in rows}
    assert status.pop(victim) == "failed" and set(status.values()) == {"ok"}
    assert f"FAILED patient {victim!r}: ValueError: cannot render" in captured.err
    assert "Cohort report:" in captured.err and "Manifest:" in captured.err
    manifest = pd.read_csv(out / "manifest.csv", keep_default_na=False)
    assert len(manifest) == len(patients) + 1 and (out / "cohort_report.html").exists()


@pytest.mark.browser
@pytest.mark.notebook
def test_report_pdf_on_request(cohort_csv, tmp_path, capsys):
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("PDF output needs /usr/bin/chromium")
    path, patients = cohort_csv
    pid = patients["patient_id"].iloc[2]
    code = main(["report", pid, "--cohort", str(path), "--out", str(tmp_path), "--as-of", AS_OF, "--pdf"])
    pdf = tmp_path / "patients" / f"{safe_slug(pid)}.pdf"
    assert code == 0 and f"PDF: {pdf}" in capsys.readouterr().out
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
    assert pdf.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "patients").iterdir()) == sorted([pdf.name, pdf.with_suffix(".html").name])
    # a rerun without --pdf removes the PDF rather than leave it beside a newer HTML
    assert main(["report", pid, "--cohort", str(path), "--out", str(tmp_path), "--as-of", "2025-09-02"]) == 0
    assert not pdf.exists()
