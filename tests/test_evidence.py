"""The evidence base: schema, sources, and refusal of malformed tables."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from painkit import EvidenceError, UnknownModalityError, load_evidence, parse_plan
from painkit.evidence import EVIDENCE_DIR, Assumptions


@pytest.fixture
def evidence_copy(tmp_path):
    target = tmp_path / "evidence"
    shutil.copytree(EVIDENCE_DIR, target)
    return target


def test_treatment_table_matches_the_article():
    table = load_evidence().treatments.set_index("modality")
    expected = {"pt": (45, 60, "high"), "cbt": (30, 50, "high"), "mbsr": (20, 40, "moderate-high"),
                "scs": (50, 70, "high"), "meds": (15, 30, "moderate")}
    assert set(table.index) == set(expected)
    for modality, (low, high, level) in expected.items():
        assert (table.at[modality, "benefit_low_pct"], table.at[modality, "benefit_high_pct"]) == (low, high)
        assert table.at[modality, "evidence_level"] == level


def test_every_row_names_its_source():
    ev = load_evidence()
    for name, table in [("treatments", ev.treatments), ("arms", ev.arms), ("claims", ev.claims)]:
        assert table["source"].str.len().min() > 0, name
    assert ev.assumption_table["rationale"].str.len().min() > 0


def test_arms_that_refine_a_table_row_stay_inside_or_are_named_assumptions():
    ev = load_evidence()
    table = ev.treatments.set_index("modality")
    for arm in ev.arms.itertuples():
        if isinstance(arm.modality, str):
            row = table.loc[arm.modality]
            inside = row.benefit_low_pct <= arm.low_pct and arm.high_pct <= row.benefit_high_pct
            assert inside or arm.assumptions, arm.arm


def test_assumption_defaults_agree_with_the_arm_table():
    ev = load_evidence()
    arms = ev.arms.set_index("arm")
    a = ev.assumptions
    assert arms.at["mbsr_24wk", "high_pct"] == a.mbsr24_high_pct
    assert arms.at["mbsr_24wk", "low_pct"] == ev.claim("mbsr_intensive_reduction")
    assert arms.at["pne_exercise", "reference_weeks"] == a.pne_reference_weeks
    assert arms.at["vr", "reference_weeks"] == ev.claim("vr_sessions") / a.vr_sessions_per_week
    assert arms.at["opioid", "high_pct"] == a.opioid_reversal_effect_pct
    assert a == Assumptions()  # the dataclass defaults are the CSV's


def test_individual_sd_is_derived_from_the_scs_responder_share():
    from scipy.stats import norm

    ev = load_evidence()
    scs = ev.arms.set_index("arm").loc["scs"]
    mean = (scs.low_pct + scs.high_pct) / 2
    derived = (mean - 50) / norm.ppf(ev.claim("scs_responder_share") / 100)
    assert ev.assumptions.individual_sd_pct == pytest.approx(derived, abs=0.05)


def test_aliases_and_suggestions():
    ev = load_evidence()
    assert ev.resolve("Duloxetine") == "antidepressant"
    assert ev.resolve("graded exercise") == "pt"
    assert parse_plan("pt + education") == ("pne_exercise", "pt")
    with pytest.raises(UnknownModalityError) as info:
        ev.resolve("cbtt")
    assert info.value.suggestions[0] == "cbt"
    assert "pt" in info.value.known and isinstance(info.value, ValueError)


def _edit(path, column, row, value):
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[row, column] = value
    table.to_csv(path, index=False)


@pytest.mark.parametrize(
    "file, column, row, value, fragment",
    [
        ("treatments.csv", "benefit_low_pct", 1, "lots", "row 3, column 'benefit_low_pct': value 'lots'"),
        ("arms.csv", "high_pct", 0, "160", "row 2, column 'high_pct': value '160'"),
        ("arms.csv", "time_course", 2, "sometimes", "row 4, column 'time_course': value 'sometimes'"),
        ("arms.csv", "modality", 0, "yoga", "row 2, column 'modality': value 'yoga'"),
        ("claims.csv", "value", 0, "three", "row 2, column 'value': value 'three'"),
        ("arms.csv", "low_pct", 1, "70", "low_pct must not exceed high_pct"),
    ],
)
def test_malformed_table_is_refused_naming_file_row_column(evidence_copy, file, column, row, value, fragment):
    _edit(evidence_copy / file, column, row, value)
    with pytest.raises(EvidenceError) as info:
        load_evidence(evidence_copy)
    message = str(info.value)
    assert file in message and fragment in message


def test_missing_column_and_missing_file(evidence_copy):
    table = pd.read_csv(evidence_copy / "arms.csv", dtype=str)
    table.drop(columns="source").to_csv(evidence_copy / "arms.csv", index=False)
    with pytest.raises(EvidenceError, match=r"arms.csv: missing column\(s\) source"):
        load_evidence(evidence_copy)
    (evidence_copy / "arms.csv").unlink()
    with pytest.raises(EvidenceError, match="arms.csv: evidence table not found"):
        load_evidence(evidence_copy)


def test_loader_sees_edits(evidence_copy):
    assert load_evidence(evidence_copy).assumptions.combination_rule == "best"
    path = evidence_copy / "assumptions.csv"
    path.write_text(path.read_text().replace("combination_rule,best,", "combination_rule,independent,"))
    assert load_evidence(evidence_copy).assumptions.combination_rule == "independent"
