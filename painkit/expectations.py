"""The outcome estimator: what the evidence leads one to expect for a baseline and a plan.

The model, in full (every figure lives in ``data/evidence``; every assumption is named in
``assumptions.csv`` and carried by :class:`~painkit.evidence.Assumptions`):

1. Each arm of the plan has a benefit range ``[low, high]`` (percent reduction in NRS) at its
   reference time (6 months for the article's table). Its midpoint is the expected benefit.
2. Benefit builds over time as ``1 - exp(-t / tau)``, normalised to reach the full benefit at
   the reference time ``T``, with ``tau = T / shared_time_course``: with the default (3) about
   40-50% of the effect shows by weeks 4-6 and 82% by 3 months, as the article describes for
   graded exercise. Gabapentinoids wane after 26 weeks with a configurable half-life.
3. Several arms combine by the *combination rule* (``best``, ``independent`` or ``damped``),
   a named assumption because the article gives no figure for combined treatments.
4. Expected NRS = baseline x (1 - reduction); low and high apply the rule to the arms' high and
   low ends of their ranges.
5. The chance of a reduction of at least 30% or 50% at 6 months uses a closed-form normal model
   of individual response: ``P = Phi((mu - t) / sd)`` with ``mu`` the expected reduction and
   ``sd`` = ``individual_sd_pct`` (39.5 points, derived from the SCS responder share). A closed
   form rather than Monte Carlo because it is exact, deterministic and vectorises to millions of
   rows; :func:`simulate_reductions` draws from the same model (seeded) as a cross-check.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr

from .errors import InputError, UnknownModalityError
from .evidence import (
    COMBINATION_RULES,
    Assumptions,
    Evidence,
    load_evidence,
    parse_plan,
    plan_label,
)

__all__ = [
    "OUTCOME_WEEKS",
    "Estimate",
    "estimate",
    "estimate_cohort",
    "expected_band",
    "trajectory",
    "expectations_text",
    "simulate_reductions",
]

#: The week at which outcomes are stated: the table's 6-month data.
OUTCOME_WEEKS = 26.0
THRESHOLDS = (30.0, 50.0)


@dataclass(frozen=True, eq=False)
class _Model:
    """Arm parameters compiled from the evidence and assumptions into numpy arrays."""

    arms: tuple
    index: dict
    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray
    tau: np.ndarray
    ref: np.ndarray
    wane: np.ndarray
    wane_start: float
    halflife: float
    rule: str
    weight: float
    sd: float


@functools.lru_cache(maxsize=32)
def _compile(evidence: Evidence, assumptions: Assumptions) -> _Model:
    arms = evidence.arms.set_index("arm")
    low = arms["low_pct"].astype(float).copy()
    high = arms["high_pct"].astype(float).copy()
    ref = arms["reference_weeks"].astype(float).copy()
    a = assumptions
    if "mbsr_24wk" in arms.index:
        high["mbsr_24wk"] = a.mbsr24_high_pct
    if "pne_exercise" in arms.index:
        ref["pne_exercise"] = a.pne_reference_weeks
    if "vr" in arms.index:
        ref["vr"] = evidence.claim("vr_sessions") / a.vr_sessions_per_week
    if "opioid" in arms.index:
        low["opioid"] = high["opioid"] = a.opioid_reversal_effect_pct
    low, high = low.to_numpy() / 100, high.to_numpy() / 100
    return _Model(
        arms=tuple(arms.index),
        index={arm: i for i, arm in enumerate(arms.index)},
        low=low,
        mid=(low + high) / 2,
        high=high,
        tau=ref.to_numpy() / a.shared_time_course,
        ref=ref.to_numpy(),
        wane=(arms["time_course"] == "build_wane").to_numpy(),
        wane_start=evidence.claim("gabapentinoid_waning_weeks"),
        halflife=a.gabapentinoid_waning_halflife_weeks,
        rule=a.combination_rule,
        weight=a.damped_weight,
        sd=a.individual_sd_pct,
    )


def _setup(evidence, assumptions, combine) -> tuple[Evidence, Assumptions, _Model]:
    evidence = evidence or load_evidence()
    assumptions = assumptions or evidence.assumptions
    if combine is not None and combine != assumptions.combination_rule:
        assumptions = assumptions.with_(combination_rule=combine)
    return evidence, assumptions, _compile(evidence, assumptions)


def _shape(model: _Model, k: int, weeks: np.ndarray) -> np.ndarray:
    """Share of arm k's full benefit reached after ``weeks`` on it."""
    t = np.maximum(weeks, 0.0)
    ref, tau = model.ref[k], model.tau[k]
    s = np.where(t >= ref, 1.0, -np.expm1(-t / tau) / -math.expm1(-ref / tau))
    if model.wane[k]:
        s = s * np.exp2(-np.maximum(t - model.wane_start, 0.0) / model.halflife)
    return s


