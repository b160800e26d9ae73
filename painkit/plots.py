"""Charts shared by the apps and the reports, drawn with seaborn on matplotlib axes.

Every function takes its data first, options keyword-only, draws on ``ax`` (a new figure when
omitted) and returns the axes. None of them changes global matplotlib state.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = [
    "progress_chart",
    "benefit_ranges",
    "trajectories",
    "waterfall",
    "responder_chart",
    "response_curve",
    "progress_horizon",
    "update_progress_chart",
    "update_trajectories",
    "LEVEL_COLOURS",
]

#: Colour per evidence level, used wherever evidence is drawn.
LEVEL_COLOURS = {
    "high": "#1b7837",
    "moderate-high": "#5aae61",
    "moderate": "#a6dba0",
    "meta-analysis": "#762a83",
    "pilot": "#c2a5cf",
    "guideline": "#999999",
}
BAND_COLOUR = "#9ecae1"
#: Prefix of the ``gid`` of artists an update may move (bands, lines) or must draw again on top.
DYNAMIC = "painkit-dynamic-"
OBSERVED_COLOUR = "#d6604d"


def _axes(ax, size=(7, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def progress_chart(
    assessments: pd.DataFrame,
    *,
    baseline: float,
    plan,
    plan_start,
    horizon_weeks: float | None = None,
    ax=None,
    combine: str | None = None,
    assumptions=None,
    evidence=None,
    title: str | None = None,
):
    """Observed NRS over time against the expected band for the plan.

    Parameters
    ----------
    assessments : pandas.DataFrame
        One patient's rows with ``date`` and ``nrs`` columns.
    baseline : float
        Baseline NRS (the band starts there).
    plan : str or sequence
        The patient's plan.
    plan_start : date-like
        Start of the plan; week 0 of the band.
    horizon_weeks : float, optional
        How far the band reaches; default 26 weeks or the last assessment, whichever is later.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> visits = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-02-02"]), "nrs": [7, 6]})
    >>> ax = progress_chart(visits, baseline=7, plan="cbt", plan_start="2026-01-05")
    >>> [float(v) for v in ax.get_ylim()]
    [0.0, 10.0]
    """
    import matplotlib.dates as mdates
    import seaborn as sns

    ax = _axes(ax)
    dates, recorded = _scores(assessments)
    expected = _progress_band(dates, baseline=baseline, plan=plan, plan_start=plan_start, horizon_weeks=horizon_weeks,
                              combine=combine, assumptions=assumptions, evidence=evidence)
    # axes first: with labels and limits set, seaborn has no tick labels to compute
    ax.set_ylim(0, 10)
    ax.set_yticks(range(0, 11, 2))
    ax.set_xlim(expected["date"].iloc[0] - pd.Timedelta(days=3), expected["date"].iloc[-1] + pd.Timedelta(days=3))
    ax.set_ylabel("Pain (NRS 0-10)")
    ax.set_xlabel("Date")
    ax.fill_between(expected["date"], expected["low"], expected["high"], color=BAND_COLOUR, alpha=0.5,
                    label="expected range", linewidth=0, gid=DYNAMIC + "band")
    sns.lineplot(data=expected, x="date", y="expected", color="#2171b5", linestyle="--", label="expected",
                 estimator=None, legend=False, ax=ax)
    ax.get_lines()[-1].set_gid(DYNAMIC + "expected")
    if len(recorded):
        sns.lineplot(data=recorded, x="date", y="nrs", color=OBSERVED_COLOUR, marker="o", markeredgecolor=OBSERVED_COLOUR,
                     label="recorded NRS", estimator=None, legend=False, ax=ax)
        ax.get_lines()[-1].set_gid(DYNAMIC + "recorded")  # drawn again over the band
    ax.set_title(title or "Progress against the expected range")
    ax.legend(loc="upper right", frameon=False).set_gid(DYNAMIC + "legend")  # drawn again over the lines

    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    return ax


def _scores(assessments: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """The assessments' dates, and their recorded scores (``date``, ``nrs``) as the chart draws
    them: missing scores dropped, by date."""
    if not len(assessments):
        return pd.Series([], dtype="datetime64[ns]"), pd.DataFrame({"date": pd.to_datetime([]), "nrs": []})
    dates = pd.to_datetime(assessments["date"])
    scores = pd.DataFrame({"date": dates.to_numpy(), "nrs": pd.to_numeric(assessments["nrs"]).to_numpy(dtype=float)})
    return dates, scores.dropna().sort_values("date", kind="stable")


def _progress_band(dates, *, baseline, plan, plan_start, horizon_weeks=None, combine=None, assumptions=None,
                   evidence=None) -> pd.DataFrame:
    """The expected band of :func:`progress_chart`: ``date``, ``expected``, ``low``, ``high``."""
    from .evidence import parse_plan, plan_label
    from .expectations import expected_band

    start = pd.Timestamp(plan_start)
    horizon = progress_horizon(dates, plan_start=start, horizon_weeks=horizon_weeks)
    weeks = np.linspace(0, horizon, int(horizon * 2) + 1)
    band = expected_band(
        np.full(len(weeks), float(baseline)),
        plan if isinstance(plan, str) else plan_label(parse_plan(plan, evidence)),
        weeks,
        combine=combine,
        assumptions=assumptions,
        evidence=evidence,
    )
    return pd.DataFrame({"date": start + pd.to_timedelta(weeks * 7, unit="D"), "expected": band["expected"].to_numpy(),
                         "low": band["low"].to_numpy(), "high": band["high"].to_numpy()})


def progress_horizon(dates, *, plan_start, horizon_weeks: float | None = None) -> float:
    """Weeks the :func:`progress_chart` band reaches: ``horizon_weeks`` (default 26) or the last
    assessment, whichever is later.

    >>> progress_horizon(pd.to_datetime(["2026-01-05", "2026-09-07"]), plan_start="2026-01-05")
    35.0
    """
    dates = pd.to_datetime(pd.Series(dates))
    last_week = float((dates.max() - pd.Timestamp(plan_start)).days / 7) if len(dates) else 0.0
    return max(float(horizon_weeks or 26), last_week)


def _gid(ax, name):
    for artist in (*ax.collections, *ax.lines):
        if artist.get_gid() == DYNAMIC + name:
            return artist
    raise LookupError(f"no {name!r} artist on these axes: draw the chart first")


def update_progress_chart(ax, assessments: pd.DataFrame, *, baseline: float, plan, plan_start,
                          horizon_weeks: float | None = None, combine: str | None = None, assumptions=None,
                          evidence=None):
    """Move the expected band and line and the recorded scores of a :func:`progress_chart` to a
    new baseline, plan, rule or set of scores, leaving its axes and text as drawn.

    An app then redraws only what moved (see :class:`painkit.widgets._chart.LazyChart`). Same
    arguments as :func:`progress_chart`, whose axes must still fit: the same ``plan_start`` and
    :func:`progress_horizon`. Raises LookupError when the chart lacks an artist to move (no
    recorded line was drawn, say): draw it anew then.

    Returns
    -------
    matplotlib.axes.Axes
    """
    dates, recorded = _scores(assessments)
    expected = _progress_band(dates, baseline=baseline, plan=plan, plan_start=plan_start, horizon_weeks=horizon_weeks,
                              combine=combine, assumptions=assumptions, evidence=evidence)
    x = _date_numbers(expected["date"])
    band, line = _gid(ax, "band"), _gid(ax, "expected")
    if len(recorded):
        _gid(ax, "recorded").set_data(_date_numbers(recorded["date"]), recorded["nrs"].to_numpy())
    band.set_data(x, expected["low"].to_numpy(), expected["high"].to_numpy())
    line.set_data(x, expected["expected"].to_numpy())
    return ax


def _date_numbers(dates) -> np.ndarray:
    """Dates as matplotlib's float day numbers."""
    import matplotlib.dates as mdates

    return mdates.date2num(pd.to_datetime(dates).to_numpy())


