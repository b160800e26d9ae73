"""The personal plan: the article's 8 steps as a dated schedule.

The article's "Creating your personal reversal plan":

1. Assessment: red flags (sudden weakness, loss of bladder control, unexplained weight loss,
   fever with pain) and pain lasting more than 3 months -- at the start.
2. Baseline metrics: NRS, BPI and a functional score (six-minute walk) -- at the start.
3. Education first: pain neuroscience education -- at the start, before exercise.
4. Graded exercise: a weekly programme of low-impact activity (walking, aquatic therapy)
   whose load grows 10% a week from a starting load, from week 1. The load is in *minutes of
   low-impact activity per week* by default (``load_unit``); the default starting load (60)
   and ceiling (300, the upper end of the WHO 2020 guideline) are assumptions from
   ``tracking_rules.csv``: the physiotherapist sets the real ones.
5. CBT or MBSR: an 8-week block (24 weeks for intensive MBSR), weekly from week 1, when the
   plan has one.
6. Medication review, and a follow-up 4 weeks later, when the plan has a medication (an
   opioid is noted as a bridge only). painkit never suggests a drug or a dose.
7. Advanced options: at 3 months (13 weeks), if pain remains above 5/10, discuss spinal cord
   stimulation or radiofrequency ablation with a specialist.
8. Track and adjust: re-measure every 4 weeks; if progress stalls, tweak the exercise or add
   a mindfulness session.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["personal_plan", "remeasure_dates", "PLAN_COLUMNS"]

#: The columns of :func:`personal_plan`.
PLAN_COLUMNS = ("date", "week", "step", "activity", "detail", "load")

_STEPS = {
    1: "assessment", 2: "baseline metrics", 3: "education", 4: "graded exercise",
    5: "CBT or MBSR", 6: "medication review", 7: "advanced options", 8: "re-measure",
}


def _date(value, name: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise InputError(f"{name} {value!r} is not a date; allowed: YYYY-MM-DD")
    return stamp.normalize()


def remeasure_dates(start, *, weeks: int = 26, every_weeks: float | None = None, rules=None) -> pd.DatetimeIndex:
    """Re-measure dates every 4 weeks after ``start``, up to ``weeks``.

    >>> list(remeasure_dates("2026-01-05", weeks=12).strftime("%Y-%m-%d"))
    ['2026-02-02', '2026-03-02', '2026-03-30']
    """
    from .rules import load_tracking_rules

    rules = rules or load_tracking_rules()
    every = float(every_weeks if every_weeks is not None else rules.remeasure_weeks)
    if not every > 0:
        raise InputError(f"every_weeks {every_weeks!r}: allowed: a number of weeks above 0")
    start = _date(start, "start")
    n = int(math.floor(weeks / every + 1e-9))
    return pd.DatetimeIndex([start + pd.Timedelta(days=round(7 * every * k)) for k in range(1, n + 1)])


def personal_plan(
    plan,
    start,
    *,
    starting_load: float | None = None,
    max_load: float | None = None,
    load_unit: str = "minutes of low-impact activity per week",
    weeks: int = 26,
    rules=None,
    evidence=None,
) -> pd.DataFrame:
    """The article's 8 steps as a dated schedule for a plan starting on ``start``.

    Parameters
    ----------
    plan : str or list of str
        Arm ids or aliases (``"cbt+pt"``, ``["pt", "duloxetine"]``).
    start : date
        The plan's first day (the baseline assessment).
    starting_load : float, optional
        Week-1 graded exercise load in ``load_unit``; default ``plan_starting_load`` (60, an
        assumption) from ``tracking_rules.csv``.
    max_load : float, optional
        Ceiling the load stops growing at; default ``plan_max_load`` (300, an assumption).
    load_unit : str
        What the load counts (default minutes of low-impact activity per week).
    weeks : int, default 26
        How far the schedule runs.

    Returns
    -------
    pandas.DataFrame
        Columns ``date``, ``week``, ``step`` (1-8), ``activity``, ``detail`` and ``load``
        (graded-exercise rows only, else NaN), sorted by date then step.

    Raises
    ------
    InputError, UnknownModalityError, EmptyPlanError

    Examples
    --------
    >>> p = personal_plan("cbt+pt", "2026-01-05", starting_load=60, weeks=8)
    >>> p[p.step == 4][["week", "load"]].head(3).round(1).to_string(index=False)
    ' week  load\\n    1  60.0\\n    2  66.0\\n    3  72.6'
    >>> p.groupby("step").size().to_dict()
    {1: 1, 2: 1, 3: 1, 4: 8, 5: 8, 8: 2}
    """
    from .evidence import load_evidence, parse_plan
    from .rules import load_tracking_rules

    rules = rules or load_tracking_rules()
    evidence = evidence or load_evidence()
    arms = parse_plan(plan, evidence)
    start = _date(start, "start")
    if isinstance(weeks, bool) or not isinstance(weeks, (int, np.integer)) or not 1 <= weeks <= 520:
        raise InputError(f"weeks {weeks!r}: allowed: a whole number from 1 to 520")
    load0 = float(rules.plan_starting_load if starting_load is None else starting_load)
    ceiling = float(rules.plan_max_load if max_load is None else max_load)
    if not (math.isfinite(load0) and load0 > 0):
        raise InputError(f"starting_load {starting_load!r}: allowed: a number above 0 ({load_unit})")
    if not (math.isfinite(ceiling) and ceiling >= load0):
        raise InputError(f"max_load {max_load!r}: allowed: a number at least the starting load {load0:g}")
    kinds = dict(zip(evidence.arms["arm"], evidence.arms["kind"]))
    rows = []

    def add(week, step, detail, load=np.nan):
        rows.append((start + pd.Timedelta(weeks=week), week, step, _STEPS[step], detail, load))

    add(0, 1, "Full evaluation with a pain specialist: check red flags (sudden weakness, loss of bladder control, "
              "unexplained weight loss, fever with pain: urgent care) and confirm the pain has lasted over 3 months.")
    add(0, 2, "Record baseline NRS, Brief Pain Inventory and a functional score (six-minute walk test).")
    education = "pain neuroscience education paired with exercise is in the plan" if any(
        kinds[a] == "education" for a in arms) else "not yet in the plan: add it (skipping education is a pitfall)"
    add(0, 3, f"Pain neuroscience education first (workshop or reputable videos); {education}.")
    growth = 1 + rules.exercise_progression_pct / 100
    for week in range(1, weeks + 1):
        load = min(load0 * growth ** (week - 1), ceiling)
        note = " (ceiling reached)" if load >= ceiling and load0 * growth ** (week - 1) > ceiling else ""
        add(week, 4, f"Graded low-impact exercise (walking, aquatic therapy): {load:.0f} {load_unit}, "
                     f"+{rules.exercise_progression_pct:g}% a week{note}; set with a physiotherapist.", round(load, 2))
    psych = [a for a in arms if kinds[a] in ("psychological", "mindfulness")]
    for arm in psych:
        length = 24 if arm == "mbsr_24wk" else int(rules.psych_block_weeks)
        label = evidence.label(arm)
        for week in range(1, min(length, weeks) + 1):
            add(week, 5, f"{label}: session {week} of {length} (group or tele-health module).")
    meds = [a for a in arms if kinds[a] in ("medication", "opioid")]
    if meds:
        names = ", ".join(evidence.label(a) for a in meds)
        bridge = any(kinds[a] == "opioid" for a in meds)
        add(0, 6, f"Medication review with the prescriber ({names}). painkit gives no dosing advice."
                  + (" An opioid is a bridge only while non-drug treatments take hold." if bridge else ""))
        follow = int(rules.medication_followup_weeks)
        if follow <= weeks:
            add(follow, 6, "Medication follow-up: assess efficacy and side effects with the prescriber.")
        gaba_review = int(math.floor(rules.gabapentinoid_review_weeks)) + 1
        if "gabapentinoid" in arms and gaba_review <= weeks:
            add(gaba_review, 6, "Gabapentinoid past 6 months: review with the prescriber (benefit wanes for many).")
    review = int(round(rules.advanced_review_weeks))
    if review <= weeks:
        add(review, 7, f"If pain remains above {rules.advanced_review_nrs:g}/10 after 3-4 months, discuss spinal cord "
                       "stimulation or radiofrequency ablation with a specialist.")
    for when in remeasure_dates(start, weeks=weeks, rules=rules):
        week = (when - start).days // 7
        add(week, 8, "Re-measure NRS, BPI and the six-minute walk; if progress stalls, tweak the exercise intensity "
                     "or add a mindfulness session.")
    table = pd.DataFrame(rows, columns=list(PLAN_COLUMNS))
    table["date"] = table["date"].astype("datetime64[ns]")
    table["load"] = table["load"].astype(float)
    return table.sort_values(["date", "step"], kind="stable").reset_index(drop=True)