LEVELS = ("low", "mid", "high")


def _parts(model: _Model, members: np.ndarray, codes: np.ndarray, weeks: np.ndarray, levels=LEVELS):
    """Per level, the 'best' and 'independent' combinations of the rows' arms at ``weeks``."""
    n = len(codes)
    best = {lvl: np.zeros(n) for lvl in levels}
    keep = {lvl: np.ones(n) for lvl in levels}
    for k in np.flatnonzero(members.any(axis=0)):
        s = np.where(members[codes, k], _shape(model, k, weeks), 0.0)
        for lvl in levels:
            r = getattr(model, lvl)[k] * s
            np.maximum(best[lvl], r, out=best[lvl])
            keep[lvl] *= 1.0 - r
    return {lvl: (best[lvl], 1.0 - keep[lvl]) for lvl in levels}


def _rule(parts, rule: str, weight: float):
    best, independent = parts
    if rule == "best":
        return best
    if rule == "independent":
        return independent
    return best + weight * (independent - best)


def _reduction(model: _Model, members: np.ndarray, codes: np.ndarray, weeks: np.ndarray, levels=LEVELS):
    """Combined fractional reduction per level for rows with plan ``members[codes]`` at ``weeks``."""
    parts = _parts(model, members, codes, weeks, levels)
    return {lvl: _rule(parts[lvl], model.rule, model.weight) for lvl in levels}


def _membership(model: _Model, plans) -> np.ndarray:
    members = np.zeros((len(plans), len(model.arms)), dtype=bool)
    for i, plan in enumerate(plans):
        members[i, [model.index[a] for a in plan]] = True
    return members


def _check_baseline(value, where: str = "baseline") -> float:
    if isinstance(value, bool):
        raise InputError(f"{where} {value!r} is not a number; allowed: 0 to 10")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where} {value!r} is not a number; allowed: 0 to 10") from None
    if not 0 <= number <= 10:  # also rejects NaN
        raise InputError(f"{where} {value!r} is outside the NRS; allowed: 0 to 10")
    return number


def _probability(mid_fraction, sd_pct: float, threshold_pct: float):
    return ndtr((np.asarray(mid_fraction) * 100 - threshold_pct) / sd_pct)