def benefit_ranges(*, evidence=None, assumptions=None, arms=None, ax=None, highlight=None):
    """The evidence's benefit range for each plan arm, coloured by evidence level.

    Parameters
    ----------
    arms : sequence of str, optional
        Which arms to draw (default: all).
    highlight : sequence of str, optional
        Arms to draw in bold (e.g. the chosen plan).

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .evidence import load_evidence
    from .expectations import estimate_cohort

    evidence = evidence or load_evidence()
    table = evidence.arms if arms is None else evidence.arms[evidence.arms["arm"].isin(list(arms))]
    ranges = estimate_cohort(
        pd.DataFrame({"plan": table["arm"].to_numpy(), "baseline": 10.0}),
        assumptions=assumptions,
        evidence=evidence,
    )
    data = table.assign(
        low=ranges["reduction_low_pct"].to_numpy(),
        high=ranges["reduction_high_pct"].to_numpy(),
        mid=ranges["reduction_pct"].to_numpy(),
    ).sort_values("mid", ascending=False, kind="stable")  # largest benefit at the top
    import seaborn as sns
    from matplotlib.lines import Line2D

    ax = _axes(ax, size=(7, 0.45 * len(data) + 1))
    data = data.assign(y=np.arange(len(data))[::-1])  # first row (largest benefit) at the top
    levels = [level for level in LEVEL_COLOURS if level in set(data["evidence_level"])]
    levels += sorted(set(data["evidence_level"]) - set(levels))
    palette = {level: LEVEL_COLOURS.get(level, "#666666") for level in levels}
    # axes first: with labels and ticks set, seaborn has no tick labels to compute
    ax.set_xlabel("Pain reduction at the reference time (%)")
    ax.set_ylabel("Treatment")
    ax.set_xlim(0, 100)
    ax.set_yticks(data["y"], data["label"])
    for label, arm in zip(ax.get_yticklabels(), data["arm"]):
        if highlight and arm in set(highlight):
            label.set_fontweight("bold")
    ax.hlines(data["y"], data["low"], data["high"], colors=[palette[v] for v in data["evidence_level"]], linewidth=8)
    sns.scatterplot(data=data, x="mid", y="y", hue="evidence_level", hue_order=levels, palette=palette, s=40,
                    edgecolor="black", zorder=3, legend=False, ax=ax)
    ax.set_ylabel("")
    handles = [Line2D([], [], linestyle="none", marker="o", markersize=6, markerfacecolor=palette[level],
                      markeredgecolor="black", label=level) for level in levels]
    ax.legend(handles=handles, title="evidence", loc="lower right", frameon=False, fontsize="small")
    ax.set_title("Typical benefit by treatment (the article)")
    return ax


def trajectories(estimates: Mapping, *, ax=None):
    """Expected trajectories of several estimates, each with its range.

    Parameters
    ----------
    estimates : mapping of label to :class:`~painkit.expectations.Estimate`

    Returns
    -------
    matplotlib.axes.Axes
    """
    import seaborn as sns

    ax = _axes(ax)
    palette = sns.color_palette("colorblind", n_colors=max(len(estimates), 1))
    for i, (colour, (label, est)) in enumerate(zip(palette, estimates.items())):
        t = est.trajectory
        ax.fill_between(t["week"], t["low"], t["high"], color=colour, alpha=0.2, linewidth=0, gid=f"{DYNAMIC}band-{i}")
        ax.plot(t["week"], t["expected"], color=colour, label=f"{label} ({est.combine})" if len(est.plan) > 1 else label,
                gid=f"{DYNAMIC}line-{i}")
    ax.set_ylim(0, 10)
    ax.set_xlabel("Weeks on the plan")
    ax.set_ylabel("Expected pain (NRS 0-10)")
    ax.set_title("Expected trajectories")
    ax.legend(frameon=False, fontsize="small").set_gid(DYNAMIC + "legend")
    return ax


def update_trajectories(ax, estimates: Mapping):
    """Move the bands and lines of a :func:`trajectories` chart to new estimates of the same
    plans, rule and horizon (a new baseline); labels and axes stay as drawn.

    Returns
    -------
    matplotlib.axes.Axes
    """
    for i, est in enumerate(estimates.values()):
        t = est.trajectory
        week = t["week"].to_numpy(dtype=float)
        _gid(ax, f"band-{i}").set_data(week, t["low"].to_numpy(), t["high"].to_numpy())
        _gid(ax, f"line-{i}").set_data(week, t["expected"].to_numpy())
    return ax


def waterfall(data: pd.DataFrame, *, column: str = "change_pct", hue: str | None = None, thresholds=(-30, -50), ax=None):
    """Waterfall of per-patient percent change, sorted, with reference lines.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient.
    column : str
        Percent change from baseline (negative = less pain).
    hue : str, optional
        Column to colour the bars by (e.g. ``"plan"``).
    thresholds : sequence of float
        Reference lines (IMMPACT moderate and substantial by default).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import seaborn as sns

    ax = _axes(ax, size=(8, 4))
    ordered = data.dropna(subset=[column]).sort_values(column, ascending=False).reset_index(drop=True)
    ordered = ordered.assign(_rank=np.arange(len(ordered)))
    sns.barplot(data=ordered, x="_rank", y=column, hue=hue, dodge=False, ax=ax, width=1.0, linewidth=0)
    for value in thresholds:
        ax.axhline(value, color="black", linestyle=":", linewidth=1)
    if hue is not None and ax.get_legend() is not None:  # the lower left stays empty: bars there are positive
        ax.legend(title=hue, loc="lower left", ncol=2, fontsize="x-small", title_fontsize="small", frameon=False)
    ax.set_xticks([])
    ax.set_xlabel(f"Patients (n={len(ordered)}), sorted")
    ax.set_ylabel("Change in pain from baseline (%)")
    ax.set_title("Percent change from baseline per patient")
    return ax


