"""Import and export: the long format, row-level problems, round trips, FHIR, de-identification."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from painkit.errors import ValidationError
from painkit.exchange import deidentify, read_cohort, read_cohort_lenient, write_cohort, write_deidentified
from painkit.fhir import fhir_bundle, write_fhir
from painkit.sample import SAMPLE_COHORT


@pytest.fixture(scope="module")
def sample():
    return read_cohort(SAMPLE_COHORT)


@pytest.fixture(scope="module")
def small(sample):
    patients, assessments = sample
    keep = patients["patient_id"].head(12)
    return (patients[patients.patient_id.isin(keep)].reset_index(drop=True),
            assessments[assessments.patient_id.isin(keep)].reset_index(drop=True))


def test_bad_rows_are_all_listed_with_spreadsheet_row_numbers(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("# a comment line\n"
                   "patient_id,date,sex,plan,plan_start,nrs,mood_flag\n"
                   "A,2024-01-01,female,pt,2024-01-01,7,no\n"
                   "A,2024-02-01,male,,,11,maybe\n"
                   "B,2024-01-01,,cbt,2024-01-01,six,\n"
                   "B,2023-12-01,,,,5,\n")
    with pytest.raises(ValidationError) as info:
        read_cohort(csv)
    err = info.value
    assert str(csv) in str(err) and "row 4" in str(err)
    got = {(p.row, p.column, str(p.value)): p.reason for p in err.problems.itertuples()}
    assert "disagrees with 'female' given on row 3" in got[(4, "sex", "male")]
    assert "0 to 10" in got[(4, "nrs", "11")]
    assert "yes/no" in got[(4, "mood_flag", "maybe")]
    assert "not a number" in got[(5, "nrs", "six")]
    assert "before the patient's baseline" in got[(6, "date", "2023-12-01")]


def test_unknown_column_and_missing_file_are_clear(tmp_path):
    csv = tmp_path / "typo.csv"
    csv.write_text("patient_id,date,plan,plan_start,nrss\nA,2024-01-01,pt,2024-01-01,7\n")
    with pytest.raises(ValidationError, match="unknown column.*'nrss'"):
        read_cohort(csv)
    with pytest.raises(Exception, match="no such file"):
        read_cohort(tmp_path / "missing.csv")


def test_patient_columns_on_first_row_only(tmp_path):
    csv = tmp_path / "first.csv"
    csv.write_text("patient_id,date,plan,plan_start,nrs\nA,2024-01-01,cbt+pt,2024-01-01,7\nA,2024-02-01,,,5\n")
    patients, assessments = read_cohort(csv)
    assert patients["plan"].tolist() == ["cbt+pt"] and assessments["nrs"].tolist() == [7, 5]


def test_csv_round_trip_gives_the_same_data(sample, tmp_path):
    patients, assessments = sample
    again = read_cohort(write_cohort(patients, assessments, tmp_path / "rt.csv"))
    pd.testing.assert_frame_equal(again[0], patients)
    pd.testing.assert_frame_equal(again[1], assessments)


def test_excel_round_trip(small, tmp_path):
    patients, assessments = small
    again = read_cohort(write_cohort(patients, assessments, tmp_path / "rt.xlsx"))
    pd.testing.assert_frame_equal(again[0], patients)
    pd.testing.assert_frame_equal(again[1], assessments)


def test_lenient_read_keeps_good_rows(tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text("patient_id,date,plan,plan_start,nrs\nA,2024-01-01,pt,2024-01-01,7\nA,2024-02-01,,,x\n"
                   "B,2024-01-01,pt,2024-01-01,12\nB,2024-02-01,,,5\n")
    patients, assessments, rejected, _, _ = read_cohort_lenient(csv)
    assert patients["patient_id"].tolist() == ["A"] and len(assessments) == 1
    assert set(rejected["row"].dropna()) == {3, 4, 5}  # B lost its baseline row, so all of B goes
    assert "required, missing" in " ".join(rejected["reason"])


def test_fhir_bundle_validates_and_codes_nrs(small, tmp_path):
    from fhir.resources.R4B.bundle import Bundle

    patients, assessments = small
    path = write_fhir(patients, assessments, tmp_path / "b.json")
    bundle = Bundle.model_validate_json(path.read_text())
    resources = [e.resource for e in bundle.entry]
    assert sum(r.__resource_type__ == "Patient" for r in resources) == len(patients)
    nrs = [r for r in resources if r.__resource_type__ == "Observation" and r.code.coding
           and r.code.coding[0].code == "72514-3"]
    assert len(nrs) == len(assessments)
    assert sorted(o.valueInteger for o in nrs) == sorted(assessments["nrs"].astype(int))
    codes = {c.code for r in resources if r.__resource_type__ == "Observation" for c in (r.code.coding or [])}
    assert {"91147-9", "91148-7", "77565-0"} <= codes
    texts = [r.code.text for r in resources if r.__resource_type__ == "Observation" and not r.code.coding]
    assert texts and all("No code was certain" in t for t in texts)


def test_fhir_refuses_orphan_assessment(small):
    patients, assessments = small
    with pytest.raises(Exception, match="no such patient"):
        fhir_bundle(patients.iloc[1:], assessments)


def test_deidentified_export_names_no_one(sample, tmp_path):
    patients, assessments = sample
    assessments = assessments.assign(notes=assessments["notes"].fillna("Mrs Smith called"))
    path = write_deidentified(patients, assessments, tmp_path / "d.csv", salt="test-salt")
    text = path.read_text()
    for pid in patients["patient_id"]:
        assert f"{pid}," not in text
    assert "Mrs Smith" not in text and "fibromyalgia" not in text and "birth_year" not in text
    dp, da = deidentify(patients, assessments, salt="test-salt")
    first = assessments.groupby("patient_id")["date"].agg(lambda d: (d - d.min()).dt.days.tolist())
    shifted = da.groupby("subject")["date"].agg(lambda d: (d - d.min()).dt.days.tolist())
    assert sorted(map(tuple, first)) == sorted(map(tuple, shifted))  # intervals kept
    moved = (da["date"].to_numpy() != assessments["date"].to_numpy()).mean()
    assert moved > 0.9
    again, _ = deidentify(patients, assessments, salt="other")
    assert not set(again["subject"]) & set(dp["subject"])  # the salt matters
    assert set(dp["age_band"].dropna()) <= {"18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+", "<18"}
    json.dumps(dp.astype(str).to_dict())  # plain values only