@dataclass(frozen=True, eq=False)
class Estimate:
    """One patient's expected outcome at 6 months and trajectory.

    Attributes
    ----------
    baseline : float
        Baseline NRS (0-10).
    plan : tuple of str
        Canonical arm ids.
    expected, low, high : float
        Expected NRS at 6 months and its range from the evidence.
    reduction_pct, reduction_low_pct, reduction_high_pct : float
        The same as percent reductions from baseline.
    p30, p50 : float
        Chance of a reduction of at least 30% and 50% (NaN at baseline 0).
    trajectory : pandas.DataFrame
        Columns ``week``, ``expected``, ``low``, ``high``, ``reduction_pct``.
    combine : str
        The combination rule used.
    sensitivity : pandas.DataFrame
        The expected level under every combination rule (``rule``, ``expected``, ``low``,
        ``high``, ``reduction_pct``).
    notes : list of str
        The assumptions behind this estimate, in words.
    """

    baseline: float
    plan: tuple
    expected: float
    low: float
    high: float
    reduction_pct: float
    reduction_low_pct: float
    reduction_high_pct: float
    p30: float
    p50: float
    combine: str
    trajectory: pd.DataFrame = field(repr=False)
    sensitivity: pd.DataFrame = field(repr=False)
    notes: list = field(repr=False)
    assumptions: Assumptions = field(repr=False)

    @property
    def plan_label(self) -> str:
        return plan_label(self.plan)

    def headline(self) -> str:
        """The tracker's sentence: 'Estimated pain reduction: current level 7, expected level 4'."""
        def level(x):  # half up, as a person rounds (Python's round() is half-even)
            return int(math.floor(x + 0.5))

        return (
            f"Estimated pain reduction: current level {self.baseline:g}, expected level "
            f"{level(self.expected)} (range {level(self.low)}-{level(self.high)}) at 6 months"
        )

    def to_dict(self) -> dict:
        """JSON-ready form; the trajectory as a list of records."""
        out = {
            k: v
            for k, v in asdict(self).items()
            if k not in {"trajectory", "sensitivity", "assumptions", "notes", "plan"}
        }
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
        out["plan"] = list(self.plan)
        out["notes"] = list(self.notes)
        out["assumptions"] = asdict(self.assumptions)
        out["sensitivity"] = self.sensitivity.to_dict(orient="records")
        out["trajectory"] = self.trajectory.round(4).to_dict(orient="records")
        return out


def _notes(plan, assumptions: Assumptions, evidence: Evidence) -> list[str]:
    names = sorted({n for arm in plan for n in evidence.arm_info[arm]["assumption_names"]})
    described = evidence.assumption_descriptions
    notes = []
    if len(plan) > 1:
        notes.append(
            f"Combined estimate under the '{assumptions.combination_rule}' combination rule "
            "(the article gives no figures for combined treatments; see the sensitivity table)."
        )
    notes.append(
        f"Chances of a 30% or 50% reduction assume a normal spread of individual response "
        f"(SD {assumptions.individual_sd_pct:g} points, from the SCS responder share)."
    )
    for name in names:
        if name in described:
            notes.append(f"Assumption '{name}': {described[name]}.")
    return notes


