"""Cohort statistics of the cohort report: responder rates, calibration, time to response.

Proportions carry Wilson score intervals (:func:`wilson_interval`); time to a response is
estimated with Kaplan-Meier on censored data (:func:`response_times`, :func:`kaplan_meier`),
both from scipy. Every function takes and returns tidy DataFrames.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["wilson_interval", "responder_rates", "band_calibration", "response_times", "kaplan_meier"]


def wilson_interval(successes, n, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``scipy.stats.binomtest``); NaN when ``n`` is 0.

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(6, 20)]
    [0.145, 0.519]
    """
    from scipy.stats import binomtest

    if int(n) == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def responder_rates(data: pd.DataFrame, *, by: str = "plan", thresholds=(30, 50), confidence: float = 0.95) -> pd.DataFrame:
    """Share of patients whose pain fell by at least each threshold, per group, with Wilson CIs.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient with ``change_pct`` (negative = less pain, at the latest assessment)
        and ``n_assessments`` (patients with only a baseline are left out of the denominator
        and counted in ``no_follow_up``), plus the ``by`` column.
    by : str
        Grouping column; an ``all`` row is added.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``threshold_pct``, ``n``, ``responders``, ``rate``, ``ci_low``, ``ci_high``,
        ``no_follow_up``.

    Examples
    --------
    >>> d = pd.DataFrame({"plan": ["cbt"] * 4, "change_pct": [-60, -35, -10, 0], "n_assessments": [3, 3, 3, 1]})
    >>> responder_rates(d)[["group", "threshold_pct", "n", "responders", "rate"]]
      group  threshold_pct  n  responders  rate
    0   all             30  3           2  0.666667
    1   all             50  3           1  0.333333
    2   cbt             30  3           2  0.666667
    3   cbt             50  3           1  0.333333
    """
    rows = []
    groups = [("all", data)] + [(str(k), g) for k, g in data.groupby(by, sort=True, observed=True)]
    for name, g in groups:
        followed = g[(g["n_assessments"] > 1) & g["change_pct"].notna()]
        for t in thresholds:
            k = int((followed["change_pct"] <= -float(t)).sum())
            n = len(followed)
            low, high = wilson_interval(k, n, confidence=confidence)
            rows.append({"group": name, "threshold_pct": t, "n": n, "responders": k,
                         "rate": k / n if n else float("nan"), "ci_low": low, "ci_high": high,
                         "no_follow_up": len(g) - n})
    return pd.DataFrame(rows)


def band_calibration(track: pd.DataFrame, data: pd.DataFrame, *, by: str = "plan", week: float = 26.0,
                     window_weeks: float = 4.0, confidence: float = 0.95) -> pd.DataFrame:
    """Observed against expected: the share of patients inside their expected band near 6 months.

    For each patient the assessment closest to ``week`` within ``window_weeks`` counts (an
    assumption shown in the report); patients without one are left out and counted.

    Parameters
    ----------
    track : pandas.DataFrame
        :func:`painkit.tracking.track` output (``nrs``, ``weeks_on_plan``, ``band_low``,
        ``band_high``, ``position``).
    data : pandas.DataFrame
        One row per patient with ``patient_id`` and the ``by`` column.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``n``, ``inside``, ``inside_rate``, ``ci_low``, ``ci_high``, ``better``
        (below the band), ``worse`` (above), ``on_track_rate`` (within the tracking tolerance),
        ``not_assessed``.
    """
    near = track.assign(_gap=(track["weeks_on_plan"] - week).abs())
    near = near[near["_gap"] <= window_weeks].sort_values(["patient_id", "_gap", "date"])
    near = near.drop_duplicates("patient_id").merge(data[["patient_id", by]], on="patient_id", how="inner")
    rows = []
    groups = [("all", data, near)] + [(str(k), g, near[near[by].astype(str) == str(k)])
                                      for k, g in data.groupby(by, sort=True, observed=True)]
    for name, g, n_rows in groups:
        nrs = n_rows["nrs"].astype(float)
        inside = int(((nrs >= n_rows["band_low"]) & (nrs <= n_rows["band_high"])).sum())
        n = len(n_rows)
        low, high = wilson_interval(inside, n, confidence=confidence)
        rows.append({"group": name, "n": n, "inside": inside, "inside_rate": inside / n if n else float("nan"),
                     "ci_low": low, "ci_high": high, "better": int((nrs < n_rows["band_low"]).sum()),
                     "worse": int((nrs > n_rows["band_high"]).sum()),
                     "on_track_rate": float((n_rows["position"] == "on track").mean()) if n else float("nan"),
                     "not_assessed": len(g) - n})
    return pd.DataFrame(rows)


