"""The table contract: every field kind's rules, the cross-row checks, the problems table, and
that small tables (one row: the tracker's progress update) validate the same as large ones."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from painkit.errors import ValidationError
from painkit.schema import (
    ASSESSMENT_FIELDS,
    PATIENT_FIELDS,
    assessment_columns,
    empty_assessments,
    empty_patients,
    patient_columns,
    validate_assessments,
    validate_patients,
)

PROBLEM_COLUMNS = ["row", "patient_id", "date", "column", "value", "reason"]


def _assessment(**values) -> pd.DataFrame:
    row = {"patient_id": "P1", "date": "2025-01-06", "nrs": 5, **values}
    return pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in row.items()})


def _patient(**values) -> pd.DataFrame:
    row = {"patient_id": "P1", "plan": "pt", "plan_start": "2025-01-06", **values}
    return pd.DataFrame({k: pd.Series([v], dtype=object) for k, v in row.items()})


def _problems(fn, table, **kw) -> pd.DataFrame:
    with pytest.raises(ValidationError) as info:
        fn(table, **kw)
    assert list(info.value.problems.columns) == PROBLEM_COLUMNS
    return info.value.problems


def _reasons(fn, table, column, **kw) -> list[str]:
    found = _problems(fn, table, **kw)
    return found.loc[found["column"] == column, "reason"].tolist()


# ------------------------------------------------------------------ one row (the tracker path)
def test_one_row_coerces_to_the_declared_dtypes():
    out = validate_assessments(_assessment(bpi_worst="7", walk_m=" 350.5 ", therapies="PT + CBT",
                                           mood_flag="yes", exercise_sessions_planned=3,
                                           exercise_sessions_done=2, notes="  fine  "))
    assert list(out.columns) == assessment_columns()
    assert out.dtypes.astype(str).tolist() == empty_assessments().dtypes.astype(str).tolist()
    row = out.iloc[0]
    assert row["nrs"] == 5 and row["bpi_worst"] == 7 and row["walk_m"] == 350.5
    assert row["date"] == pd.Timestamp("2025-01-06")
    assert row["therapies"] == "cbt+pt" and row["notes"] == "fine"
    assert row["mood_flag"] is np.True_ or row["mood_flag"] == True  # noqa: E712
    assert pd.isna(row["bpi_least"]) and pd.isna(row["rf_fever"]) and pd.isna(row["qst_normal"])
    assert isinstance(out.index, pd.RangeIndex) and out.index.tolist() == [0]


def test_one_patient_coerces_to_the_declared_dtypes():
    out = validate_patients(_patient(sex="F", birth_year="1970", height_cm=170, plan="pt+cbt"))
    assert list(out.columns) == patient_columns()
    assert out.dtypes.astype(str).tolist() == empty_patients().dtypes.astype(str).tolist()
    assert out.loc[0, "sex"] == "female" and out.loc[0, "birth_year"] == 1970 and out.loc[0, "plan"] == "cbt+pt"


# ------------------------------------------------------------------ field kinds
@pytest.mark.parametrize("value", [0, 10, "3", " 4 ", 5.0, "6.0"])
def test_scores_accept_whole_numbers_0_to_10(value):
    assert validate_assessments(_assessment(bpi_worst=value))["bpi_worst"].iloc[0] == float(str(value).strip())


@pytest.mark.parametrize("value, reason", [
    (11, "allowed: a whole number from 0 to 10"),
    (-1, "allowed: a whole number from 0 to 10"),
    (2.5, "allowed: a whole number from 0 to 10"),
    ("x", "not a number; allowed: a whole number from 0 to 10"),
])
def test_scores_reject(value, reason):
    assert _reasons(validate_assessments, _assessment(peg_pain=value), "peg_pain") == [reason]


def test_required_fields_missing():
    found = _problems(validate_assessments, _assessment(nrs=None))
    assert found[["column", "reason"]].values.tolist() == [["nrs", "required, missing"]]
    found = _problems(validate_assessments, _assessment(date="  "))
    assert found[["column", "reason"]].values.tolist() == [["date", "required, missing"]]


def test_missing_required_column_raises():
    with pytest.raises(ValidationError, match="lacks required column"):
        validate_assessments(pd.DataFrame({"patient_id": ["P1"], "date": ["2025-01-06"]}))


@pytest.mark.parametrize("column, value, reason", [
    ("walk_m", 1600, "allowed: a number from 0 to 1500"),
    ("walk_m", "far", "not a number; allowed: a number from 0 to 1500"),
    ("exercise_sessions_planned", 501, "allowed: a whole number from 0 to 500"),
    ("exercise_sessions_planned", 1.5, "allowed: a whole number from 0 to 500"),
])
def test_ranges(column, value, reason):
    assert _reasons(validate_assessments, _assessment(**{column: value}), column) == [reason]


def test_patient_ranges():
    assert _reasons(validate_patients, _patient(height_cm=20), "height_cm") == ["allowed: a number from 50 to 250"]
    assert _reasons(validate_patients, _patient(birth_year=1899), "birth_year") == ["allowed: a whole number from 1900 to 2100"]


@pytest.mark.parametrize("value, expected", [
    ("yes", True), ("Y", True), ("true", True), ("1", True), (1, True), (True, True),
    ("no", False), ("N", False), ("False", False), ("0", False), (0, False), (" no ", False),
])
def test_yes_no_words(value, expected):
    assert bool(validate_assessments(_assessment(rf_fever=value))["rf_fever"].iloc[0]) is expected


@pytest.mark.parametrize("value", ["maybe", 2])
def test_yes_no_rejects(value):
    assert _reasons(validate_assessments, _assessment(rf_fever=value), "rf_fever") == ["allowed: yes/no, true/false or 1/0"]


def test_dates():
    out = validate_assessments(_assessment(date=pd.Timestamp("2025-01-06 10:30")))
    assert out["date"].iloc[0] == pd.Timestamp("2025-01-06")
    assert validate_assessments(_assessment(date=" 2025-01-06 "))["date"].iloc[0] == pd.Timestamp("2025-01-06")
    found = _problems(validate_assessments, _assessment(date="2025-13-01"))
    assert found[["column", "value", "reason"]].values.tolist() == [["date", "2025-13-01", "not a date; allowed: YYYY-MM-DD"]]


@pytest.mark.parametrize("value, expected", [("F", "female"), ("woman", "female"), ("MALE", "male"), ("m", "male")])
def test_sex_categories(value, expected):
    assert validate_patients(_patient(sex=value))["sex"].iloc[0] == expected


def test_sex_rejects_other_words():
    assert _reasons(validate_patients, _patient(sex="other"), "sex") == ["allowed: female, male"]


def test_plan_and_therapies_canonical():
    assert validate_patients(_patient(plan="PT + CBT"))["plan"].iloc[0] == "cbt+pt"
    assert validate_assessments(_assessment(therapies="pt+cbt"))["therapies"].iloc[0] == "cbt+pt"
    assert pd.isna(validate_assessments(_assessment(therapies=""))["therapies"].iloc[0])


def test_unknown_treatment_names_suggestions():
    (reason,) = _reasons(validate_assessments, _assessment(therapies="cbtt"), "therapies")
    assert reason.startswith("unknown treatment 'cbtt' (did you mean cbt?); allowed: ")
    assert "pt" in reason.split("allowed: ")[1].split(", ")
    (reason,) = _reasons(validate_patients, _patient(plan="zzzz"), "plan")
    assert reason.startswith("unknown treatment 'zzzz'")


def test_plan_required():
    assert _reasons(validate_patients, _patient(plan=None), "plan") == ["required, missing"]


def test_ids_too_long_or_non_printable():
    assert _reasons(validate_patients, _patient(patient_id="x" * 65), "patient_id") == ["longer than 64 characters"]
    assert _reasons(validate_assessments, _assessment(patient_id="a\x01b"), "patient_id") == ["contains non-printable characters"]
    assert validate_patients(_patient(patient_id="x" * 64))["patient_id"].iloc[0] == "x" * 64


# ------------------------------------------------------------------ cross-row checks
def _two(**second):
    return pd.concat([_assessment(), _assessment(**{"date": "2025-02-03", **second})], ignore_index=True)


def test_duplicate_patient_and_date():
    found = _problems(validate_assessments, _two(date="2025-01-06"))
    assert found.values.tolist() == [[2, "P1", "2025-01-06", "date", "2025-01-06", "second assessment of this patient on this date"]]


def test_patient_listed_twice():
    table = pd.concat([_patient(), _patient(plan="cbt")], ignore_index=True)
    found = _problems(validate_patients, table)
    assert found[["row", "column", "value", "reason"]].values.tolist() == [[2, "patient_id", "P1", "patient listed twice"]]


def test_more_sessions_done_than_planned():
    found = _problems(validate_assessments, _assessment(exercise_sessions_planned=1, exercise_sessions_done=3))
    assert found[["column", "value", "reason"]].values.tolist() == [["exercise_sessions_done", 3, "more sessions done than planned"]]
    validate_assessments(_assessment(exercise_sessions_planned=None, exercise_sessions_done=3))


PATIENTS = pd.DataFrame({"patient_id": ["P1", "P2"], "plan": ["pt", "cbt"], "plan_start": ["2025-01-06", "2025-02-03"]})


def test_against_patients():
    patients = validate_patients(PATIENTS)
    table = pd.concat([_assessment(), _assessment(patient_id="P2", date="2025-02-03")], ignore_index=True)
    validate_assessments(table, patients=patients)
    found = _problems(validate_assessments, pd.concat([table, _assessment(patient_id="P9")], ignore_index=True), patients=patients)
    assert found[["row", "column", "value", "reason"]].values.tolist() == [[3, "patient_id", "P9", "no such patient"]]
    early = pd.concat([table, _assessment(patient_id="P2", date="2025-01-20")], ignore_index=True)
    found = _problems(validate_assessments, early, patients=patients)
    assert found[["row", "column", "value", "reason"]].values.tolist() == [[3, "date", "2025-01-20", "before the patient's baseline (plan_start)"]]


def test_no_baseline():
    patients = validate_patients(PATIENTS)
    found = _problems(validate_assessments, _assessment(), patients=patients)
    assert found.values.tolist() == [[None, "P2", pd.Timestamp("2025-02-03"), "date", None, "no baseline assessment on the plan start date"]]


# ------------------------------------------------------------------ the problems table
def test_problems_table_rows_sorted_and_offset():
    table = pd.concat([_assessment(nrs=11, bpi_now="x"), _assessment(date="2025-02-03"), _assessment(date="bad", walk_m=-1)],
                      ignore_index=True)
    table.index = [10, 11, 12]  # the input's index does not number rows
    with pytest.raises(ValidationError) as info:
        validate_assessments(table, source="a.csv", row_offset=2)
    found = info.value.problems
    assert list(found.columns) == PROBLEM_COLUMNS
    assert found[["row", "column"]].values.tolist() == [[2, "bpi_now"], [2, "nrs"], [4, "date"], [4, "walk_m"]]
    assert found["patient_id"].tolist() == ["P1"] * 4 and found["date"].tolist()[:2] == ["2025-01-06"] * 2
    assert str(info.value) == ("a.csv: assessments: row 2 (patient 'P1', 2025-01-06), column 'bpi_now', value 'x': "
                               "not a number; allowed: a whole number from 0 to 10; 3 more problem(s) in 2 row(s)")


# ------------------------------------------------------------------ property: every path agrees
VALUES = {
    "score": [0, 10, 5, "7", " 3 ", 11, -1, 2.5, "x", None, np.nan, "", 5.0, True],
    "int": [0, 3, 500, 501, "12", 1.5, "abc", None, -2],
    "float": [0, 12.5, "300", 1600, -1, "n/a", None, np.nan],
    "bool": [True, False, "yes", "No", "1", 0, 1, "maybe", None, " y ", 2],
    "date": ["2025-01-06", "2025-02-03", "nonsense", None, pd.Timestamp("2025-03-03 10:00"), "2025-13-01"],
    "id": ["P1", "P2", " P1 ", "x" * 70, "a\x01b", None, ""],
    "text": ["ok", None, "  ", " hi ", 3],
    "category": ["female", "M", "other", None],
    "plan": ["pt", "cbt+pt", "PT + CBT", "foo", "", None, "cbtt"],
    "therapies": ["pt", None, "cbt+pt", "bogus", ""],
}


def _random_table(fields, n, rng):
    return pd.DataFrame({f.name: pd.Series([rng.choice(VALUES[f.kind]) for _ in range(n)], dtype=object)
                         for f in fields if f.required or rng.random() < 0.7})


def _outcome(fn, table, **kw):
    try:
        return fn(table, **kw), None
    except ValidationError as err:
        return None, err


def _records(problems):
    return [[None if pd.isna(v) else v for v in row]  # None, NaN, NaT and <NA> alike
            for row in problems.astype(object).values.tolist()]


def _as_strings(table):
    """Text-only columns in pandas' string dtype, as the store and CSV readers give them."""
    return table.astype({c: "string" for c in table.columns
                         if table[c].map(lambda v: v is None or isinstance(v, str)).all()})