def responder_chart(rates: pd.DataFrame, *, ax=None):
    """Responder rates per group and threshold with their confidence intervals.

    Parameters
    ----------
    rates : pandas.DataFrame
        :func:`painkit.reports.responder_rates` output (``group``, ``threshold_pct``, ``rate``,
        ``ci_low``, ``ci_high``; rates as fractions).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> r = pd.DataFrame({"group": ["all", "all"], "threshold_pct": [30, 50], "rate": [0.5, 0.2],
    ...                   "ci_low": [0.3, 0.1], "ci_high": [0.7, 0.4]})
    >>> [float(v) for v in responder_chart(r).get_xlim()]
    [0.0, 100.0]
    """
    ax = _axes(ax, size=(7, 0.5 * max(rates["group"].nunique(), 1) + 1.5))
    groups = list(dict.fromkeys(rates["group"]))
    y = {g: i for i, g in enumerate(groups)}
    for k, (threshold, part) in enumerate(rates.groupby("threshold_pct", sort=True)):
        pos = np.array([y[g] for g in part["group"]]) + (k - 0.5) * 0.3
        rate = 100 * part["rate"].to_numpy(dtype=float)
        err = np.vstack([rate - 100 * part["ci_low"].to_numpy(dtype=float), 100 * part["ci_high"].to_numpy(dtype=float) - rate])
        ax.errorbar(rate, pos, xerr=np.nan_to_num(err), fmt="o", capsize=3, label=f">= {threshold:g}% reduction")
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels(groups)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("Responders (%), 95% interval")
    ax.set_title("Responder rates")
    ax.legend(frameon=False, fontsize="small")
    return ax


def response_curve(curves: Mapping, *, ax=None, threshold: float = 30):
    """Kaplan-Meier cumulative share of patients who reached a response, one step line per group.

    Parameters
    ----------
    curves : mapping of label to dict
        Each with ``weeks`` and ``share`` arrays (see :func:`painkit.reports.kaplan_meier`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    for label, curve in curves.items():
        ax.step(curve["weeks"], 100 * np.asarray(curve["share"], dtype=float), where="post", label=str(label))
    ax.set_ylim(0, 100)
    ax.set_xlabel("Weeks on the plan")
    ax.set_ylabel(f"Reached a {threshold:g}% reduction (%)")
    ax.set_title(f"Time to a {threshold:g}% response (Kaplan-Meier)")
    if curves:
        ax.legend(frameon=False, fontsize="small")
    return ax
