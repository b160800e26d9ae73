"""Charts: they draw what they are given, whatever form the plan takes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from painkit import plots
from painkit.expectations import trajectory


@pytest.mark.parametrize("plan", ["pt+cbt", ["pt", "cbt"], ("cbt", "pt")])
def test_progress_chart_draws_the_band_for_any_plan_form(plan):
    visits = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-02-02", "2026-03-02"]), "nrs": [7, 6, 5]})
    ax = plots.progress_chart(visits, baseline=7, plan=plan, plan_start="2026-01-05")
    expected_line = ax.get_lines()[0]
    t = trajectory(7, "pt+cbt", horizon_weeks=26)
    # the dashed line ends at the 26-week expectation
    assert expected_line.get_ydata()[-1] == pytest.approx(t["expected"].iloc[-1])
    observed = [line for line in ax.get_lines() if line.get_marker() == "o"][0]
    assert list(np.asarray(observed.get_ydata(), dtype=float)) == [7, 6, 5]
    matplotlib.pyplot.close(ax.figure)


def test_benefit_ranges_draws_one_row_per_arm():
    ax = plots.benefit_ranges(arms=["cbt", "pt", "scs"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # largest typical benefit first (at the top)
    assert labels == ["Spinal cord stimulation", "Physical therapy (graded exercise)", "Cognitive-behavioral therapy"]
    matplotlib.pyplot.close(ax.figure)


def test_update_progress_chart_moves_band_and_scores_to_what_a_fresh_chart_draws():
    from matplotlib.figure import Figure

    visits = pd.DataFrame({"date": pd.to_datetime(["2026-01-05", "2026-03-02", "2026-02-02", "2026-03-30"]),
                           "nrs": [8, 5, 6, np.nan]})
    kw = dict(plan="cbt+pt", plan_start="2026-01-05", combine="independent")
    fresh = Figure().add_subplot()
    plots.progress_chart(visits, baseline=5, ax=fresh, **kw)
    moved = Figure().add_subplot()
    plots.progress_chart(visits.iloc[:2], baseline=9, ax=moved, **kw)
    plots.update_progress_chart(moved, visits, baseline=5, **kw)
    for name in ("band", "expected", "recorded"):
        a, b = plots._gid(fresh, name), plots._gid(moved, name)
        pa = a.get_paths()[0].vertices if name == "band" else np.column_stack(a.get_data())
        pb = b.get_paths()[0].vertices if name == "band" else np.column_stack(b.get_data())
        np.testing.assert_allclose(np.asarray(pa, dtype=float), np.asarray(pb, dtype=float))
    with pytest.raises(LookupError):
        plots.update_progress_chart(Figure().add_subplot(), visits, baseline=5, **kw)


def test_update_trajectories_moves_every_plan():
    from matplotlib.figure import Figure

    from painkit.expectations import estimate

    fresh, moved = Figure().add_subplot(), Figure().add_subplot()
    plots.trajectories({"A": estimate(4, "cbt"), "B": estimate(4, ["pt", "scs"])}, ax=fresh)
    plots.trajectories({"A": estimate(8, "cbt"), "B": estimate(8, ["pt", "scs"])}, ax=moved)
    plots.update_trajectories(moved, {"A": estimate(4, "cbt"), "B": estimate(4, ["pt", "scs"])})
    for name in ("band-0", "line-0", "band-1", "line-1"):
        a, b = plots._gid(fresh, name), plots._gid(moved, name)
        pa = a.get_paths()[0].vertices if name.startswith("band") else np.column_stack(a.get_data())
        pb = b.get_paths()[0].vertices if name.startswith("band") else np.column_stack(b.get_data())
        np.testing.assert_allclose(np.asarray(pa, dtype=float), np.asarray(pb, dtype=float))
