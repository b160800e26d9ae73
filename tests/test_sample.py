"""The synthetic sample cohort: seeded, labelled synthetic, plausible."""

from __future__ import annotations

from painkit.evidence import load_evidence, parse_plan
from painkit.exchange import read_cohort
from painkit.sample import SAMPLE_COHORT, SAMPLE_SEED, synthetic_cohort, write_sample


def test_committed_csv_is_what_the_generator_makes(tmp_path):
    fresh = write_sample(tmp_path / "cohort.csv", seed=SAMPLE_SEED)
    assert fresh.read_text() == SAMPLE_COHORT.read_text()


def test_labelled_synthetic_in_the_file_and_readme():
    assert SAMPLE_COHORT.read_text().splitlines()[0].startswith("# SYNTHETIC")
    assert "SYNTHETIC" in (SAMPLE_COHORT.parent / "README.md").read_text()


def test_cohort_is_plausible():
    patients, assessments = read_cohort(SAMPLE_COHORT)
    assert 150 <= len(patients) <= 250
    arms = {a for p in patients["plan"] for a in parse_plan(p)}
    assert arms == set(load_evidence().arm_ids)
    assert (patients["plan"].str.contains(r"\+")).sum() >= 20
    base = assessments.merge(patients, on="patient_id")
    base = base[base["date"] == base["plan_start"]]
    assert base["nrs"].between(4, 9).all() and len(base) == len(patients)
    visits = assessments.groupby("patient_id").size()
    assert visits.min() >= 2 and visits.max() <= 13 and (visits <= 4).sum() >= 10  # dropouts
    flags = assessments[["rf_weakness", "rf_bladder", "rf_weight_loss", "rf_fever"]].any(axis=1)
    assert 1 <= flags.sum() <= 10
    assert assessments["mood_flag"].sum() > 0
    done = assessments["exercise_sessions_done"] < assessments["exercise_sessions_planned"]
    assert done.sum() > 0
    last = assessments.groupby("patient_id").last()
    fell = (last["nrs"] < base.set_index("patient_id")["nrs"]).mean()
    assert 0.6 < fell < 1.0  # most improve, not all


def test_seeded():
    a1 = synthetic_cohort(10, seed=3)[1]
    a2 = synthetic_cohort(10, seed=3)[1]
    a3 = synthetic_cohort(10, seed=4)[1]
    assert a1.equals(a2) and not a1.equals(a3)


def test_small_cohorts_work():
    import pytest

    from painkit.errors import InputError

    for n in (1, 2, 3, 4):
        patients, assessments = synthetic_cohort(n, seed=7)
        assert len(patients) == n and set(assessments["patient_id"]) == set(patients["patient_id"])
        flagged = assessments[["rf_weakness", "rf_bladder", "rf_weight_loss", "rf_fever"]].any(axis=1)
        assert 0 <= flagged.sum() <= n
    for bad in (0, -1, 2.5):
        with pytest.raises(InputError, match="n_patients"):
            synthetic_cohort(bad)
