"""The personal plan: the article's 8 steps as a dated schedule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from painkit.errors import InputError, UnknownModalityError
from painkit.plan import PLAN_COLUMNS, personal_plan, remeasure_dates

START = pd.Timestamp("2026-01-05")


def test_columns_order_and_steps():
    p = personal_plan("cbt", START)
    assert tuple(p.columns) == PLAN_COLUMNS
    assert p["date"].is_monotonic_increasing
    first = p[p.week == 0]
    assert list(first["step"][:3]) == [1, 2, 3]  # assessment, baseline metrics, education first
    assert "red flags" in first.iloc[0]["detail"] and "six-minute walk" in first.iloc[1]["detail"]
    assert p[p.step == 4]["week"].min() == 1  # exercise after education
    assert set(p["step"]) == {1, 2, 3, 4, 5, 7, 8}  # no medication in the plan -> no step 6


def test_graded_exercise_grows_ten_percent_a_week_to_a_ceiling():
    p = personal_plan("pt", START, starting_load=30, max_load=60, weeks=12)
    loads = p[p.step == 4]["load"].to_numpy()
    assert loads[:4] == pytest.approx([30, 33, 36.3, 39.93])
    # 30 * 1.1^7 = 58.46, 30 * 1.1^8 = 64.3 -> capped at 60 from week 9
    assert loads[7] == pytest.approx(58.46, abs=0.01) and loads[8] == 60 and loads[-1] == 60
    assert p[p.step != 4]["load"].isna().all()
    assert p[p.step == 4]["date"].tolist() == [START + pd.Timedelta(weeks=w) for w in range(1, 13)]


def test_cbt_block_eight_weeks_and_mbsr_intensive_24():
    p = personal_plan("cbt", START)
    assert p[p.step == 5]["week"].tolist() == list(range(1, 9))
    m = personal_plan("mbsr24", START)
    assert len(m[m.step == 5]) == 24 and "session 24 of 24" in m[m.step == 5].iloc[-1]["detail"]


def test_medication_review_and_four_week_follow_up_only_with_medication():
    p = personal_plan("pt+duloxetine", START)
    meds = p[p.step == 6]
    assert meds["week"].tolist() == [0, 4]
    assert "no dosing advice" in meds.iloc[0]["detail"] and "follow-up" in meds.iloc[1]["detail"]
    o = personal_plan("pt+opioid", START)
    assert "bridge only" in o[o.step == 6].iloc[0]["detail"]
    g = personal_plan("pt+gabapentin", START, weeks=30)
    assert g[g.step == 6]["week"].tolist() == [0, 4, 27]


def test_advanced_review_at_three_months_and_remeasures_every_four_weeks():
    p = personal_plan("pt", START)
    review = p[p.step == 7]
    assert review["week"].tolist() == [13] and "above 5/10" in review.iloc[0]["detail"]
    assert p[p.step == 8]["week"].tolist() == [4, 8, 12, 16, 20, 24]
    assert list(remeasure_dates(START, weeks=8)) == [START + pd.Timedelta(weeks=4), START + pd.Timedelta(weeks=8)]


def test_education_note_depends_on_plan():
    assert "is in the plan" in personal_plan("pt+pne_exercise", START).iloc[2]["detail"]
    assert "pitfall" in personal_plan("pt", START).iloc[2]["detail"]


def test_no_dosing_advice():
    text = " ".join(personal_plan("pt+duloxetine+gabapentin+opioid+cbt", START)["detail"]).lower()
    assert not re.search(r"\bmg\b|\bmilligram|\btablet|\bdose\b|\bdoses\b", text)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"plan": "acupuncture"}, UnknownModalityError, "unknown treatment 'acupuncture'"),
        ({"start": "someday"}, InputError, "start 'someday' is not a date"),
        ({"starting_load": -5}, InputError, "starting_load -5"),
        ({"starting_load": 100, "max_load": 50}, InputError, "max_load 50"),
        ({"weeks": 0}, InputError, "weeks 0"),
        ({"weeks": 2.5}, InputError, "weeks 2.5"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"plan": "pt", "start": START, **kwargs}
    plan, start = args.pop("plan"), args.pop("start")
    with pytest.raises(error, match=match):
        personal_plan(plan, start, **args)


def test_default_load_comes_from_the_rules_file():
    p = personal_plan("pt", START, weeks=2)
    assert p[p.step == 4]["load"].tolist() == pytest.approx([60, 66])
    assert np.isnan(p.iloc[0]["load"])
