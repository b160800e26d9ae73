"""Alerts: what the recorded data calls for, each with its reason. Never dosing advice.

The rules (levels ``urgent``, ``discuss``, ``review``, ``advice``, shown in that order; every
threshold a field of :class:`~painkit.rules.TrackingRules`), all read at the latest assessment
on or before ``as_of``, with "active treatments" that assessment's ``therapies`` or, when
empty, the plan:

- a red flag answered yes (sudden weakness, loss of bladder control, unexplained weight loss,
  fever with pain): urgent care, always first (the article);
- NRS above 5 at 13 weeks (3 months) or later: discuss SCS or radiofrequency ablation with a
  specialist (the article, plan step 7);
- a gabapentinoid active for more than 26 weeks: review (benefit wanes after six months);
- progress stalled (see :mod:`painkit.tracking`): review, tweak exercise or add mindfulness;
- an opioid: a bridge only;
- the article's pitfalls the data shows: medication-only treatment, no education step in the
  plan or any assessment, mood flagged with no CBT or MBSR, fewer than 80% of planned exercise
  sessions done (an assumed threshold);
- a re-measure overdue at ``as_of`` (every 4 weeks).

The computation is vectorised in :mod:`painkit.tracking`; this module holds the fixed texts
and builds the alert table with the recorded values behind each alert.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ALERTS", "ALERT_CODES", "ALERT_LEVELS", "RED_FLAG_CODES", "alerts"]

ALERT_LEVELS = ("urgent", "discuss", "review", "advice")

#: code -> (level, message). The order is the display order (urgent first).
ALERTS = {
    "red_flag_weakness": ("urgent", "Red flag: sudden weakness. Seek urgent medical care."),
    "red_flag_bladder": ("urgent", "Red flag: loss of bladder control. Seek urgent medical care."),
    "red_flag_weight_loss": ("urgent", "Red flag: unexplained weight loss. Seek urgent medical care."),
    "red_flag_fever": ("urgent", "Red flag: fever with pain. Seek urgent medical care."),
    "advanced_options": ("discuss", "Pain remains above 5/10 after 3 months on the plan: discuss spinal cord "
                                    "stimulation or radiofrequency ablation with a specialist."),
    "gabapentinoid_review": ("review", "Gabapentinoid for more than 6 months: review with the prescriber whether it "
                                       "still helps (its benefit wanes for many; any taper is planned with active rehab)."),
    "stalled": ("review", "Progress has stalled: consider, with the care team, tweaking exercise intensity or adding "
                          "a mindfulness session."),
    "opioid_bridge": ("advice", "Opioid in the treatment: a bridge only while non-drug treatments take hold."),
    "medication_only": ("advice", "Medication-only treatment: medicines alone rarely reverse chronic pain; "
                                  "active treatments (exercise, CBT or MBSR) are needed."),
    "no_education": ("advice", "No education step: pain neuroscience education comes first, or fear-avoidance persists."),
    "mood_no_psych": ("advice", "Mood flagged with no CBT or MBSR: depression and anxiety amplify pain; address them early."),
    "missed_exercise": ("advice", "Missed exercise sessions: consistency provides the stimulus neuroplastic change needs."),
    "remeasure_overdue": ("advice", "Re-measure overdue: pain scores are re-measured every 4 weeks."),
}
RED_FLAG_CODES = {"rf_weakness": "red_flag_weakness", "rf_bladder": "red_flag_bladder",
                  "rf_weight_loss": "red_flag_weight_loss", "rf_fever": "red_flag_fever"}
ALERT_CODES = list(ALERTS)


def _iso(days) -> pd.Series:
    days = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype(object)  # YYYY-MM-DD, no pandas per call
    text[np.isnat(days)] = np.nan
    return pd.Series(text, dtype=object)


def alerts(patients, assessments, *, as_of=None, rules=None, validate: bool = True) -> pd.DataFrame:
    """Every alert, one row each, urgent first; each with its reason.

    Parameters
    ----------
    patients, assessments : pandas.DataFrame
        Tables of the :mod:`painkit.schema` contract (validated first unless ``validate=False``).
    as_of : date, optional
        The date the tables are read at (default today); later assessments are left out.
    rules : TrackingRules, optional
        Default: ``data/evidence/tracking_rules.csv``.
    validate : bool, default True
        ``False`` only for tables already validated (as the store returns them).

    Returns
    -------
    pandas.DataFrame
        Columns ``patient_id``, ``date`` (the latest assessment the alert rests on; plan start
        for a patient not yet assessed), ``level`` (:data:`ALERT_LEVELS`), ``code`` (a key of
        :data:`ALERTS`), ``message`` and ``reason`` (the recorded values behind it). Sorted by
        level (urgent first), then patient, then code order. No dosing advice.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"patient_id": ["a"], "plan": ["pne_exercise+opioid"], "plan_start": ["2026-01-05"]})
    >>> a = pd.DataFrame({"patient_id": ["a"], "date": ["2026-01-05"], "nrs": [7], "rf_weakness": ["yes"]})
    >>> alerts(p, a, as_of="2026-01-06")[["level", "code"]]
        level               code
    0  urgent  red_flag_weakness
    1  advice      opioid_bridge
    """
    from .tracking import _core, _patient_state

    c = _core(patients, assessments, as_of=as_of, rules=rules, combine=None, assumptions=None, validate=validate)
    return _alerts_frame(c, _patient_state(c))


def _alerts_frame(c, s) -> pd.DataFrame:
    """The alerts table from the tracking core ``c`` and its per-patient state ``s``."""
    from .tracking import _days

    rules = c["rules"]
    pid = c["pid"]
    date_day = np.where(c["has"], s["latest_day"], c["start_day"])
    inv = {v: k for k, v in s["bit"].items()}

    def labels(bits):
        return pd.Series([("+".join(inv[1 << i] for i in range(len(inv)) if b >> i & 1) or "none") for b in bits])

    def fmt(values):
        return pd.Series(values).map(lambda v: f"{v:g}")

    parts = []
    for code in ALERT_CODES:
        hit = np.flatnonzero(s["flags"][code])
        if not len(hit):
            continue
        date = _iso(date_day[hit])
        if code.startswith("red_flag"):
            col = [k for k, v in RED_FLAG_CODES.items() if v == code][0]
            reason = col + " answered yes on " + date
        elif code == "advanced_options":
            reason = ("NRS " + fmt(s["latest_nrs"][hit]) + " > " + f"{rules.advanced_review_nrs:g}" + " after "
                      + fmt(np.round(s["weeks"][hit], 1)) + f" weeks on the plan (rule: from {rules.advanced_review_weeks:g} weeks)")
        elif code == "gabapentinoid_review":
            reason = ("gabapentinoid active since " + _iso(s["gaba_from"][hit].astype(np.int64)) + " ("
                      + fmt(np.round((s["latest_day"][hit] - s["gaba_from"][hit]) / 7, 1))
                      + f" weeks; rule: over {rules.gabapentinoid_review_weeks:g} weeks)")
        elif code == "stalled":
            ref = s["ref"][hit]
            ref_date = _iso(c["day"][ref])
            reason = ("NRS " + fmt(s["latest_nrs"][hit]) + " on " + date + " vs " + fmt(c["nrs"][ref]) + " on " + ref_date
                      + f": fell by less than {rules.stall_min_points:g} point(s) over >= {rules.stall_window_weeks:g} weeks, "
                      + f"short of a {rules.stall_target_pct:g}% reduction")
        elif code in ("opioid_bridge", "medication_only"):
            reason = "active treatments on " + date + ": " + labels(s["current"][hit])
        elif code == "no_education":
            reason = "no education arm (pne_exercise) in the plan or any assessment's therapies"
        elif code == "mood_no_psych":
            reason = "mood flagged on " + date + "; active treatments: " + labels(s["current"][hit])
        elif code == "missed_exercise":
            reason = (fmt(s["done"][hit]) + " of " + fmt(s["planned"][hit]) + " planned sessions done by " + date
                      + f" (below {100 * rules.missed_exercise_ratio:g}%)")
        else:  # remeasure_overdue
            reason = ("re-measure was due " + _iso(s["due"][hit]) + f" (every {rules.remeasure_weeks:g} weeks); as of "
                      + str(c["today"].date()))
        level, message = ALERTS[code]
        m = len(hit)
        parts.append({
            "pos": hit, "rank": np.full(m, ALERT_LEVELS.index(level)), "k": np.full(m, ALERT_CODES.index(code)),
            "patient_id": np.asarray(pid[hit], dtype=object), "date": _days(date_day[hit]),
            "level": np.full(m, level, dtype=object), "code": np.full(m, code, dtype=object),
            "message": np.full(m, message, dtype=object), "reason": np.asarray(reason, dtype=object)
            if not isinstance(reason, str) else np.full(m, reason, dtype=object),
        })
    if not parts:
        # the dtypes a table with rows gets (text columns are inferred as str)
        return pd.DataFrame({"patient_id": pd.Series(dtype="str"), "date": pd.Series(dtype="datetime64[ns]"),
                             "level": pd.Categorical([], ALERT_LEVELS, ordered=True),
                             **{k: pd.Series(dtype="str") for k in ("code", "message", "reason")}})
    # one table from the arrays of every code, urgent first, then patient, then code order
    col = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    order = np.lexsort((col["k"], col["pos"], col["rank"]))
    return pd.DataFrame({
        "patient_id": col["patient_id"][order], "date": col["date"][order],
        "level": pd.Categorical(col["level"][order], ALERT_LEVELS, ordered=True),
        "code": col["code"][order], "message": col["message"][order], "reason": col["reason"][order],
    })

