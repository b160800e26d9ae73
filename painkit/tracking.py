"""Progress tracking: where each patient stands, and what comes next.

Works on the long-format ``patients`` and ``assessments`` tables of :mod:`painkit.schema`,
validated first (bad input raises :class:`~painkit.errors.ValidationError` naming patient,
date, field and value). Every rule below is a field of :class:`~painkit.rules.TrackingRules`, whose
defaults and sources live in ``data/evidence/tracking_rules.csv``:

Change and category
    ``change_points = nrs - baseline`` (negative: less pain) and ``change_pct = 100 x
    change_points / baseline`` (NaN at baseline 0). IMMPACT category of the reduction
    (Dworkin 2008): ``worse`` (pain rose), ``no change`` (reduction under 10%), ``minimal``
    (10 to under 30%), ``moderate`` (30 to under 50%), ``substantial`` (50% or more). At
    baseline 0: ``no change`` while the NRS stays 0, else ``worse``.
Position against the expected band
    ``expected``, ``band_low`` and ``band_high`` are :func:`painkit.expected_band` for the
    patient's plan at ``weeks_on_plan``. ``ahead`` when the NRS is below ``band_low -
    band_tolerance_points``, ``behind`` when above ``band_high + band_tolerance_points``, else
    ``on track`` (tolerance 1 point by default: the NRS records whole numbers; an assumption).
Reversal (the article)
    ``complete``: NRS 0 at every assessment of a run that ends at the latest one and spans at
    least 26 weeks (6 months); ``significant``: reduction of at least 50% at the latest
    assessment; ``partial``: at least IMMPACT-minimal; ``none`` otherwise. Normal quantitative
    sensory testing is recorded (``qst_normal``), not computed.
Stall ("re-measure every 4 weeks; if progress stalls, tweak")
    Stalled when the latest NRS fell by less than ``stall_min_points`` (1) from the most recent
    assessment at least ``stall_window_weeks`` (4) before it, while the NRS is above 0 and the
    reduction from baseline is below ``stall_target_pct`` (50%).
Next re-measure
    Due ``remeasure_weeks`` (4) after the latest assessment (after plan start when the
    baseline is the only one; at plan start for a patient not yet assessed).
Alerts (levels ``urgent``, ``discuss``, ``review``, ``advice``, in that order; see :mod:`painkit.alerts`)
    From the latest assessment on or before ``as_of``; "active treatments" are that
    assessment's ``therapies`` or, when empty, the plan. Red flags (urgent care, always
    first); NRS above 5 at 13 weeks or later (discuss SCS or radiofrequency ablation with a
    specialist); a gabapentinoid active for over 26 weeks (review); a stall (review); an
    opioid (bridge only); the pitfalls the data shows: medication-only treatment, no education
    step ever, mood flagged with no CBT or MBSR, fewer than 80% of planned exercise sessions
    done; a re-measure overdue at ``as_of``. Messages never give dosing advice.

``as_of`` (default: today) is the date the tables are read at: later assessments are not yet
known and are left out of every result. ``validate=False`` skips :mod:`painkit.schema`
validation, for tables that are already validated (as the store returns them) only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .alerts import ALERT_CODES as _CODES
from .alerts import ALERT_LEVELS, ALERTS, RED_FLAG_CODES, alerts
from .errors import InputError
from .rules import RULES_PATH, TrackingRules, load_tracking_rules  # noqa: F401  (RULES_PATH re-exported)

__all__ = [
    "TrackingRules",
    "load_tracking_rules",
    "CATEGORIES",
    "REVERSAL",
    "POSITIONS",
    "ALERT_LEVELS",
    "ALERTS",
    "SUMMARY_COLUMNS",
    "TRACK_COLUMNS",
    "track",
    "track_all",
    "alerts",
    "summarize_cohort",
    "summarize_patient",
    "summarize_by_patient",
    "next_due",
]

CATEGORIES = ("worse", "no change", "minimal", "moderate", "substantial")
REVERSAL = ("none", "partial", "significant", "complete")
POSITIONS = ("ahead", "on track", "behind")
SUMMARY_COLUMNS = (
    "patient_id", "plan", "plan_start", "baseline_date", "baseline_nrs", "latest_date", "latest_nrs",
    "weeks_on_plan", "n_assessments", "change_points", "change_pct", "category", "reversal",
    "expected", "band_low", "band_high", "position", "stalled", "urgent", "n_alerts", "alerts", "next_due",
)
TRACK_COLUMNS = (
    "patient_id", "date", "nrs", "weeks_on_plan", "change_points", "change_pct", "category",
    "expected", "band_low", "band_high", "position",
)
_PSYCH_KINDS = ("psychological", "mindfulness")
_MED_KINDS = ("medication", "opioid")


# ------------------------------------------------------------------------------------- the core
def _as_of(as_of) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp.today().normalize()
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError):
        raise InputError(f"as_of {as_of!r} is not a date; allowed: YYYY-MM-DD") from None
    if stamp is pd.NaT:
        raise InputError(f"as_of {as_of!r} is not a date; allowed: YYYY-MM-DD")
    return stamp.tz_localize(None).normalize() if stamp.tzinfo else stamp.normalize()


def _arm_bits(evidence):
    arms = list(evidence.arms["arm"])
    bit = {a: 1 << i for i, a in enumerate(arms)}
    kinds = dict(zip(evidence.arms["arm"], evidence.arms["kind"]))

    def mask(pred):
        return sum(bit[a] for a in arms if pred(a))

    return bit, {
        "gabapentinoid": bit.get("gabapentinoid", 0),
        "opioid": mask(lambda a: kinds[a] == "opioid"),
        "med": mask(lambda a: kinds[a] in _MED_KINDS),
        "education": mask(lambda a: kinds[a] == "education"),
        "psych": mask(lambda a: kinds[a] in _PSYCH_KINDS),
    }


def _label_bits(labels, bit) -> np.ndarray:
    return np.array([sum(bit[a] for a in str(lab).split("+") if a) for lab in labels], dtype=np.int64)


def _run_start(cond: np.ndarray, day: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group, the first day of the run of ``cond`` rows that ends at the group's last row.

    ``+inf`` when the last row does not meet ``cond``. Groups (``group``: each row's group
    number, matching ``starts``) must be non-empty, contiguous and sorted by day.
    """
    fday = day.astype(float)
    last_break = np.maximum.reduceat(np.where(cond, -np.inf, fday), starts)
    in_run = cond & (fday > last_break[group])
    first = np.minimum.reduceat(np.where(in_run, fday, np.inf), starts)
    return first