def response_times(track: pd.DataFrame, *, threshold: float = 30.0) -> pd.DataFrame:
    """Per patient: weeks to the first reduction of at least ``threshold`` percent, or censoring.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``weeks`` (to the first response, else to the last assessment) and
        ``responded`` (bool). Patients with no follow-up beyond baseline are left out.

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["a"] * 3 + ["b"] * 2, "weeks_on_plan": [0, 4, 8, 0, 6],
    ...                   "change_pct": [0, -35, -50, 0, -10]})
    >>> response_times(t)
      patient_id  weeks  responded
    0          a    4.0       True
    1          b    6.0      False
    """
    follow = track[track["weeks_on_plan"] > 0]
    hit = follow[follow["change_pct"] <= -float(threshold)].groupby("patient_id", sort=False)["weeks_on_plan"].min()
    last = follow.groupby("patient_id", sort=False)["weeks_on_plan"].max()
    out = pd.DataFrame({"patient_id": last.index.astype(str), "weeks": last.to_numpy(dtype=float)})
    first = out["patient_id"].map(hit.rename(index=str))
    out["responded"] = first.notna().to_numpy()
    out.loc[out["responded"], "weeks"] = first[out["responded"]].astype(float)
    return out.reset_index(drop=True)


def kaplan_meier(times: pd.DataFrame, *, at=(12, 26), confidence: float = 0.95) -> tuple[pd.DataFrame, dict]:
    """Kaplan-Meier share responded by given weeks (``scipy.stats.ecdf`` on censored data).

    Returns
    -------
    (pandas.DataFrame, dict)
        Table with ``n``, ``responded``, ``median_weeks`` and ``by_W``, ``by_W_low``,
        ``by_W_high`` per week ``W`` in ``at``; and the curve (``weeks``, ``share``) for plotting.
    """
    from scipy import stats

    n = len(times)
    events = times.loc[times["responded"], "weeks"].to_numpy(dtype=float)
    censored = times.loc[~times["responded"], "weeks"].to_numpy(dtype=float)
    row = {"n": n, "responded": len(events), "median_weeks": float("nan")}
    curve = {"weeks": np.array([0.0]), "share": np.array([0.0])}
    if len(events) == 0:
        for w in at:
            row.update({f"by_{w:g}": 0.0 if n else float("nan"), f"by_{w:g}_low": float("nan"), f"by_{w:g}_high": float("nan")})
        return row, curve
    result = stats.ecdf(stats.CensoredData(uncensored=events, right=censored))
    sf = result.sf
    with warnings.catch_warnings():  # undefined at some steps by the formula; those show as NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(confidence_level=confidence, method="log-log") if len(events) > 1 else None
    for w in at:
        row[f"by_{w:g}"] = float(1 - sf.evaluate(w))
        row[f"by_{w:g}_low"] = float(1 - ci.high.evaluate(w)) if ci is not None else float("nan")
        row[f"by_{w:g}_high"] = float(1 - ci.low.evaluate(w)) if ci is not None else float("nan")
    below = sf.quantiles[sf.probabilities <= 0.5]
    row["median_weeks"] = float(below[0]) if len(below) else float("nan")
    curve = {"weeks": np.r_[0.0, sf.quantiles], "share": np.r_[0.0, 1 - sf.probabilities]}
    return row, curve
