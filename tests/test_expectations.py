"""The estimator against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from painkit import (
    EmptyPlanError,
    InputError,
    UnknownModalityError,
    estimate,
    estimate_cohort,
    expectations_text,
    expected_band,
    simulate_reductions,
    trajectory,
)
from painkit.evidence import load_evidence

SD = 39.5


def phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def shape(t, ref=26.0, c=3.0):
    tau = ref / c
    return 1.0 if t >= ref else (1 - math.exp(-t / tau)) / (1 - math.exp(-ref / tau))


def test_article_example_baseline_7_cbt_gives_about_4():
    e = estimate(7, "cbt")
    assert e.expected == pytest.approx(7 * (1 - 0.40))  # midpoint of 30-50%
    assert (e.low, e.high) == (pytest.approx(3.5), pytest.approx(4.9))
    assert round(e.expected) == 4
    assert "current level 7, expected level 4" in e.headline()
    assert e.p30 == pytest.approx(phi((40 - 30) / SD))
    assert e.p50 == pytest.approx(phi((40 - 50) / SD))


@pytest.mark.parametrize(
    "rule, mid, low, high",
    [
        ("best", 0.525, 0.45, 0.60),
        ("independent", 1 - 0.475 * 0.60, 1 - 0.55 * 0.70, 1 - 0.40 * 0.50),
        ("damped", 0.525 + 0.5 * (1 - 0.475 * 0.60 - 0.525), 0.45 + 0.5 * (1 - 0.55 * 0.7 - 0.45), 0.60 + 0.5 * (0.8 - 0.6)),
    ],
)
def test_combination_rules_for_pt_and_cbt(rule, mid, low, high):
    e = estimate(8, ["pt", "cbt"], combine=rule)
    assert e.combine == rule
    assert e.reduction_pct == pytest.approx(100 * mid)
    assert e.expected == pytest.approx(8 * (1 - mid))
    assert e.low == pytest.approx(8 * (1 - high))
    assert e.high == pytest.approx(8 * (1 - low))
    sens = e.sensitivity.set_index("rule")
    assert sens.at[rule, "expected"] == pytest.approx(e.expected)
    assert any("combination rule" in note for note in e.notes)


def test_trajectory_follows_the_articles_time_course():
    t = trajectory(10, "pt", horizon_weeks=30).set_index("week")
    mid = 0.525
    for week in (4, 6, 13, 26, 30):
        assert t.at[week, "expected"] == pytest.approx(10 * (1 - mid * shape(week)))
    # measurable drop within 4-6 weeks, most of the effect by 3 months, all of it by 6
    assert 0.35 < shape(4) < shape(6) < 0.55 and shape(13) > 0.8
    assert t.at[0, "expected"] == 10 and t["expected"].is_monotonic_decreasing


def test_gabapentinoid_benefit_wanes_after_six_months():
    t = trajectory(8, "gabapentinoid", horizon_weeks=52).set_index("week")
    mid = 0.225
    assert t.at[26, "expected"] == pytest.approx(8 * (1 - mid))
    assert t.at[52, "expected"] == pytest.approx(8 * (1 - mid * 0.5))  # one 26-week half-life
    d = trajectory(8, "duloxetine", horizon_weeks=52).set_index("week")
    assert d.at[52, "expected"] == pytest.approx(8 * (1 - mid))


def test_options_the_evidence_distinguishes():
    assert estimate(10, "mbsr").reduction_pct == pytest.approx(30)  # 8-week: 20-40%
    assert estimate(10, "mbsr24").reduction_pct == pytest.approx(47.5)  # >40%, to 55% assumed
    assert estimate(10, "education").reduction_pct == pytest.approx(25)
    vr = trajectory(10, "vr", horizon_weeks=12).set_index("week")
    assert vr.at[10, "reduction_pct"] == pytest.approx(38)  # after 10 weekly sessions
    assert estimate(6, "opioid").expected == 6


def test_baseline_zero_has_no_chance_to_compute():
    e = estimate(0, "cbt")
    assert e.expected == 0 and math.isnan(e.p30) and math.isnan(e.p50)
    assert e.to_dict()["p30"] is None


def test_monte_carlo_agrees_with_the_closed_form():
    draws = simulate_reductions("pt+cbt", 400_000, seed=7)
    e = estimate(7, "pt+cbt")
    assert (draws >= 30).mean() == pytest.approx(e.p30, abs=0.005)
    assert (draws >= 50).mean() == pytest.approx(e.p50, abs=0.005)
    assert draws.max() <= 100
    assert np.array_equal(draws, simulate_reductions("pt+cbt", 400_000, seed=7))


def test_cohort_form_equals_the_single_form():
    rng = np.random.default_rng(3)
    arms = load_evidence().arm_ids
    plans = ["+".join(sorted(rng.choice(arms, size=rng.integers(1, 4), replace=False))) for _ in range(60)]
    data = pd.DataFrame({"patient_id": range(60), "baseline": rng.integers(0, 11, 60), "plan": plans})
    for rule in ("best", "independent", "damped"):
        out = estimate_cohort(data, combine=rule)
        assert list(out.index) == list(data.index)
        for row in out.itertuples():
            single = estimate(row.baseline, row.plan, combine=rule)
            assert (row.expected, row.low, row.high) == pytest.approx((single.expected, single.low, single.high))
            assert row.plan_arms == single.plan_label
            if row.baseline:
                assert (row.p30, row.p50) == pytest.approx((single.p30, single.p50))


def test_expected_band_matches_the_trajectory():
    t = trajectory(7, "pt+cbt", horizon_weeks=26)
    band = expected_band(np.full(27, 7.0), "pt+cbt", t["week"])
    assert np.allclose(band["expected"], t["expected"]) and np.allclose(band["low"], t["low"])


def test_bad_input_is_typed_and_named():
    for bad in (-1, 10.5, "seven", None, float("nan"), True):
        with pytest.raises(InputError, match="baseline"):
            estimate(bad, "cbt")
    with pytest.raises(EmptyPlanError):
        estimate(5, [])
    with pytest.raises(EmptyPlanError):
        estimate(5, " + ")
    with pytest.raises(UnknownModalityError, match="'yoga'.*Known: pt, cbt"):
        estimate(5, "yoga")
    data = pd.DataFrame({"baseline": [5, 12], "plan": ["cbt", "cbt"]})
    with pytest.raises(InputError, match=r"row 1, column 'baseline': value 12"):
        estimate_cohort(data)
    data = pd.DataFrame({"baseline": [5, 6], "plan": ["cbt", "pt+tai chi"]})
    with pytest.raises(UnknownModalityError, match=r"row 1, column 'plan'"):
        estimate_cohort(data)
    for error in (InputError, UnknownModalityError, EmptyPlanError):
        assert issubclass(error, ValueError)


def test_realistic_expectations_text():
    assert expectations_text() == (
        "Realistic expectations: According to clinical studies, 45-60% pain reduction is typical "
        "for physical therapy at 6 months, with 30-50% for CBT, and 50-70% for SCS. Your estimated "
        "reduction is based on evidence from the article."
    )
    text = expectations_text("cbt+mbsr24")
    assert "30-50% pain reduction is typical for CBT" in text and "40-55%" in text
    assert "'best' combination rule" in text


def test_to_dict_is_json_ready():
    import json

    out = estimate(7, "cbt", horizon_weeks=8).to_dict()
    for key in ("expected", "low", "high", "reduction_pct", "p30", "p50", "trajectory", "notes"):
        assert key in out
    assert len(out["trajectory"]) == 9
    json.dumps(out)