def estimate(
    baseline,
    plan,
    *,
    horizon_weeks: float = 26,
    combine: str | None = None,
    assumptions: Assumptions | None = None,
    evidence: Evidence | None = None,
) -> Estimate:
    """Expected outcome at 6 months, with its range, chances and a weekly trajectory.

    Parameters
    ----------
    baseline : float
        Baseline pain on the 0-10 NRS.
    plan : str or list of str
        Arm ids or aliases (``"cbt"``, ``["pt", "mbsr24"]``, ``"pt+education"``).
    horizon_weeks : int, default 26
        Length of the weekly trajectory.
    combine : {'best', 'independent', 'damped'}, optional
        Overrides the combination rule of ``assumptions``.
    assumptions : Assumptions, optional
        Default: those of the evidence base.
    evidence : Evidence, optional
        Default: :func:`~painkit.load_evidence`.

    Returns
    -------
    Estimate

    Raises
    ------
    InputError, UnknownModalityError, EmptyPlanError

    Examples
    --------
    The article's own example, baseline 7 with CBT:

    >>> from painkit import estimate
    >>> e = estimate(7, "cbt")
    >>> e.expected, e.low, e.high
    (4.2, 3.5, 4.9)
    >>> e.headline()
    'Estimated pain reduction: current level 7, expected level 4 (range 4-5) at 6 months'
    >>> round(e.p30, 3), round(e.p50, 3)
    (0.6, 0.4)
    """
    baseline = _check_baseline(baseline)
    if not 1 <= float(horizon_weeks) <= 520:
        raise InputError(f"horizon_weeks {horizon_weeks!r} is outside 1 to 520")
    evidence, assumptions, model = _setup(evidence, assumptions, combine)
    arms = parse_plan(plan, evidence)
    members = _membership(model, [arms])
    weeks = np.append(np.arange(0, int(horizon_weeks) + 1, dtype=float), OUTCOME_WEEKS)
    parts = _parts(model, members, np.zeros(len(weeks), dtype=np.intp), weeks)
    out = {lvl: _rule(parts[lvl], model.rule, model.weight) for lvl in LEVELS}
    r = {lvl: float(out[lvl][-1]) for lvl in LEVELS}
    traj = pd.DataFrame(
        {
            "week": weeks[:-1].astype(int),
            "expected": baseline * (1 - out["mid"][:-1]),
            "low": baseline * (1 - out["high"][:-1]),
            "high": baseline * (1 - out["low"][:-1]),
            "reduction_pct": 100 * out["mid"][:-1],
        }
    )
    sens = {"rule": list(COMBINATION_RULES)}
    for lvl, col in (("mid", "expected"), ("high", "low"), ("low", "high")):
        at = [float(_rule((p[-1] for p in parts[lvl]), rule, model.weight)) for rule in COMBINATION_RULES]
        sens[col] = [baseline * (1 - x) for x in at]
    sens["reduction_pct"] = [
        100 * float(_rule((p[-1] for p in parts["mid"]), rule, model.weight)) for rule in COMBINATION_RULES
    ]
    nan = float("nan")
    return Estimate(
        baseline=baseline,
        plan=arms,
        expected=round(baseline * (1 - r["mid"]), 10),
        low=round(baseline * (1 - r["high"]), 10),
        high=round(baseline * (1 - r["low"]), 10),
        reduction_pct=round(100 * r["mid"], 10),
        reduction_low_pct=round(100 * r["low"], 10),
        reduction_high_pct=round(100 * r["high"], 10),
        p30=float(_probability(r["mid"], model.sd, 30)) if baseline > 0 else nan,
        p50=float(_probability(r["mid"], model.sd, 50)) if baseline > 0 else nan,
        combine=model.rule,
        trajectory=traj,
        sensitivity=pd.DataFrame(sens),
        notes=_notes(arms, assumptions, evidence),
        assumptions=assumptions,
    )


def _canonical_plans(values, evidence: Evidence, *, column: str = "plan"):
    """Factorize a plan column and parse each distinct value once.

    Returns the integer code of every row and the canonical plans, one per code.
    """
    codes, uniques = pd.factorize(pd.Series(values, copy=False), use_na_sentinel=True)
    plans = []
    for code, raw in enumerate(uniques):
        try:
            plans.append(parse_plan(raw, evidence))
        except UnknownModalityError as exc:
            row = int(np.flatnonzero(codes == code)[0])
            where = f"row {row}, column {column!r}"
            raise UnknownModalityError(exc.name, exc.suggestions, exc.known, where) from None
        except InputError as exc:
            row = int(np.flatnonzero(codes == code)[0])
            raise type(exc)(f"row {row}, column {column!r}: {exc}") from None
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise InputError(f"row {row}, column {column!r}: the plan is empty")
    return codes, plans


def _check_baselines(values, column: str) -> np.ndarray:
    base = pd.to_numeric(pd.Series(values, copy=False), errors="coerce").to_numpy(dtype=float)
    bad = ~((base >= 0) & (base <= 10))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = np.asarray(values, dtype=object)[row]
        value = value.item() if hasattr(value, "item") else value
        raise InputError(
            f"row {row}, column {column!r}: value {value!r} is not a "
            f"number from 0 to 10 ({int(bad.sum())} such row(s))"
        )
    return base


