"""Report content (painkit.reports): escaping, section order, cohort statistics."""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from painkit import DISCLAIMER  # noqa: E402
from painkit.errors import ReportError  # noqa: E402
from painkit.reports import (  # noqa: E402
    CohortReport,
    PatientReport,
    band_calibration,
    kaplan_meier,
    render_cohort_html,
    render_patient_html,
    responder_rates,
    response_times,
    safe_slug,
    wilson_interval,
)
from painkit.sample import synthetic_cohort  # noqa: E402

AS_OF = "2025-09-01"


@pytest.fixture(scope="module")
def cohort():
    return synthetic_cohort(6, seed=3)


def _evil(patients, assessments, new_id="../<img src=x onerror=alert(1)>/p"):
    old = patients["patient_id"].iloc[0]
    patients = patients.assign(patient_id=patients["patient_id"].replace(old, new_id),
                               condition=patients["condition"].where(patients["patient_id"] != old, "<b>bold</b>"))
    assessments = assessments.assign(patient_id=assessments["patient_id"].replace(old, new_id))
    notes = assessments["notes"].astype(object)
    notes[assessments["patient_id"] == new_id] = "<script>alert('x')</script> & more"
    return patients, assessments.assign(notes=notes), new_id


def test_slug_is_safe_and_unique():
    for pid in ["../../etc/passwd", "a/b\\c", "<script>", "..", "", "é/ü", "x" * 200]:
        slug = safe_slug(pid)
        assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}", slug), slug
        assert len(slug) <= 49
    assert safe_slug("a/b") != safe_slug("a_b") != safe_slug("a b")
    assert safe_slug("P1") == safe_slug("P1")


def test_patient_report_escapes_everything_from_the_data(cohort):
    patients, assessments, pid = _evil(*cohort)
    page = render_patient_html(patients, assessments, pid, as_of=AS_OF)
    assert "<script" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(" in page and "&lt;/script&gt; &amp; more" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_patient_report_sections_in_order_with_disclaimer_and_red_flags_first(cohort):
    patients, assessments = cohort
    pid = patients["patient_id"].iloc[1]
    last = assessments[assessments["patient_id"] == pid]["date"].max()
    flagged = assessments.copy()
    flagged["rf_bladder"] = flagged["rf_bladder"].astype("boolean")
    flagged.loc[(flagged["patient_id"] == pid) & (flagged["date"] == last), "rf_bladder"] = True
    report = PatientReport.from_tables(patients, flagged, pid, as_of=AS_OF)
    page = "".join(report.sections())
    titles = re.findall(r"<h[12]>([^<]+)</h[12]>", page)
    assert titles[:4] == ["Pain progress report", "Red flags", "Outcome so far", "Progress against the expected range"]
    assert "Plan schedule" in titles and titles[-1] == "Modelling assumptions behind these figures"
    assert DISCLAIMER in page
    red = report.red_flags()
    assert "URGENT" in red and "loss of bladder control" in red.lower()
    assert "URGENT" not in report.other_alerts()
    assert "data:image/png;base64," in report.progress()
    assert "Next re-measure due" in report.plan_schedule()
    assert "combination_rule" in report.assumptions_used() and "band_tolerance_points" in report.assumptions_used()
    assert report.summary["patient_id"] == pid


def test_unknown_patient_is_a_report_error(cohort):
    with pytest.raises(ReportError, match="'nobody' is not in the cohort"):
        PatientReport.from_tables(*cohort, "nobody", as_of=AS_OF)


def test_wilson_matches_the_closed_form():
    k, n, z = 6, 20, 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(centre - half, abs=1e-9) and high == pytest.approx(centre + half, abs=1e-9)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_responder_rates_count_only_followed_patients():
    data = pd.DataFrame({"plan": ["a", "a", "a", "b", "b"], "change_pct": [-55, -31, -29, -50, np.nan],
                         "n_assessments": [4, 4, 4, 2, 1]})
    r = responder_rates(data).set_index(["group", "threshold_pct"])
    assert r.loc[("a", 30), ["n", "responders"]].tolist() == [3, 2]
    assert r.loc[("a", 50), "responders"] == 1
    assert r.loc[("b", 30), ["n", "responders", "no_follow_up"]].tolist() == [1, 1, 1]
    assert r.loc[("all", 30), ["n", "responders"]].tolist() == [4, 3]
    assert (r["ci_low"] <= r["rate"]).all() and (r["rate"] <= r["ci_high"]).all()


def test_time_to_response_kaplan_meier_by_hand():
    track = pd.DataFrame({
        "patient_id": ["a"] * 3 + ["b"] * 3 + ["c"] * 2 + ["d"] * 2,
        "weeks_on_plan": [0, 4, 8, 0, 6, 12, 0, 10, 0, 8],
        "change_pct": [0, -10, -40, 0, -35, -50, 0, -5, 0, -30],
    })
    times = response_times(track).set_index("patient_id")
    assert times.loc["a"].tolist() == [8.0, True] and times.loc["b"].tolist() == [6.0, True]
    assert times.loc["c"].tolist() == [10.0, False] and times.loc["d"].tolist() == [8.0, True]
    row, curve = kaplan_meier(times.reset_index(), at=(7, 9))
    # events at 6 (4 at risk), 8 (3 at risk, 2 events), c censored at 10
    assert row["by_7"] == pytest.approx(1 - 3 / 4)
    assert row["by_9"] == pytest.approx(1 - (3 / 4) * (1 / 3))
    assert row["median_weeks"] == 8.0 and row["responded"] == 3 and row["n"] == 4
    assert curve["share"][0] == 0


def test_band_calibration_counts_inside_better_worse():
    track = pd.DataFrame({
        "patient_id": ["a", "a", "b", "b", "c", "d"], "date": pd.to_datetime(["2026-01-01"] * 6),
        "weeks_on_plan": [0, 25, 0, 27, 26, 10], "nrs": [8, 4, 8, 2, 7, 5],
        "band_low": [8, 3.5, 8, 3.5, 4, 5], "band_high": [8, 5, 8, 5, 5.5, 6],
        "position": ["on track", "on track", "on track", "ahead", "behind", "on track"],
    })
    data = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "plan": ["x", "x", "y", "y"]})
    cal = band_calibration(track, data).set_index("group")
    assert cal.loc["all", ["n", "inside", "better", "worse", "not_assessed"]].tolist() == [3, 1, 1, 1, 1]
    assert cal.loc["x", "inside_rate"] == 0.5 and cal.loc["y", "not_assessed"] == 1


def test_cohort_report_sections_and_filters(cohort):
    patients, assessments = cohort
    page = render_cohort_html(patients, assessments, as_of=AS_OF)
    for title in ["Size and follow-up", "Responders", "Percent change per patient", "Observed against expected",
                  "Time to a 30% response", "Modelling assumptions"]:
        assert title in page
    assert page.count("data:image/png;base64,") == 3
    plan = patients["plan"].iloc[0]
    only = CohortReport.from_tables(patients, assessments, as_of=AS_OF, plans=plan)
    assert set(only.summary["plan"]) == {plan}
    with pytest.raises(ReportError, match="cannot group by"):
        CohortReport.from_tables(patients, assessments, as_of=AS_OF, group_by="nrs")
