"""The evidence explorer: filters, plan comparison, combination switch, charts, assumptions."""

from __future__ import annotations

import subprocess
import sys

import pytest

import painkit
from painkit.widgets import ExplorerModel, build_explorer

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def app():
    return build_explorer(deferred=False)


def test_filters_by_level_and_kind(app):
    assert len(app.model.table) == len(painkit.load_evidence().arms)
    app.levels.value = ("high",)
    assert sorted(app.model.table["arm"]) == ["cbt", "pt", "scs"]
    assert "Spinal cord stimulation" in app.table_html.value and "MBSR" not in app.table_html.value
    app.kinds.value = ("psychological",)
    assert list(app.model.table["arm"]) == ["cbt"]
    assert "Modifies pain-related cognitions" in app.table_html.value  # the mechanism column
    app.levels.value = ("pilot",)
    assert app.model.table.empty and "No treatment matches" in app.table_html.value
    assert "No treatment matches" in app.benefit_chart.caption.value
    app.levels.value = ()
    app.kinds.value = ()
    assert len(app.model.table) == len(painkit.load_evidence().arms)


def test_plans_compared_side_by_side(app):
    app.baseline.value = 6
    app.plan_pickers[0].value = ("pt",)
    app.plan_pickers[1].value = ("scs",)
    app.plan_pickers[2].value = ("cbt", "mbsr_8wk")
    table = app.model.comparison.set_index("plan")
    assert list(table.index) == ["pt", "scs", "cbt+mbsr_8wk"]
    for plan in table.index:
        est = painkit.estimate(6, plan)
        assert table.loc[plan, "expected"] == pytest.approx(est.expected)
        assert (table.loc[plan, "low"], table.loc[plan, "high"]) == pytest.approx((est.low, est.high))
        assert (table.loc[plan, "p30"], table.loc[plan, "p50"]) == pytest.approx((est.p30, est.p50))
    html = app.comparison_html.value
    assert "baseline of 6" in html and "chance ≥30%" in html and "chance ≥50%" in html
    assert f"{painkit.estimate(6, 'scs').p50:.0%}" in html
    assert set(app.model.estimates) == {"pt", "scs", "cbt+mbsr_8wk"}
    assert "cbt+mbsr_8wk" in app.trajectory_chart.caption.value or app.trajectory_chart.renders > 0


def test_combination_rule_switch(app):
    app.plan_pickers[0].value = ("pt",)
    app.plan_pickers[1].value = ("cbt", "pt")
    app.plan_pickers[2].value = ()
    single = app.model.comparison.set_index("plan").loc["pt", "expected"]
    results = {}
    for rule in ("best", "independent", "damped"):
        app.combine.value = rule
        table = app.model.comparison.set_index("plan")
        results[rule] = table.loc["cbt+pt", "expected"]
        assert table.loc["pt", "expected"] == single  # one arm: the rule does not matter
        assert results[rule] == pytest.approx(painkit.estimate(7, "cbt+pt", combine=rule).expected)
        rows = app.model.assumptions.set_index("name")
        assert rows.loc["combination_rule", "value"] == rule
        assert "cbt+pt" in rows.loc["combination_rule", "used_by"]
        assert rule in app.comparison_html.value
    assert results["independent"] < results["damped"] < results["best"]


def test_needs_two_plans_and_names_unknown_treatments():
    m = ExplorerModel(plans=["pt", "", ""])
    assert "at least two" in m.message
    m.plans = ["pt", "acupuncture"]
    assert "Plan B" in m.message and "acupuncture" in m.message
    assert list(m.comparison["plan"]) == ["pt"]


def test_charts_redraw_on_change(app):
    assert bytes(app.benefit_chart.image.value).startswith(PNG)
    first = bytes(app.trajectory_chart.image.value)
    renders = app.trajectory_chart.renders
    app.baseline.value = 9
    assert app.trajectory_chart.renders == renders + 1
    assert bytes(app.trajectory_chart.image.value) != first
    assert "baseline 9" in app.trajectory_chart.caption.value


def test_assumptions_and_disclaimer_shown(app):
    html = "".join(getattr(w, "value", "") for w in app.children)
    assert painkit.DISCLAIMER in html
    for name in painkit.load_evidence().assumption_table["name"]:
        assert name in app.assumptions_html.value


def test_models_do_not_import_ipywidgets():
    code = ("import sys, painkit.widgets as w; m = w.TrackerModel(store=':memory:'); e = w.ExplorerModel();"
            "assert 'ipywidgets' not in sys.modules, 'a model imported ipywidgets'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