def estimate_cohort(
    data: pd.DataFrame,
    *,
    baseline: str = "baseline",
    plan: str = "plan",
    combine: str | None = None,
    assumptions: Assumptions | None = None,
    evidence: Evidence | None = None,
) -> pd.DataFrame:
    """Vectorised :func:`estimate` over a table of patients (no trajectories).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient, with a baseline NRS column and a plan column (strings such as
        ``"cbt+pt"`` or lists of arm names).
    baseline, plan : str
        Column names.
    combine, assumptions, evidence
        As for :func:`estimate`.

    Returns
    -------
    pandas.DataFrame
        ``data``'s columns followed by ``plan_arms`` (canonical ``+``-joined plan),
        ``expected``, ``low``, ``high``, ``reduction_pct``, ``reduction_low_pct``,
        ``reduction_high_pct``, ``p30``, ``p50`` and ``combine``; same index as ``data``.

    Raises
    ------
    InputError, UnknownModalityError
        Naming the first offending row and column.

    Examples
    --------
    >>> import pandas as pd
    >>> from painkit import estimate_cohort
    >>> df = pd.DataFrame({"patient_id": ["a", "b"], "baseline": [7, 8], "plan": ["cbt", "pt+cbt"]})
    >>> estimate_cohort(df)[["patient_id", "plan_arms", "expected", "low", "high"]]
      patient_id plan_arms  expected  low  high
    0          a       cbt       4.2  3.5   4.9
    1          b    cbt+pt       3.8  3.2   4.4
    """
    evidence, assumptions, model = _setup(evidence, assumptions, combine)
    base = _check_baselines(data[baseline].to_numpy(), baseline)
    codes, plans = _canonical_plans(data[plan].to_numpy(), evidence, column=plan)
    members = _membership(model, plans)
    ucodes = np.arange(len(plans))
    weeks = np.full(len(plans), OUTCOME_WEEKS)
    r = {lvl: v[codes] for lvl, v in _reduction(model, members, ucodes, weeks).items()}
    prob = {t: _probability(r["mid"], model.sd, t) for t in THRESHOLDS}
    zero = base == 0
    labels = pd.Categorical.from_codes(codes, categories=[plan_label(p) for p in plans])
    return data.assign(
        plan_arms=labels,
        expected=base * (1 - r["mid"]),
        low=base * (1 - r["high"]),
        high=base * (1 - r["low"]),
        reduction_pct=100 * r["mid"],
        reduction_low_pct=100 * r["low"],
        reduction_high_pct=100 * r["high"],
        p30=np.where(zero, np.nan, prob[30.0]),
        p50=np.where(zero, np.nan, prob[50.0]),
        combine=model.rule,
    )


def expected_band(
    baseline,
    plan,
    weeks,
    *,
    combine: str | None = None,
    assumptions: Assumptions | None = None,
    evidence: Evidence | None = None,
) -> pd.DataFrame:
    """Expected NRS and its band at given weeks on the plan, vectorised.

    Parameters
    ----------
    baseline : array-like of float
        Baseline NRS per row.
    plan : array-like
        Plan per row (strings such as ``"cbt+pt"``, lists, or canonical tuples).
    weeks : array-like of float
        Weeks since the plan started, per row (negative counts as 0).

    Returns
    -------
    pandas.DataFrame
        Columns ``expected``, ``low``, ``high`` (NRS) and ``reduction_pct``, one row per input
        row, on a default index.

    Examples
    --------
    >>> expected_band([7, 7], ["cbt", "cbt"], [0, 26]).round(2)
       expected  low  high  reduction_pct
    0       7.0  7.0   7.0            0.0
    1       4.2  3.5   4.9           40.0
    """
    evidence, assumptions, model = _setup(evidence, assumptions, combine)
    base = _check_baselines(np.asarray(baseline), "baseline")
    plan_values = plan if not isinstance(plan, (str, tuple)) else [plan] * len(base)
    if len(plan_values) and isinstance(plan_values[0], tuple):
        plan_values = [plan_label(p) for p in plan_values]
    codes, plans = _canonical_plans(np.asarray(plan_values, dtype=object), evidence)
    members = _membership(model, plans)
    w = np.asarray(weeks, dtype=float)
    r = _reduction(model, members, codes, w)
    return pd.DataFrame(
        {
            "expected": base * (1 - r["mid"]),
            "low": base * (1 - r["high"]),
            "high": base * (1 - r["low"]),
            "reduction_pct": 100 * r["mid"],
        }
    )