@pytest.mark.parametrize("fn, fields", [(validate_assessments, ASSESSMENT_FIELDS), (validate_patients, PATIENT_FIELDS)])
def test_small_tables_validate_the_same_row_by_row_and_whole(fn, fields):
    """Each row alone (the one-row path) gives the rows and problems of the whole table, except
    for the checks across rows; object and string dtypes give the same result."""
    rng = random.Random(7)
    for _ in range(150):
        n = rng.choice([1, 2, 3, 5])
        table, offset = _random_table(fields, n, rng), rng.choice([1, 2])
        whole, err = _outcome(fn, table, row_offset=offset)
        alone = [_outcome(fn, table.iloc[[i]].reset_index(drop=True), row_offset=offset + i) for i in range(n)]
        if err is None:
            assert all(e is None for _, e in alone)
            pd.testing.assert_frame_equal(pd.concat([t for t, _ in alone], ignore_index=True), whole)
        else:
            per_row = [e.problems for _, e in alone if e is not None]
            expected = pd.concat(per_row, ignore_index=True) if per_row else pd.DataFrame(columns=PROBLEM_COLUMNS)
            cross = err.problems["reason"].isin(["second assessment of this patient on this date", "patient listed twice"])
            assert _records(err.problems[~cross]) == _records(expected)
        strings, serr = _outcome(fn, _as_strings(table), row_offset=offset)
        if err is None:
            pd.testing.assert_frame_equal(strings, whole)
        else:
            assert str(serr).replace("<NA>", "None") == str(err)
            assert _records(serr.problems) == _records(err.problems)  # a missing value shows as <NA> or None


def test_typed_columns_validate_like_text():
    typed = pd.DataFrame({"patient_id": pd.array(["P1", "P1"], dtype="string"),
                          "date": pd.to_datetime(["2025-01-06", "2025-02-03"]),
                          "nrs": pd.array([5, 4], dtype="Int64"), "walk_m": [300.0, np.nan],
                          "mood_flag": [True, False]})
    text = pd.DataFrame({"patient_id": ["P1", "P1"], "date": ["2025-01-06", "2025-02-03"], "nrs": ["5", "4"],
                         "walk_m": ["300", None], "mood_flag": ["yes", "no"]}, dtype=object)
    pd.testing.assert_frame_equal(validate_assessments(typed), validate_assessments(text))


def test_empty_tables():
    pd.testing.assert_frame_equal(validate_assessments(empty_assessments()), empty_assessments(), check_index_type=False)
    assert len(validate_patients(empty_patients())) == 0
