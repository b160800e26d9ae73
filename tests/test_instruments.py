"""Instruments: hand-worked scores, missing-item rules, the registry, bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from painkit.errors import InputError, ValidationError
from painkit.instruments import (
    INSTRUMENTS,
    bpi_interference,
    bpi_severity,
    nrs_score,
    peg_score,
    register_instrument,
    score_instruments,
    severity_band,
    six_minute_walk,
)
from painkit.tracking import TrackingRules

NEW_COLUMNS = ["bpi_severity", "bpi_interference", "bpi_severity_band", "peg_score", "walk_predicted_m",
               "walk_lln_m", "walk_pct_predicted", "walk_note"]


def test_six_minute_walk_man_by_hand():
    # 7.57*175 - 5.02*60 - 1.76*80 - 309 = 1324.75 - 301.2 - 140.8 - 309 = 573.75 m
    r = six_minute_walk(480, sex="male", age=60, height_cm=175, weight_kg=80)
    assert r["walk_predicted_m"] == pytest.approx(573.75)
    assert r["walk_lln_m"] == pytest.approx(573.75 - 153)
    assert r["walk_pct_predicted"] == pytest.approx(100 * 480 / 573.75)
    assert r["walk_note"] == ""


def test_six_minute_walk_woman_by_hand():
    # 2.11*160 - 2.29*70 - 5.78*50 + 667 = 337.6 - 160.3 - 289 + 667 = 555.3 m
    r = six_minute_walk(444, sex="female", age=50, height_cm=160, weight_kg=70)
    assert r["walk_predicted_m"] == pytest.approx(555.3)
    assert r["walk_lln_m"] == pytest.approx(555.3 - 139)
    assert r["walk_pct_predicted"] == pytest.approx(79.957, abs=1e-3)


@pytest.mark.parametrize("age, noted", [(39, True), (40, False), (80, False), (81, True)])
def test_six_minute_walk_age_range_note(age, noted):
    note = six_minute_walk(400, sex="male", age=age, height_cm=175, weight_kg=80)["walk_note"]
    assert ("outside 40-80" in note) is noted
    if noted:
        assert f"age {age}" in note


def test_six_minute_walk_rejects_unknown_sex():
    with pytest.raises(InputError, match="sex 'x'"):
        six_minute_walk(400, sex="x", age=50, height_cm=170, weight_kg=70)


def test_bpi_severity_and_missing_item_rule():
    assert bpi_severity(8, 4, 6, 5) == pytest.approx(5.75)
    assert bpi_severity(8, None, 6, 4) == pytest.approx(6.0)      # 3 of 4: scored (default rule)
    assert math.isnan(bpi_severity(8, None, None, 4))               # 2 of 4: not scored
    strict = TrackingRules().with_(bpi_severity_min_items=4)      # the rule is configurable
    assert math.isnan(bpi_severity(8, None, 6, 4, rules=strict))


def test_bpi_interference_needs_four_of_seven():
    assert bpi_interference(6, 5, 7, None, None, 4, None) == pytest.approx(5.5)
    assert bpi_interference(1, 2, 3, 4, 5, 6, 7) == pytest.approx(4.0)
    assert math.isnan(bpi_interference(6, 5, 7))
    with pytest.raises(InputError, match="7 items"):
        bpi_interference(*range(8))


def test_item_out_of_range_or_not_whole():
    with pytest.raises(InputError, match="bpi_worst 11"):
        bpi_severity(11, 4, 6, 5)
    with pytest.raises(InputError, match="peg_pain 6.5"):
        peg_score(6.5, 4, 4)


def test_severity_bands_eppoc():
    bands = severity_band([0, 4, 4.5, 5, 6, 6.75, 7, 10])
    assert list(bands) == ["mild", "mild", "mild", "moderate", "moderate", "moderate", "severe", "severe"]


def test_peg():
    assert peg_score(7, 6, 5) == pytest.approx(6.0)
    assert math.isnan(peg_score(7, None, 5))
    assert peg_score(7, None, 5, rules=TrackingRules().with_(peg_min_items=2)) == pytest.approx(6.0)


def test_nrs_whole_numbers_only():
    assert nrs_score("7") == 7
    for bad in (7.5, -1, 11, "seven", True):
        with pytest.raises(InputError, match="whole number from 0 to 10"):
            nrs_score(bad)


def frames():
    assessments = pd.DataFrame({
        "patient_id": ["m", "m", "w"],
        "date": ["2026-01-05", "2026-02-02", "2026-01-05"],
        "nrs": [6, 5, 7],
        "bpi_worst": [8, 7, 9], "bpi_least": [4, None, 5], "bpi_average": [6, None, 7], "bpi_now": [5, 5, 8],
        "bpi_activity": [6, 5, 7], "bpi_mood": [5, 4, 6], "bpi_walking": [7, 6, None], "bpi_work": [6, 5, None],
        "peg_pain": [6, 5, 7], "peg_enjoyment": [6, 5, 7], "peg_activity": [6, 5, None],
        "walk_m": [480, 500, 300],
    })
    patients = pd.DataFrame({
        "patient_id": ["m", "w"], "sex": ["male", "female"], "birth_year": [1966, 1991],
        "height_cm": [175, 160], "weight_kg": [80, 70], "plan": ["pt", "cbt"],
        "plan_start": ["2026-01-05", "2026-01-05"],
    })
    return patients, assessments


def test_score_instruments_vectorised():
    patients, assessments = frames()
    out = score_instruments(assessments, patients=patients)
    assert list(out.columns[-len(NEW_COLUMNS):]) == NEW_COLUMNS
    assert len(out) == 3 and list(out["patient_id"]) == ["m", "m", "w"]
    assert out["bpi_severity"].tolist()[0] == pytest.approx(5.75)
    assert math.isnan(out["bpi_severity"][1])  # 2 of 4 severity items
    assert out["bpi_severity"][2] == pytest.approx(7.25) and out["bpi_severity_band"][2] == "severe"
    assert out["bpi_interference"].tolist()[:2] == pytest.approx([6.0, 5.0])
    assert math.isnan(out["bpi_interference"][2])  # 2 of 7
    assert out["peg_score"][0] == pytest.approx(6) and math.isnan(out["peg_score"][2])
    # age = assessment year - birth year: 60 for m, 35 for w (outside 40-80, noted)
    assert out["walk_predicted_m"][0] == pytest.approx(573.75)
    woman = 2.11 * 160 - 2.29 * 70 - 5.78 * 35 + 667
    assert out["walk_predicted_m"][2] == pytest.approx(woman)
    assert out["walk_lln_m"][2] == pytest.approx(woman - 139)
    assert out["walk_pct_predicted"][2] == pytest.approx(100 * 300 / woman)
    assert out["walk_note"][0] == "" and "age 35" in out["walk_note"][2]


def test_score_instruments_without_patients_has_no_prediction():
    _, assessments = frames()
    out = score_instruments(assessments)
    assert out["walk_predicted_m"].isna().all()
    assert (out["walk_note"] == "no prediction: sex, age, height or weight missing").all()


def test_score_instruments_bad_item_names_patient_date_field_value():
    patients, assessments = frames()
    assessments.loc[1, "bpi_mood"] = 12
    with pytest.raises(ValidationError) as err:
        score_instruments(assessments, patients=patients)
    p = err.value.problems.iloc[0]
    assert (p.patient_id, p.column, p.value) == ("m", "bpi_mood", 12)
    assert pd.Timestamp(p.date) == pd.Timestamp("2026-02-02")
    assert "'m'" in str(err.value) and "2026-02-02" in str(err.value)


def test_registry_adds_an_instrument_with_one_function_and_one_line():
    @register_instrument("nrs_squared", columns=("nrs_sq",), source="test only")
    def nrs_squared(data, *, rules):
        return pd.DataFrame({"nrs_sq": data["nrs"].astype(float) ** 2}, index=data.index)

    try:
        _, assessments = frames()
        out = score_instruments(assessments)
        assert out["nrs_sq"].tolist() == [36, 25, 49]
        assert INSTRUMENTS["nrs_squared"].source == "test only"
    finally:
        del INSTRUMENTS["nrs_squared"]
    assert "nrs_sq" not in score_instruments(frames()[1]).columns
    assert list(INSTRUMENTS) == ["bpi", "peg", "six_minute_walk"]