def trajectory(baseline, plan, *, horizon_weeks: float = 26, **options) -> pd.DataFrame:
    """The weekly expected trajectory of :func:`estimate` (columns ``week``, ``expected``,
    ``low``, ``high``, ``reduction_pct``).

    >>> trajectory(7, "pt", horizon_weeks=4).round(2)
       week  expected   low  high  reduction_pct
    0     0      7.00  7.00  7.00           0.00
    1     1      6.58  6.52  6.64           6.02
    2     2      6.20  6.09  6.32          11.39
    3     3      5.87  5.71  6.03          16.17
    4     4      5.57  5.37  5.77          20.43
    """
    return estimate(baseline, plan, horizon_weeks=horizon_weeks, **options).trajectory


def expectations_text(plan=None, *, evidence: Evidence | None = None, assumptions=None) -> str:
    """The tracker's "Realistic expectations" text, generated from the evidence table.

    With no plan, the article's own sentence (physical therapy, CBT and SCS); with a plan, the
    range of each of its arms and, for several arms, the combination rule in force.

    Examples
    --------
    >>> print(expectations_text())
    Realistic expectations: According to clinical studies, 45-60% pain reduction is typical for physical therapy at 6 months, with 30-50% for CBT, and 50-70% for SCS. Your estimated reduction is based on evidence from the article.
    """
    evidence, assumptions, model = _setup(evidence, assumptions, None)
    arms = evidence.arms.set_index("arm")
    short = {"pt": "physical therapy", "cbt": "CBT", "scs": "SCS"}
    chosen = parse_plan(plan, evidence) if plan is not None else ("pt", "cbt", "scs")

    def rng(arm):
        k = model.index[arm]
        lo, hi = 100 * model.low[k], 100 * model.high[k]
        span = f"{lo:g}%" if lo == hi else f"{lo:g}-{hi:g}%"
        when = "6 months" if model.ref[k] == OUTCOME_WEEKS else f"{model.ref[k]:g} weeks"
        name = short.get(arm, str(arms.at[arm, "label"]))
        return span, name, when, str(arms.at[arm, "evidence_level"])

    parts = [rng(a) for a in chosen]
    first, rest = parts[0], parts[1:]
    text = f"Realistic expectations: According to clinical studies, {first[0]} pain reduction is typical for {first[1]} at {first[2]}"
    if rest:
        items = [f"{s} for {n}" + ("" if w == first[2] else f" at {w}") for s, n, w, _ in rest]
        joined = items[0] if len(items) == 1 else ", ".join(items[:-1]) + ", and " + items[-1]
        text += f", with {joined}"
    text += ". Your estimated reduction is based on evidence from the article."
    if plan is not None and len(chosen) > 1:
        text += (
            f" For a combined plan the '{assumptions.combination_rule}' combination rule applies: "
            "the article gives no figures for combined treatments."
        )
    return text


def simulate_reductions(
    plan,
    n: int,
    *,
    seed: int = 0,
    weeks: float = OUTCOME_WEEKS,
    combine: str | None = None,
    assumptions: Assumptions | None = None,
    evidence: Evidence | None = None,
) -> np.ndarray:
    """Seeded draws of individual percent reductions under the estimator's response model.

    Each draw is the plan's expected reduction at ``weeks`` plus a normal deviation with SD
    ``individual_sd_pct``, capped at 100% (pain cannot fall below 0). Used to cross-check the
    closed-form chances and to generate synthetic cohorts.

    Examples
    --------
    >>> draws = simulate_reductions("cbt", 200_000, seed=1)
    >>> round(float((draws >= 30).mean()), 2)
    0.6
    """
    evidence, assumptions, model = _setup(evidence, assumptions, combine)
    members = _membership(model, [parse_plan(plan, evidence)])
    mid = _reduction(model, members, np.zeros(1, dtype=np.intp), np.array([float(weeks)]), ("mid",))["mid"][0]
    rng = np.random.default_rng(seed)
    return np.minimum(100 * mid + rng.normal(0.0, model.sd, size=int(n)), 100.0)