def _patient_codes(patient_ids: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position in the patients table of each assessment's patient.

    Assessments usually come grouped by patient: look up one id per run of equal ids rather
    than hash a million strings.
    """
    values = ids.to_numpy(dtype=object)
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp)
    firsts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    codes = pd.Index(patient_ids).get_indexer(values[firsts])
    return np.repeat(codes, np.diff(np.append(firsts, len(values))))


def _sparse_factorize(values: pd.Series):
    """``pd.factorize`` hashing only the values present (most therapies cells are empty)."""
    missing = values.isna().to_numpy()
    codes = np.full(len(values), -1, dtype=np.intp)
    present_codes, uniques = pd.factorize(values[~missing])
    codes[~missing] = present_codes
    return codes, uniques


def _core(patients, assessments, *, as_of, rules, combine, assumptions, evidence=None, validate=True):
    """Validate, sort and compute every per-row and per-patient quantity at once."""
    from .evidence import load_evidence
    from .expectations import expected_band
    from .schema import validate_assessments, validate_patients

    rules = rules or load_tracking_rules()
    evidence = evidence or load_evidence()
    if validate:
        patients = validate_patients(patients, evidence=evidence)
        assessments = validate_assessments(assessments, patients=patients, evidence=evidence)
    today = _as_of(as_of)
    P = len(patients)
    pid = patients["patient_id"].to_numpy(dtype=object)
    start_day = patients["plan_start"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    pcode = _patient_codes(patients["patient_id"], assessments["patient_id"])
    day = assessments["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    keep = day <= today.to_datetime64().astype("datetime64[D]").astype(np.int64)
    key = (pcode.astype(np.int64) << 32) + (day + (1 << 30))
    if keep.all() and (len(key) < 2 or bool(np.all(key[1:] > key[:-1]))):
        order = None
        rows = assessments
    else:
        order = np.flatnonzero(keep)
        order = order[np.argsort(key[order], kind="stable")]
        rows = assessments.take(order)
        pcode, day, key = pcode[order], day[order], key[order]
    n = len(rows)
    counts = np.bincount(pcode, minlength=P)
    has = counts > 0
    ends = np.cumsum(counts)
    starts_all = ends - counts
    starts = starts_all[has]  # reduceat needs non-empty groups
    last = ends[has] - 1

    nrs = rows["nrs"].to_numpy(dtype=float, na_value=np.nan)
    base_p = np.full(P, np.nan)
    base_p[has] = nrs[starts]
    base = base_p[pcode]
    weeks = (day - start_day[pcode]) / 7.0
    change = nrs - base
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(base > 0, 100.0 * change / np.where(base > 0, base, 1.0), np.nan)
    red = -pct
    eps = 1e-9
    cat = np.where(change > 0, 0, 1)
    cat = np.where(red >= rules.immpact_minimal_pct - eps, 2, cat)
    cat = np.where(red >= rules.immpact_moderate_pct - eps, 3, cat)
    cat = np.where(red >= rules.immpact_substantial_pct - eps, 4, cat)
    cat = np.where(red > 0, np.where(red >= rules.immpact_minimal_pct - eps, cat, 1), cat)
    # band per row or per patient's latest row: computed where needed (see _band)
    plan_codes, plan_uniques = pd.factorize(patients["plan"])

    def band(row_index):
        if len(row_index) == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        pc = pcode[row_index]
        frame = expected_band(base[row_index], np.asarray(plan_uniques, dtype=object)[plan_codes[pc]],
                              weeks[row_index], combine=combine, assumptions=assumptions, evidence=evidence)
        return frame["expected"].to_numpy(), frame["low"].to_numpy(), frame["high"].to_numpy()

    def position(values, low, high):
        tol = rules.band_tolerance_points
        return np.where(values < low - tol - eps, 0, np.where(values > high + tol + eps, 2, 1))

    return dict(
        patients=patients, rows=rows, order=order, rules=rules, evidence=evidence, today=today,
        P=P, pid=pid, start_day=start_day, pcode=pcode, day=day, key=key, n=n, counts=counts, has=has,
        starts=starts, last=last, nrs=nrs, base_p=base_p, weeks=weeks, change=change, pct=pct, red=red,
        cat=cat, band=band, position=position,
    )


def _days(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def track(patients, assessments, *, as_of=None, rules=None, combine=None, assumptions=None,
          validate: bool = True) -> pd.DataFrame:
    """One row per assessment: change, IMMPACT category and position against the expected band.

    Parameters
    ----------
    patients, assessments : pandas.DataFrame
        Tables of the :mod:`painkit.schema` contract (validated first unless ``validate=False``).
    as_of : date, optional
        The date the tables are read at (default today); later assessments are left out.
    rules : TrackingRules, optional
        Default: ``data/evidence/tracking_rules.csv``.
    combine, assumptions : optional
        The estimator's combination rule and assumptions for the expected band.
    validate : bool, default True
        ``False`` only for tables already validated (as the store returns them).

    Returns
    -------
    pandas.DataFrame
        Sorted by patient (in the patients table's order) and date, columns ``patient_id``,
        ``date``, ``nrs``, ``weeks_on_plan``, ``change_points``, ``change_pct``, ``category``
        (:data:`CATEGORIES`), ``expected``, ``band_low``, ``band_high``, ``position``
        (:data:`POSITIONS`). Assessments after ``as_of`` are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"patient_id": ["a"], "plan": ["cbt"], "plan_start": ["2026-01-05"]})
    >>> a = pd.DataFrame({"patient_id": ["a"] * 3, "date": ["2026-01-05", "2026-02-02", "2026-03-02"],
    ...                   "nrs": [8, 7, 4]})
    >>> t = track(p, a, as_of="2026-03-02")
    >>> t[["weeks_on_plan", "change_points", "change_pct", "category", "position"]]
       weeks_on_plan  change_points  change_pct  category  position
    0            0.0            0.0         0.0  no change  on track
    1            4.0           -1.0       -12.5   minimal  on track
    2            8.0           -4.0       -50.0 substantial     ahead
    """
    c = _core(patients, assessments, as_of=as_of, rules=rules, combine=combine, assumptions=assumptions,
              validate=validate)
    return _track_frame(c)


def _track_frame(c) -> pd.DataFrame:
    expected, low, high = c["band"](np.arange(c["n"]))
    pos = c["position"](c["nrs"], low, high)
    return pd.DataFrame(
        {
            "patient_id": c["rows"]["patient_id"].to_numpy(),
            "date": c["rows"]["date"].to_numpy(),
            "nrs": c["rows"]["nrs"].to_numpy(),
            "weeks_on_plan": c["weeks"],
            "change_points": c["change"],
            "change_pct": c["pct"],
            "category": pd.Categorical.from_codes(c["cat"], CATEGORIES, ordered=True),
            "expected": expected,
            "band_low": low,
            "band_high": high,
            "position": pd.Categorical.from_codes(pos, POSITIONS, ordered=True),
        }
    )


def _patient_state(c) -> dict:
    """Per patient quantities at the latest assessment, and the alert flags (vectorised)."""
    P, has, starts, last, pcode, day, nrs, rows = c["P"], c["has"], c["starts"], c["last"], c["pcode"], c["day"], c["nrs"], c["rows"]
    rules, evidence = c["rules"], c["evidence"]
    idx = np.flatnonzero(has)
    group = (np.cumsum(has) - 1)[pcode]  # row -> index among the patients with rows

    def per_patient(values, fill):
        out = np.full(P, fill, dtype=np.asarray(values).dtype if not isinstance(fill, float) else float)
        out[idx] = values
        return out

    latest_day = per_patient(day[last], 0).astype(np.int64)
    latest_nrs = per_patient(nrs[last], np.nan)
    weeks = per_patient(c["weeks"][last], np.nan)
    red = per_patient(c["red"][last], np.nan)
    base = c["base_p"]
    # reversal
    zero_from = per_patient(_run_start(nrs == 0, day, starts, group), np.inf)
    complete = (latest_nrs == 0) & (latest_day - zero_from >= rules.reversal_complete_weeks * 7 - 1e-9)
    reversal = np.where(complete, 3, np.where(red >= rules.reversal_significant_pct - 1e-9, 2,
                        np.where(red >= rules.immpact_minimal_pct - 1e-9, 1, 0)))
    # stall: the most recent assessment at least stall_window_weeks before the latest
    window = int(np.ceil(rules.stall_window_weeks * 7 - 1e-9))
    target = c["key"][last] - window
    ref = np.searchsorted(c["key"], target, side="right") - 1
    valid = ref >= starts
    drop = np.where(valid, nrs[np.maximum(ref, 0)] - nrs[last], np.nan)
    at_target = (nrs[last] == 0) | (c["red"][last] >= rules.stall_target_pct - 1e-9)
    stalled = per_patient(valid & (drop < rules.stall_min_points - 1e-9) & ~at_target, False)
    ref_p = per_patient(np.where(valid, ref, -1), -1)
    # active treatments: the therapies of a row, or the plan when empty
    bit, masks = _arm_bits(evidence)
    th_codes, th_uniques = _sparse_factorize(rows["therapies"])
    th_bits = np.append(_label_bits(th_uniques, bit), 0)
    plan_codes, plan_uniques = pd.factorize(c["patients"]["plan"])
    plan_bits = _label_bits(plan_uniques, bit)[plan_codes]
    row_bits = np.where(th_codes >= 0, th_bits[th_codes], plan_bits[pcode])
    current = per_patient(row_bits[last], 0)
    ever = plan_bits.copy()
    ever[idx] |= np.bitwise_or.reduceat(row_bits, starts)
    gaba = (row_bits & masks["gabapentinoid"]) != 0
    gaba_from = per_patient(_run_start(gaba, day, starts, group), np.inf)
    due = np.where(has, latest_day, c["start_day"]) + int(round(rules.remeasure_weeks * 7))
    due = np.where(has, due, c["start_day"])
    today = int(c["today"].to_datetime64().astype("datetime64[D]").astype(np.int64))

    def latest_bool(col):
        return per_patient(rows[col].array.take(last).to_numpy(dtype=bool, na_value=False), False)

    def latest_num(col):
        return per_patient(rows[col].array.take(last).to_numpy(dtype=float, na_value=np.nan), np.nan)

    planned, done = latest_num("exercise_sessions_planned"), latest_num("exercise_sessions_done")
    flags = {code: latest_bool(col) for col, code in RED_FLAG_CODES.items()}
    flags["advanced_options"] = (weeks >= rules.advanced_review_weeks - 1e-9) & (latest_nrs > rules.advanced_review_nrs)
    flags["gabapentinoid_review"] = (latest_day - gaba_from) > rules.gabapentinoid_review_weeks * 7 + 1e-9
    flags["stalled"] = stalled
    flags["opioid_bridge"] = has & ((current & masks["opioid"]) != 0)
    flags["medication_only"] = has & (current != 0) & ((current & ~masks["med"]) == 0)
    flags["no_education"] = has & ((ever & masks["education"]) == 0)
    flags["mood_no_psych"] = latest_bool("mood_flag") & ((current & masks["psych"]) == 0)
    flags["missed_exercise"] = (planned > 0) & (done < rules.missed_exercise_ratio * planned - 1e-9)
    flags["remeasure_overdue"] = today > due
    return dict(
        idx=idx, latest_day=latest_day, latest_nrs=latest_nrs, weeks=weeks, red=red, base=base,
        reversal=reversal, stalled=stalled, ref=ref_p, drop=per_patient(drop, np.nan), current=current,
        gaba_from=gaba_from, due=due, today=today, planned=planned, done=done, flags=flags, bit=bit,
    )


def summarize_cohort(patients, assessments, *, as_of=None, rules=None, combine=None, assumptions=None,
                     validate: bool = True) -> pd.DataFrame:
    """One row per patient: baseline, latest, change, category, reversal, band, stall, alerts.

    Vectorised over the whole cohort (no per-patient loop); equal to
    :func:`summarize_patient` applied patient by patient.

    Parameters
    ----------
    patients, assessments : pandas.DataFrame
        Tables of the :mod:`painkit.schema` contract (validated first unless ``validate=False``).
    as_of : date, optional
        The date the tables are read at (default today); later assessments are left out.
    rules : TrackingRules, optional
        Default: ``data/evidence/tracking_rules.csv``.
    combine, assumptions : optional
        The estimator's combination rule and assumptions for the expected band.
    validate : bool, default True
        ``False`` only for tables already validated (as the store returns them).

    Returns
    -------
    pandas.DataFrame
        In the patients table's order, exactly the columns of :data:`SUMMARY_COLUMNS`:
        ``patient_id``, ``plan``, ``plan_start``, ``baseline_date``, ``baseline_nrs``,
        ``latest_date``, ``latest_nrs``, ``weeks_on_plan`` (at the latest assessment),
        ``n_assessments``, ``change_points``, ``change_pct``, ``category``, ``reversal``
        (:data:`REVERSAL`), ``expected``, ``band_low``, ``band_high``, ``position``,
        ``stalled``, ``urgent`` (any red flag), ``n_alerts``, ``alerts`` (messages joined by
        ``"; "``, urgent first) and ``next_due``. A patient with no assessment up to ``as_of``
        (plan not started yet) has empty scores and ``next_due`` on plan start.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"patient_id": ["a"], "plan": ["pt+pne_exercise"], "plan_start": ["2026-01-05"]})
    >>> a = pd.DataFrame({"patient_id": ["a", "a"], "date": ["2026-01-05", "2026-05-04"], "nrs": [8, 7],
    ...                   "rf_fever": [False, True]})
    >>> s = summarize_cohort(p, a, as_of="2026-05-10").iloc[0]
    >>> s.category, s.reversal, s.position, bool(s.urgent), int(s.n_alerts)
    ('minimal', 'partial', 'behind', True, 2)
    >>> print(s.alerts)
    Red flag: fever with pain. Seek urgent medical care.; Pain remains above 5/10 after 3 months on the plan: discuss spinal cord stimulation or radiofrequency ablation with a specialist.
    >>> str(s.next_due.date())
    '2026-06-01'
    """
    c = _core(patients, assessments, as_of=as_of, rules=rules, combine=combine, assumptions=assumptions,
              validate=validate)
    s = _patient_state(c)
    P, idx, last = c["P"], s["idx"], c["last"]
    expected, low, high = (np.full(P, np.nan) for _ in range(3))
    if len(idx):
        e, lo, hi = c["band"](last)
        expected[idx], low[idx], high[idx] = e, lo, hi
    pos = np.full(P, -1)
    pos[idx] = c["position"](c["nrs"][last], low[idx], high[idx])
    cat = np.full(P, -1)
    cat[idx] = c["cat"][last]
    has = c["has"]
    flags = np.column_stack([s["flags"][code] for code in _CODES]) if P else np.zeros((0, len(_CODES)), bool)
    mask = (flags.astype(np.int64) << np.arange(len(_CODES), dtype=np.int64)).sum(axis=1)
    mcodes, muniq = pd.factorize(mask)
    messages = np.array(["; ".join(ALERTS[_CODES[i]][1] for i in range(len(_CODES)) if m >> i & 1) for m in muniq],
                        dtype=object)
    urgent = flags[:, [i for i, code in enumerate(_CODES) if ALERTS[code][0] == "urgent"]].any(axis=1)
    patients = c["patients"]
    baseline_date = np.where(has, c["start_day"], np.iinfo(np.int64).min)
    latest = np.where(has, s["latest_day"], np.iinfo(np.int64).min)
    out = pd.DataFrame(
        {
            "patient_id": patients["patient_id"].to_numpy(),
            "plan": patients["plan"].to_numpy(),
            "plan_start": patients["plan_start"].to_numpy(),
            "baseline_date": _nat(baseline_date, has),
            "baseline_nrs": s["base"],
            "latest_date": _nat(latest, has),
            "latest_nrs": s["latest_nrs"],
            "weeks_on_plan": s["weeks"],
            "n_assessments": c["counts"].astype(np.int64),
            "change_points": s["latest_nrs"] - s["base"],
            "change_pct": -s["red"],
            "category": pd.Categorical.from_codes(cat, CATEGORIES, ordered=True),
            "reversal": pd.Categorical.from_codes(np.where(has, s["reversal"], -1), REVERSAL, ordered=True),
            "expected": expected,
            "band_low": low,
            "band_high": high,
            "position": pd.Categorical.from_codes(pos, POSITIONS, ordered=True),
            "stalled": s["stalled"].astype(bool),
            "urgent": urgent,
            "n_alerts": flags.sum(axis=1).astype(np.int64),
            "alerts": messages[mcodes] if P else np.zeros(0, dtype=object),
            "next_due": _days(s["due"]),
        }
    )
    out["change_pct"] = out["change_pct"] + 0.0  # -0.0 -> 0.0
    return out


def _nat(days: np.ndarray, has: np.ndarray) -> np.ndarray:
    out = np.where(has, days, 0).astype("datetime64[D]").astype("datetime64[ns]")
    out[~has] = np.datetime64("NaT")
    return out



def next_due(patients, assessments, *, as_of=None, rules=None, validate: bool = True) -> pd.DataFrame:
    """When each patient's next re-measure is due (every 4 weeks from the latest assessment).

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
        ``patient_id``, ``latest_date``, ``next_due`` and ``overdue`` (``next_due`` before
        ``as_of``), in the patients table's order.
    """
    c = _core(patients, assessments, as_of=as_of, rules=rules, combine=None, assumptions=None, validate=validate)
    return _next_due_frame(c, _patient_state(c))


def _next_due_frame(c, s) -> pd.DataFrame:
    return pd.DataFrame({
        "patient_id": c["pid"],
        "latest_date": _nat(s["latest_day"], c["has"]),
        "next_due": _days(s["due"]),
        "overdue": s["flags"]["remeasure_overdue"],
    })


def track_all(patients, assessments, *, as_of=None, rules=None, combine=None, assumptions=None,
              validate: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`track`, :func:`painkit.alerts.alerts` and :func:`next_due` of the same tables at
    once, validating and computing the shared quantities one time (what an app showing one
    patient's progress, alerts and next re-measure needs on every change).

    Parameters are those of :func:`track` (``combine`` and ``assumptions`` only shape the
    expected band of :func:`track`; the alerts and due dates do not depend on them).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, pandas.DataFrame)
        Exactly what ``track(...)``, ``alerts(...)`` and ``next_due(...)`` return for the same
        arguments.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"patient_id": ["a"], "plan": ["cbt"], "plan_start": ["2026-01-05"]})
    >>> a = pd.DataFrame({"patient_id": ["a"] * 2, "date": ["2026-01-05", "2026-02-02"], "nrs": [8, 7]})
    >>> tracked, found, due = track_all(p, a, as_of="2026-04-01")
    >>> list(tracked["category"]), list(found["code"]), str(due["next_due"].iloc[0].date())
    (['no change', 'minimal'], ['no_education', 'remeasure_overdue'], '2026-03-02')
    """
    from .alerts import _alerts_frame

    c = _core(patients, assessments, as_of=as_of, rules=rules, combine=combine, assumptions=assumptions,
              validate=validate)
    s = _patient_state(c)
    return _track_frame(c), _alerts_frame(c, s), _next_due_frame(c, s)


from ._tracking_reference import summarize_by_patient, summarize_patient  # noqa: E402  (per-patient form)
