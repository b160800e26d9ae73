"""The per-patient form of :func:`painkit.tracking.summarize_cohort`, written plainly.

One patient at a time, with Python scalars and loops: the readable statement of the tracking
rules, the reference the vectorised cohort form is tested against (they must agree on random
data) and the baseline ``bench/bench_tracking.py`` times a groupby-apply of.
"""

from __future__ import annotations

import math

import pandas as pd

from .tracking import ALERTS, RED_FLAG_CODES, SUMMARY_COLUMNS, _as_of, load_tracking_rules

__all__ = ["summarize_patient", "summarize_by_patient"]

_EPS = 1e-9


def _truthy(value) -> bool:
    return value is not None and not pd.isna(value) and bool(value)


def _category(base: float, nrs: float, rules) -> str:
    if nrs > base:
        return "worse"
    if base == 0:
        return "no change"
    reduction = 100 * (base - nrs) / base
    if reduction >= rules.immpact_substantial_pct - _EPS:
        return "substantial"
    if reduction >= rules.immpact_moderate_pct - _EPS:
        return "moderate"
    if reduction >= rules.immpact_minimal_pct - _EPS:
        return "minimal"
    return "no change"


def summarize_patient(patient, assessments: pd.DataFrame, *, as_of=None, rules=None, combine=None,
                      assumptions=None, evidence=None) -> dict:
    """The summary row of one patient (same keys and meaning as :func:`summarize_cohort`).

    Parameters
    ----------
    patient : mapping
        One row of a validated patients table (``patient_id``, ``plan``, ``plan_start``).
    assessments : pandas.DataFrame
        That patient's validated assessments (any order).

    Returns
    -------
    dict
        Keyed by :data:`~painkit.tracking.SUMMARY_COLUMNS`.
    """
    from .evidence import load_evidence
    from .expectations import expected_band

    rules = rules or load_tracking_rules()
    evidence = evidence or load_evidence()
    today = _as_of(as_of)
    kinds = dict(zip(evidence.arms["arm"], evidence.arms["kind"]))
    start = pd.Timestamp(patient["plan_start"])
    plan = str(patient["plan"])
    rows = assessments[assessments["date"] <= today].sort_values("date")
    records = rows.to_dict(orient="records")
    out = dict.fromkeys(SUMMARY_COLUMNS)
    out.update(patient_id=patient["patient_id"], plan=plan, plan_start=start, n_assessments=len(records),
               next_due=start, stalled=False, urgent=False, n_alerts=0, alerts="")
    nan = float("nan")
    if not records:
        out.update(baseline_date=pd.NaT, latest_date=pd.NaT, baseline_nrs=nan, latest_nrs=nan, weeks_on_plan=nan,
                   change_points=nan, change_pct=nan, expected=nan, band_low=nan, band_high=nan,
                   category=None, reversal=None, position=None)
        return out
    first, latest = records[0], records[-1]
    base, nrs = float(first["nrs"]), float(latest["nrs"])
    weeks = (latest["date"] - start).days / 7
    reduction = 100 * (base - nrs) / base if base > 0 else nan
    band = expected_band([base], [plan], [weeks], combine=combine, assumptions=assumptions, evidence=evidence).iloc[0]
    tol = rules.band_tolerance_points
    position = "ahead" if nrs < band["low"] - tol - _EPS else "behind" if nrs > band["high"] + tol + _EPS else "on track"
    # reversal: the run of NRS 0 that ends at the latest assessment
    zero_from = None
    for r in reversed(records):
        if r["nrs"] != 0:
            break
        zero_from = r["date"]
    if zero_from is not None and (latest["date"] - zero_from).days >= rules.reversal_complete_weeks * 7 - _EPS:
        reversal = "complete"
    elif reduction >= rules.reversal_significant_pct - _EPS:
        reversal = "significant"
    elif reduction >= rules.immpact_minimal_pct - _EPS:
        reversal = "partial"
    else:
        reversal = "none"
    # stall
    window = math.ceil(rules.stall_window_weeks * 7 - _EPS)
    earlier = [r for r in records if (latest["date"] - r["date"]).days >= window]
    at_target = nrs == 0 or reduction >= rules.stall_target_pct - _EPS
    stalled = bool(earlier) and (earlier[-1]["nrs"] - nrs) < rules.stall_min_points - _EPS and not at_target

    def arms_of(r):
        th = r.get("therapies")
        label = th if isinstance(th, str) and th else plan
        return set(label.split("+"))

    current = arms_of(latest)
    ever = set(plan.split("+")).union(*(arms_of(r) for r in records))
    gaba_from = None
    for r in reversed(records):
        if "gabapentinoid" not in arms_of(r):
            break
        gaba_from = r["date"]
    due = latest["date"] + pd.Timedelta(days=round(rules.remeasure_weeks * 7))
    planned, done = latest.get("exercise_sessions_planned"), latest.get("exercise_sessions_done")
    fired = [code for col, code in RED_FLAG_CODES.items() if _truthy(latest.get(col))]
    if weeks >= rules.advanced_review_weeks - _EPS and nrs > rules.advanced_review_nrs:
        fired.append("advanced_options")
    if gaba_from is not None and (latest["date"] - gaba_from).days > rules.gabapentinoid_review_weeks * 7 + _EPS:
        fired.append("gabapentinoid_review")
    if stalled:
        fired.append("stalled")
    if any(kinds[a] == "opioid" for a in current):
        fired.append("opioid_bridge")
    if current and all(kinds[a] in ("medication", "opioid") for a in current):
        fired.append("medication_only")
    if not any(kinds[a] == "education" for a in ever):
        fired.append("no_education")
    if _truthy(latest.get("mood_flag")) and not any(kinds[a] in ("psychological", "mindfulness") for a in current):
        fired.append("mood_no_psych")
    if (planned is not None and not pd.isna(planned) and planned > 0 and done is not None and not pd.isna(done)
            and done < rules.missed_exercise_ratio * planned - _EPS):
        fired.append("missed_exercise")
    if today > due:
        fired.append("remeasure_overdue")
    fired.sort(key=list(ALERTS).index)
    out.update(
        baseline_date=first["date"], baseline_nrs=base, latest_date=latest["date"], latest_nrs=nrs,
        weeks_on_plan=weeks, change_points=nrs - base, change_pct=-reduction + 0.0 if base > 0 else nan,
        category=_category(base, nrs, rules), reversal=reversal, expected=float(band["expected"]),
        band_low=float(band["low"]), band_high=float(band["high"]), position=position, stalled=bool(stalled),
        urgent=any(ALERTS[c][0] == "urgent" for c in fired), n_alerts=len(fired),
        alerts="; ".join(ALERTS[c][1] for c in fired), next_due=due,
    )
    return out


def summarize_by_patient(patients: pd.DataFrame, assessments: pd.DataFrame, **options) -> pd.DataFrame:
    """:func:`summarize_patient` by a per-patient groupby-apply (inputs already validated).

    The slow, obvious form of :func:`~painkit.tracking.summarize_cohort`, kept as its reference.
    """
    by_id = patients.set_index("patient_id", drop=False)
    applied = assessments.groupby("patient_id", sort=False)[list(assessments.columns)].apply(
        lambda g: pd.Series(summarize_patient(by_id.loc[g.name], g, **options))
    )
    done = set(applied.index)
    missing = [summarize_patient(by_id.loc[p], assessments.iloc[0:0], **options)
               for p in patients["patient_id"] if p not in done]
    frame = pd.concat([applied.reset_index(drop=True), pd.DataFrame(missing)], ignore_index=True)
    order = pd.Index(frame["patient_id"]).get_indexer(patients["patient_id"])
    return frame.iloc[order][list(SUMMARY_COLUMNS)].reset_index(drop=True)
