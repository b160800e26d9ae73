"""Tracking: hand-worked examples, every alert path, every bad-input path, cohort = per-patient."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from painkit.errors import EvidenceError, InputError, ValidationError
from painkit.tracking import (
    ALERTS,
    SUMMARY_COLUMNS,
    TrackingRules,
    alerts,
    load_tracking_rules,
    next_due,
    summarize_by_patient,
    summarize_cohort,
    summarize_patient,
    track,
)
from painkit.schema import validate_assessments, validate_patients

START = pd.Timestamp("2026-01-05")


def cohort(plan, nrs_by_week, *, pid="a", **columns):
    """One patient: ``nrs_by_week`` maps week -> NRS; extra columns are lists aligned with it."""
    weeks = list(nrs_by_week)
    patients = pd.DataFrame({"patient_id": [pid], "plan": [plan], "plan_start": [START]})
    assessments = pd.DataFrame({
        "patient_id": [pid] * len(weeks),
        "date": [START + pd.Timedelta(weeks=w) for w in weeks],
        "nrs": list(nrs_by_week.values()),
        **columns,
    })
    return patients, assessments


def at(week):
    return START + pd.Timedelta(weeks=week)


def codes(patients, assessments, as_of):
    return list(alerts(patients, assessments, as_of=as_of)["code"])


# ----------------------------------------------------------------------------------- rules
def test_rules_csv_matches_dataclass_and_every_rule_has_a_source():
    table = pd.read_csv("data/evidence/tracking_rules.csv")
    rules = load_tracking_rules()
    assert set(table["name"]) == {f for f in TrackingRules.__dataclass_fields__}
    assert table["source"].str.len().min() > 5
    for row in table.itertuples():
        assert getattr(rules, row.name) == pytest.approx(row.value)
    assert rules == TrackingRules()  # the dataclass defaults equal the documented file
    uncertain = table.set_index("name").loc["bpi_severity_min_items", "source"]
    assert "assumption" in uncertain


def test_rules_table_errors_name_the_row(tmp_path):
    table = pd.read_csv("data/evidence/tracking_rules.csv", dtype=str)
    bad = table.copy()
    bad.loc[3, "value"] = "two"
    with pytest.raises(EvidenceError, match=r"row 5, column 'value': 'two' is not a number"):
        TrackingRules.from_table(bad)
    unknown = pd.concat([table, table.iloc[[0]].assign(name="nonsense")], ignore_index=True)
    with pytest.raises(EvidenceError, match="unknown rule 'nonsense'"):
        TrackingRules.from_table(unknown)
    with pytest.raises(EvidenceError, match="missing rule"):
        TrackingRules.from_table(table.iloc[1:])
    path = tmp_path / "rules.csv"
    table.assign(source=table["source"].where(table.index != 0, "")).to_csv(path, index=False)
    with pytest.raises(EvidenceError, match="has no source"):
        load_tracking_rules(path)
    with pytest.raises(InputError, match="must rise"):
        TrackingRules(immpact_minimal_pct=40)


# ------------------------------------------------------------------------- track, by hand
def test_track_worked_example_against_the_cbt_band():
    # CBT 30-50% at 26 weeks, building as 1 - exp(-3t/26) normalised by 1 - exp(-3):
    # week 4: share (1 - e^-0.4615) / (1 - e^-3) = 0.3891 -> band 8(1 - .5*.3891) = 6.44 .. 8(1 - .3*.3891) = 7.07
    # week 8: share 0.6343 -> band 5.46 .. 6.48, expected 8(1 - .4*.6343) = 5.97
    patients, assessments = cohort("cbt", {0: 8, 4: 7, 8: 4})
    t = track(patients, assessments, as_of=at(8))
    assert list(t.columns) == ["patient_id", "date", "nrs", "weeks_on_plan", "change_points", "change_pct",
                               "category", "expected", "band_low", "band_high", "position"]
    assert list(t["weeks_on_plan"]) == [0, 4, 8]
    assert list(t["change_points"]) == [0, -1, -4]
    assert list(t["change_pct"]) == [0, -12.5, -50]
    assert list(t["category"]) == ["no change", "minimal", "substantial"]
    assert t.loc[1, ["band_low", "band_high"]].tolist() == pytest.approx([6.44, 7.07], abs=0.01)
    assert t.loc[2, ["band_low", "expected", "band_high"]].tolist() == pytest.approx([5.46, 5.97, 6.48], abs=0.01)
    # week 8: NRS 4 is below band_low - 1 = 4.46 -> ahead; week 4: 7 inside the band -> on track
    assert list(t["position"]) == ["on track", "on track", "ahead"]


def test_position_tolerance_and_behind():
    patients, assessments = cohort("cbt", {0: 8, 8: 8})
    t = track(patients, assessments, as_of=at(8))
    assert t.loc[1, "position"] == "behind"  # 8 > 6.48 + 1
    wide = track(patients, assessments, as_of=at(8), rules=TrackingRules().with_(band_tolerance_points=2))
    assert wide.loc[1, "position"] == "on track"


@pytest.mark.parametrize(
    "baseline, latest, category",
    [(10, 10, "no change"), (10, 9, "minimal"), (10, 8, "minimal"), (10, 7, "moderate"), (10, 6, "moderate"),
     (10, 5, "substantial"), (10, 0, "substantial"), (5, 6, "worse"), (0, 0, "no change"), (0, 2, "worse"),
     (3, 3, "no change")],
)
def test_immpact_categories(baseline, latest, category):
    patients, assessments = cohort("pt", {0: baseline, 4: latest})
    row = track(patients, assessments, as_of=at(4)).iloc[1]
    assert row["category"] == category
    if baseline == 0:
        assert math.isnan(row["change_pct"])


def test_immpact_thresholds_are_configurable():
    patients, assessments = cohort("pt", {0: 10, 4: 9})
    rules = TrackingRules().with_(immpact_minimal_pct=20)
    assert track(patients, assessments, as_of=at(4), rules=rules).iloc[1]["category"] == "no change"


def test_track_sorts_and_keeps_every_row_and_respects_as_of():
    patients = pd.DataFrame({"patient_id": ["b", "a"], "plan": ["pt", "cbt"], "plan_start": [START, START]})
    assessments = pd.DataFrame({
        "patient_id": ["a", "b", "a", "b", "a"],
        "date": [at(8), at(4), at(0), at(0), at(4)],
        "nrs": [5, 6, 7, 8, 6],
    })
    t = track(patients, assessments, as_of=at(10))
    assert len(t) == 5
    assert list(t["patient_id"]) == ["b", "b", "a", "a", "a"]
    assert list(t["nrs"]) == [8, 6, 7, 6, 5]
    assert len(track(patients, assessments, as_of=at(4))) == 4  # the week-8 visit is not yet known


# ------------------------------------------------------------------------------ summary
def test_summary_columns_and_values():
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 4: 7, 8: 6})
    s = summarize_cohort(patients, assessments, as_of=at(9))
    assert tuple(s.columns) == SUMMARY_COLUMNS
    row = s.iloc[0]
    assert row.baseline_date == START and row.latest_date == at(8)
    assert (row.baseline_nrs, row.latest_nrs, row.n_assessments) == (8, 6, 3)
    assert row.change_points == -2 and row.change_pct == pytest.approx(-25)
    assert (row.category, row.reversal, row.stalled, row.urgent, row.n_alerts) == ("minimal", "partial", False, False, 0)
    assert row.next_due == at(12)
    assert row.alerts == ""


def test_reversal_complete_needs_six_months_of_zero():
    six = {0: 7, 4: 0, **{w: 0 for w in range(8, 29, 4)}, 30: 0}  # zero from week 4 to week 30: 26 weeks
    patients, assessments = cohort("pt+pne_exercise", six)
    assert summarize_cohort(patients, assessments, as_of=at(30)).iloc[0]["reversal"] == "complete"
    short = {0: 7, 4: 3, **{w: 0 for w in range(8, 29, 4)}, 30: 0}  # zero from week 8: 22 weeks
    patients, assessments = cohort("pt+pne_exercise", short)
    assert summarize_cohort(patients, assessments, as_of=at(30)).iloc[0]["reversal"] == "significant"
    broken = {**six, 20: 1}
    patients, assessments = cohort("pt+pne_exercise", broken)
    assert summarize_cohort(patients, assessments, as_of=at(30)).iloc[0]["reversal"] == "significant"


@pytest.mark.parametrize("latest, reversal", [(4, "significant"), (6, "partial"), (7, "partial"), (8, "none"), (9, "none")])
def test_reversal_levels(latest, reversal):
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 4: latest})
    assert summarize_cohort(patients, assessments, as_of=at(4)).iloc[0]["reversal"] == reversal


@pytest.mark.parametrize(
    "visits, stalled",
    [
        ({0: 8, 4: 8}, True),            # no fall over 4 weeks
        ({0: 8, 4: 7}, False),           # fell 1 point
        ({0: 8, 4: 6, 6: 6}, False),     # compared with week 0 (the last one >= 4 weeks before): fell 2
        ({0: 8, 4: 6, 8: 6}, True),      # compared with week 4: no fall
        ({0: 8, 4: 4, 8: 4}, False),     # at the 50% target
        ({0: 8, 2: 8}, False),           # nothing 4 weeks before the latest
        ({0: 8}, False),                 # baseline only
        ({0: 3, 4: 0, 8: 0}, False),     # pain-free
    ],
)
def test_stall_rule(visits, stalled):
    patients, assessments = cohort("pt+pne_exercise", visits)
    last = max(visits)
    s = summarize_cohort(patients, assessments, as_of=at(last))
    assert bool(s.iloc[0]["stalled"]) is stalled
    assert ("stalled" in codes(patients, assessments, at(last))) is stalled


def test_stall_rule_is_configurable():
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 4: 7})
    rules = TrackingRules().with_(stall_min_points=2)
    assert bool(summarize_cohort(patients, assessments, as_of=at(4), rules=rules).iloc[0]["stalled"])


def test_next_due_every_four_weeks_and_overdue():
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 5: 6})
    due = next_due(patients, assessments, as_of=at(6))
    assert due.iloc[0]["next_due"] == at(9) and not due.iloc[0]["overdue"]
    assert next_due(patients, assessments, as_of=at(9) + pd.Timedelta(days=1)).iloc[0]["overdue"]
    assert codes(patients, assessments, at(10)) == ["remeasure_overdue"]


def test_patient_not_started_at_as_of():
    patients = pd.DataFrame({"patient_id": ["a", "b"], "plan": ["pt", "cbt"], "plan_start": [START, at(10)]})
    assessments = pd.DataFrame({"patient_id": ["a", "b"], "date": [START, at(10)], "nrs": [6, 7]})
    s = summarize_cohort(patients, assessments, as_of=at(2))
    b = s.iloc[1]
    assert b.n_assessments == 0 and pd.isna(b.latest_date) and math.isnan(b.latest_nrs)
    assert b.next_due == at(10) and b.n_alerts == 0 and pd.isna(b.category)
    assert len(s) == 2


# ------------------------------------------------------------------------------- alerts
@pytest.mark.parametrize("flag, code", [("rf_weakness", "red_flag_weakness"), ("rf_bladder", "red_flag_bladder"),
                                        ("rf_weight_loss", "red_flag_weight_loss"), ("rf_fever", "red_flag_fever")])
def test_each_red_flag_is_urgent_and_first(flag, code):
    patients, assessments = cohort("opioid", {0: 8, 4: 8}, **{flag: [False, True]})
    table = alerts(patients, assessments, as_of=at(4))
    assert table.iloc[0]["code"] == code and table.iloc[0]["level"] == "urgent"
    assert "urgent" in table.iloc[0]["message"].lower() and flag in table.iloc[0]["reason"]
    assert table["level"].cat.codes.is_monotonic_increasing  # urgent, discuss, review, advice
    assert list(table["level"].cat.categories) == ["urgent", "discuss", "review", "advice"]
    s = summarize_cohort(patients, assessments, as_of=at(4)).iloc[0]
    assert bool(s.urgent) and s.alerts.startswith("Red flag")


def test_red_flag_answered_earlier_only_is_not_current():
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 4: 7}, rf_fever=[True, False])
    assert not bool(summarize_cohort(patients, assessments, as_of=at(4)).iloc[0]["urgent"])


def test_alert_levels_are_ordered_across_patients():
    p1, a1 = cohort("pt+pne_exercise", {0: 8, 14: 7}, pid="x")
    p2, a2 = cohort("pt+pne_exercise", {0: 8, 14: 5}, pid="y", rf_bladder=[False, True])
    table = alerts(pd.concat([p1, p2]), pd.concat([a1, a2]), as_of=at(14))
    assert list(table["code"][:2]) == ["red_flag_bladder", "advanced_options"]
    assert list(table["patient_id"][:2]) == ["y", "x"]


def test_advanced_options_after_three_months_above_five():
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 12: 7, 13: 6})
    table = alerts(patients, assessments, as_of=at(13))
    hit = table[table.code == "advanced_options"].iloc[0]
    assert hit.level == "discuss" and "spinal cord stimulation" in hit.message and "radiofrequency" in hit.message
    assert "NRS 6 > 5 after 13 weeks" in hit.reason
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 13: 5})
    assert "advanced_options" not in codes(patients, assessments, at(13))
    patients, assessments = cohort("pt+pne_exercise", {0: 8, 12: 7})
    assert "advanced_options" not in codes(patients, assessments, at(12))


def test_gabapentinoid_beyond_six_months():
    patients, assessments = cohort("gabapentinoid+pt+pne_exercise", {0: 4, 26: 3})
    assert "gabapentinoid_review" not in codes(patients, assessments, at(26))
    patients, assessments = cohort("gabapentinoid+pt+pne_exercise", {0: 4, 27: 3})
    table = alerts(patients, assessments, as_of=at(27))
    hit = table[table.code == "gabapentinoid_review"].iloc[0]
    assert hit.level == "review" and "since 2026-01-05 (27 weeks" in hit.reason
    # started later through the therapies column: counted from its first assessment
    patients, assessments = cohort("pt+pne_exercise", {0: 4, 4: 4, 28: 3}, therapies=[None, "pt+gabapentin", "pt+gabapentin"])
    assert "gabapentinoid_review" not in codes(patients, assessments, at(28))


def test_opioid_medication_only_no_education_mood_and_missed_exercise():
    patients, assessments = cohort("opioid+antidepressant", {0: 6, 4: 5}, mood_flag=[False, True],
                                   exercise_sessions_planned=[0, 10], exercise_sessions_done=[0, 7])
    table = alerts(patients, assessments, as_of=at(4))
    assert list(table["code"]) == ["opioid_bridge", "medication_only", "no_education", "mood_no_psych", "missed_exercise"]
    assert set(table["level"]) == {"advice"}
    assert "bridge only" in table.iloc[0]["message"]
    assert "7 of 10 planned sessions" in table.iloc[4]["reason"]
    # CBT covers mood; education in the plan; 8 of 10 sessions is enough
    patients, assessments = cohort("cbt+pne_exercise", {0: 6, 4: 5}, mood_flag=[False, True],
                                   exercise_sessions_planned=[0, 10], exercise_sessions_done=[0, 8])
    assert codes(patients, assessments, at(4)) == []


def test_therapies_of_the_latest_assessment_override_the_plan():
    patients, assessments = cohort("pt+pne_exercise", {0: 6, 4: 5}, therapies=[None, "duloxetine"])
    assert codes(patients, assessments, at(4)) == ["medication_only"]


def test_no_dosing_advice_in_any_message():
    import re

    text = " ".join(m for _, m in ALERTS.values()).lower()
    for pattern in (r"\bmg\b", r"\bdos(e|es|age|ing)\b", r"\btablets?\b", r"\bmilligrams?\b", r"\bincrease\b"):
        assert not re.search(pattern, text), pattern


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "change, column, value, reason",
    [
        ({"nrs": [8, 11]}, "nrs", 11, "whole number from 0 to 10"),
        ({"nrs": [8, 6.5]}, "nrs", 6.5, "whole number from 0 to 10"),
        ({"date": [START, START - pd.Timedelta(days=3)]}, "date", "2026-01-02", "before the patient's baseline"),
        ({"date": [START, START]}, "date", "2026-01-05", "second assessment"),
        ({"therapies": [None, "acupuncture"]}, "therapies", "acupuncture", "unknown treatment"),
    ],
)
def test_bad_input_names_patient_date_field_and_value(change, column, value, reason):
    patients, assessments = cohort("pt", {0: 8, 4: 6})
    for col, values in change.items():
        assessments[col] = values
    for func in (track, summarize_cohort, alerts):
        with pytest.raises(ValidationError) as err:
            func(patients, assessments, as_of=at(8))
        problem = err.value.problems.iloc[0]
        assert problem["patient_id"] == "a" and problem["column"] == column and reason in problem["reason"]
        assert str(value) in str(problem["value"])
        assert "'a'" in str(err.value) and repr(column) in str(err.value)


def test_patient_without_baseline_is_named():
    patients, assessments = cohort("pt", {1: 8, 4: 6})
    with pytest.raises(ValidationError) as err:
        summarize_cohort(patients, assessments, as_of=at(8))
    problems = err.value.problems
    hit = problems[problems.reason.str.contains("no baseline")].iloc[0]
    assert hit.patient_id == "a" and hit.column == "date" and pd.Timestamp(hit.date) == START


def test_bad_as_of_is_an_input_error():
    patients, assessments = cohort("pt", {0: 8})
    with pytest.raises(InputError, match="as_of 'soon' is not a date"):
        summarize_cohort(patients, assessments, as_of="soon")


# ------------------------------------------------------------- cohort form = per-patient
def random_cohort(n, seed):
    rng = np.random.default_rng(seed)
    plans = ["pt", "cbt", "pne_exercise+pt", "gabapentinoid+pt", "antidepressant", "opioid+pt", "mbsr_24wk", "scs+cbt"]
    pats, rows = [], []
    for i in range(n):
        pid = f"r{i:03d}"
        start = pd.Timestamp("2025-01-06") + pd.Timedelta(days=int(rng.integers(0, 200)))
        pats.append((pid, rng.choice(plans), start))
        gaps = rng.choice([7, 14, 21, 28, 28, 28, 35, 60], size=int(rng.integers(0, 12)))
        days = np.concatenate([[0], np.cumsum(gaps)])
        level = int(rng.integers(0, 11))
        for d in days:
            level = int(np.clip(level + rng.choice([-2, -1, -1, 0, 0, 0, 1]), 0, 10))
            planned = int(rng.integers(0, 10))
            rows.append({
                "patient_id": pid, "date": start + pd.Timedelta(days=int(d)), "nrs": level,
                "therapies": rng.choice([None, None, None, "gabapentinoid", "cbt+pt", "opioid"]),
                "exercise_sessions_planned": planned, "exercise_sessions_done": int(rng.integers(0, planned + 1)),
                "mood_flag": bool(rng.random() < 0.3), "rf_weakness": bool(rng.random() < 0.05),
                "rf_fever": bool(rng.random() < 0.05),
            })
    patients = pd.DataFrame(pats, columns=["patient_id", "plan", "plan_start"])
    assessments = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return patients, assessments


@pytest.mark.parametrize("seed, as_of", [(1, "2025-09-01"), (2, "2026-06-30"), (3, "2025-03-01")])
def test_cohort_form_equals_per_patient_form(seed, as_of):
    patients, assessments = random_cohort(80, seed)
    fast = summarize_cohort(patients, assessments, as_of=as_of)
    vp = validate_patients(patients)
    va = validate_assessments(assessments, patients=vp)
    slow = summarize_by_patient(vp, va, as_of=as_of)
    assert list(fast.columns) == list(slow.columns) == list(SUMMARY_COLUMNS)
    for col in SUMMARY_COLUMNS:
        a, b = fast[col], slow[col]
        if col in ("baseline_nrs", "latest_nrs", "weeks_on_plan", "change_points", "change_pct", "expected",
                   "band_low", "band_high"):
            np.testing.assert_allclose(a.astype(float), b.astype(float), equal_nan=True, err_msg=col)
        else:
            left = a.astype(object).where(a.notna(), None).tolist()
            right = b.astype(object).where(b.notna(), None).tolist()
            assert left == right, col
    assert fast["n_alerts"].sum() > 0 and fast["stalled"].any()
    # the single-patient form agrees too
    one = summarize_patient(vp.iloc[0], va[va.patient_id == vp.patient_id[0]], as_of=as_of)
    assert one["alerts"] == fast.iloc[0]["alerts"]


def test_empty_cohort_gives_empty_tables_with_the_columns():
    from painkit.schema import empty_assessments, empty_patients

    p, a = empty_patients(), empty_assessments()
    assert list(summarize_cohort(p, a)) == list(SUMMARY_COLUMNS) and len(summarize_cohort(p, a)) == 0
    assert len(track(p, a)) == 0 and len(alerts(p, a)) == 0 and len(next_due(p, a)) == 0


def test_validate_false_gives_the_same_summary_for_validated_tables():
    patients, assessments = random_cohort(20, 7)
    vp = validate_patients(patients)
    va = validate_assessments(assessments, patients=vp)
    a = summarize_cohort(vp, va, as_of="2025-12-01")
    b = summarize_cohort(vp, va, as_of="2025-12-01", validate=False)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("as_of", ["2025-06-01", "2025-12-01", "2027-01-01"])
def test_track_all_equals_track_alerts_and_next_due(as_of):
    from painkit.tracking import track_all

    patients, assessments = random_cohort(25, 11)
    tracked, found, due = track_all(patients, assessments, as_of=as_of, combine="independent")
    assert len(found) > 0
    pd.testing.assert_frame_equal(tracked, track(patients, assessments, as_of=as_of, combine="independent"))
    pd.testing.assert_frame_equal(found, alerts(patients, assessments, as_of=as_of))
    pd.testing.assert_frame_equal(due, next_due(patients, assessments, as_of=as_of))
    p, a = patients.iloc[:0], assessments.iloc[:0]
    assert [len(t) for t in track_all(p, a)] == [0, 0, 0]


def test_alerts_table_has_the_same_dtypes_with_and_without_rows():
    p = pd.DataFrame({"patient_id": ["a"], "plan": ["cbt+pne_exercise"], "plan_start": ["2026-01-05"]})
    a = pd.DataFrame({"patient_id": ["a"] * 2, "date": ["2026-01-05", "2026-02-02"], "nrs": [8, 7]})
    some = alerts(p, a, as_of="2026-04-01")
    none = alerts(p, a, as_of="2026-02-03")
    assert len(some) and not len(none)
    pd.testing.assert_series_equal(some.dtypes, none.dtypes)
