"""The store commands of the ``painkit`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from painkit.cli import main
from painkit.sample import SAMPLE_COHORT
from painkit.store import Store


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.db")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_patient_and_update_lifecycle(capsys, db):
    assert run(capsys, "patient", "add", "P1", "--plan", "cbt+pt", "--plan-start", "2024-01-08",
               "--sex", "f", "--birth-year", "1970", "--db", db)[0] == 0
    assert run(capsys, "update", "add", "P1", "--date", "2024-01-08", "--nrs", "7", "--bpi-worst", "8", "--db", db)[0] == 0
    code, out, err = run(capsys, "update", "add", "P1", "--date", "2024-02-05", "--nrs", "6", "--red-flag", "fever",
                         "--notes", "felt hot", "--db", db)
    assert code == 0 and "RED FLAG" in err
    assert run(capsys, "update", "correct", "P1", "--date", "2024-02-05", "--nrs", "5", "--reason", "typo", "--db", db)[0] == 0
    assert run(capsys, "patient", "edit", "P1", "--weight-kg", "80", "--db", db)[0] == 0
    code, out, _ = run(capsys, "patient", "list", "--json", "--db", db)
    assert json.loads(out)[0]["weight_kg"] == 80 and json.loads(out)[0]["sex"] == "female"
    code, out, _ = run(capsys, "update", "list", "P1", "--json", "--db", db)
    rows = json.loads(out)
    assert [r["nrs"] for r in rows] == [7, 5] and rows[1]["rf_fever"] is True and rows[1]["rf_weakness"] is False
    assert run(capsys, "update", "delete", "P1", "--date", "2024-02-05", "--reason", "wrong patient", "--db", db)[0] == 0
    code, out, _ = run(capsys, "history", "P1", "--json", "--db", db)
    history = pd.DataFrame(json.loads(out))
    assert {"add", "correct", "edit", "delete"} <= set(history["action"])
    deleted = history[(history.action == "delete") & (history.field == "notes")]
    assert deleted["old_value"].tolist() == ["felt hot"]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["update", "add", "P1", "--date", "2024-02-05", "--nrs", "12"], "column 'nrs', value '12'"),
        (["update", "add", "P1", "--date", "2023-02-05", "--nrs", "5"], "before the plan start"),
        (["update", "add", "NOPE", "--date", "2024-02-05", "--nrs", "5"], "no patient 'NOPE'"),
        (["update", "add", "P1", "--date", "2024-13-40", "--nrs", "5"], "not a date"),
        (["patient", "add", "P2", "--plan", "zumba", "--plan-start", "2024-01-01"], "unknown treatment 'zumba'"),
        (["update", "correct", "P1", "--date", "2024-03-01", "--nrs", "5"], "no assessment on 2024-03-01"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, db, argv, needle):
    run(capsys, "patient", "add", "P1", "--plan", "pt", "--plan-start", "2024-01-08", "--db", db)
    code, out, err = run(capsys, *argv, "--db", db)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and err.startswith("painkit: error:")


def test_import_export_round_trip_and_idempotent_load_sample(capsys, db, tmp_path):
    code, out, _ = run(capsys, "load-sample", "--db", db)
    assert code == 0 and "added 200 patient(s)" in out
    code, out, _ = run(capsys, "load-sample", "--db", db)
    assert code == 0 and "added 0 patient(s) and 0 assessment(s)" in out
    csv = tmp_path / "out.csv"
    assert run(capsys, "export", "--format", "csv", "--out", str(csv), "--db", db)[0] == 0
    other = str(tmp_path / "other.db")
    code, out, _ = run(capsys, "import", str(csv), "--db", other)
    assert code == 0
    a, b = Store(db).load_cohort(), Store(other).load_cohort()
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    deid = tmp_path / "d.csv"
    assert run(capsys, "export", "--format", "deidentified", "--salt", "x", "--out", str(deid), "--db", db)[0] == 0
    assert "S001" not in deid.read_text()


def test_import_bad_file_exits_2_and_skip_invalid(capsys, db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,date,plan,plan_start,nrs\nA,2024-01-01,pt,2024-01-01,7\nA,2024-02-01,,,11\n")
    code, out, err = run(capsys, "import", str(bad), "--db", db)
    assert code == 2 and "row 3" in err and "'nrs'" in err and err.count("\n") == 1
    code, out, err = run(capsys, "import", str(bad), "--skip-invalid", "--db", db)
    assert code == 0 and "rejected 1 row(s)" in out
    assert (tmp_path / "bad.csv.rejected.csv").exists()


def test_fhir_export_and_cohort_source(capsys, tmp_path):
    small = tmp_path / "small.csv"
    lines = SAMPLE_COHORT.read_text().splitlines()
    small.write_text("\n".join([*lines[:3], *[ln for ln in lines[3:] if ln.startswith(("S001,", "S002,"))]]) + "\n")
    out = tmp_path / "b.json"
    code, text, _ = run(capsys, "export", "--format", "fhir", "--cohort", str(small), "--out", str(out))
    assert code == 0
    bundle = json.loads(out.read_text())
    assert any(c.get("code") == "72514-3" for e in bundle["entry"] for c in e["resource"].get("code", {}).get("coding", []))


def test_sample_command(capsys, tmp_path):
    out = tmp_path / "s.csv"
    assert run(capsys, "sample", "--patients", "5", "--seed", "3", "--out", str(out))[0] == 0
    assert out.read_text().startswith("# SYNTHETIC")


def test_real_process_exit_code_and_message(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "painkit", "update", "add", "X", "--date", "2024-01-01", "--nrs", "5",
         "--db", str(tmp_path / "p.db")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no patient 'X'" in proc.stderr


def test_not_a_store_exits_2(capsys, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database, just text " * 100)
    code, out, err = run(capsys, "patient", "list", "--db", str(junk))
    assert code == 2 and "cannot open the store" in err and err.count("\n") == 1
