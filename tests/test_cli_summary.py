"""``painkit summary`` and ``painkit plan`` through the real CLI entry point."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from painkit.cli import main
from painkit.exchange import write_cohort

START = pd.Timestamp("2026-01-05")


@pytest.fixture()
def cohort_file(tmp_path):
    patients = pd.DataFrame({
        "patient_id": ["a", "b"], "sex": ["female", "male"], "birth_year": [1970, 1960],
        "height_cm": [165.0, 180.0], "weight_kg": [70.0, 85.0], "plan": ["cbt+pne_exercise", "pt+pne_exercise"],
        "plan_start": [START, START],
    })
    weeks = [0, 4, 8, 14]
    assessments = pd.DataFrame({
        "patient_id": ["a"] * 4 + ["b"] * 4,
        "date": [START + pd.Timedelta(weeks=w) for w in weeks] * 2,
        "nrs": [8, 7, 6, 4, 7, 7, 7, 7],
        "rf_fever": [False] * 7 + [True],
    })
    return write_cohort(patients, assessments, tmp_path / "cohort.csv")


def test_summary_table(cohort_file, capsys):
    assert main(["summary", "--cohort", str(cohort_file), "--as-of", "2026-04-14"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Not medical advice")
    assert out.index("URGENT") < out.index("Summary of 2 patient(s) as of 2026-04-14")
    assert "b: Red flag: fever with pain" in out
    assert "substantial" in out and "[discuss] b:" in out


def test_summary_json(cohort_file, capsys):
    assert main(["summary", "--cohort", str(cohort_file), "--as-of", "2026-04-14", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    a, b = data["summary"]
    assert a["patient_id"] == "a" and a["category"] == "substantial" and a["reversal"] == "significant"
    assert a["latest_date"] == "2026-04-13" and a["next_due"] == "2026-05-11"
    assert b["urgent"] is True and b["stalled"] is True and b["alerts"].startswith("Red flag: fever")
    assert data["alerts"][0]["level"] == "urgent" and data["alerts"][0]["patient_id"] == "b"
    assert data["as_of"] == "2026-04-14" and "Not medical advice" in data["disclaimer"]


def test_summary_from_a_store(tmp_path, cohort_file, capsys):
    from painkit.store import Store

    db = tmp_path / "p.db"
    store = Store(db)
    store.import_file(cohort_file)
    store.close()
    assert main(["summary", "--db", str(db), "--as-of", "2026-04-14", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["patient_id"] for row in data["summary"]] == ["a", "b"]


def test_summary_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,plan,plan_start,date,nrs\na,pt,2026-01-05,2026-01-05,12\n")
    assert main(["summary", "--cohort", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("painkit: error:") and "nrs" in err and "12" in err and len(err.strip().splitlines()) == 1
    assert main(["summary", "--cohort", str(tmp_path / "missing.csv")]) == 2


def test_summary_bad_as_of_exits_2(cohort_file, capsys):
    assert main(["summary", "--cohort", str(cohort_file), "--as-of", "soon"]) == 2
    assert "as_of 'soon' is not a date" in capsys.readouterr().err


def test_plan_table_and_json(capsys):
    assert main(["plan", "--plan", "cbt", "--start", "2026-01-05"]) == 0
    out = capsys.readouterr().out
    assert "graded exercise" in out and "Cognitive-behavioral therapy: session 8 of 8" in out
    assert main(["plan", "--plan", "cbt+duloxetine", "--start", "2026-01-05", "--weeks", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["schedule"]
    assert rows[0]["date"] == "2026-01-05" and rows[0]["step"] == 1
    assert any(r["step"] == 6 and r["week"] == 4 for r in rows)
    assert max(r["week"] for r in rows) == 8


def test_plan_unknown_treatment_exits_2(capsys):
    assert main(["plan", "--plan", "acupuncture", "--start", "2026-01-05"]) == 2
    assert "unknown treatment 'acupuncture'" in capsys.readouterr().err
