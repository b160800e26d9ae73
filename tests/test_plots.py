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
