"""The evidence explorer's view: ipywidgets linked to an :class:`~painkit.widgets.ExplorerModel`.

Shows the evidence table filtered by evidence level and kind of treatment (with each
modality's mechanism), the 6-month benefit ranges (:func:`painkit.plots.benefit_ranges`),
two or more plans compared side by side for a chosen baseline (expected level, range, chance of
a 30% and a 50% reduction, trajectories by :func:`painkit.plots.trajectories`), the combination
rule as a visible switch and the modelling assumptions in force::

    from painkit.widgets import build_explorer
    build_explorer()
"""

from __future__ import annotations

import html

import ipywidgets as W

from .. import DISCLAIMER
from ..evidence import COMBINATION_RULES
from ._chart import CSS, LazyChart
from .explorer_model import ExplorerModel

__all__ = ["ExplorerApp", "build_explorer"]

_WIDE = {"description_width": "initial"}
_PLAN_NAMES = ("Plan A", "Plan B", "Plan C")


class ExplorerApp(W.VBox):
    """The evidence explorer as one widget; ``app.model`` is its :class:`ExplorerModel`."""

    def __init__(self, model: ExplorerModel | None = None, *, deferred=None, **kwargs):
        self.model = m = model or ExplorerModel()
        arms = [(m.evidence.label(a), a) for a in m.evidence.arm_ids]
        self.levels = W.SelectMultiple(options=m.level_options(), value=m.levels, description="Evidence level",
                                       rows=6, style=_WIDE)
        self.kinds = W.SelectMultiple(options=m.kind_options(), value=m.kinds, description="Kind / mechanism",
                                      rows=6, style=_WIDE)
        self.table_html = W.HTML()
        self.table_html.add_class("painkit-evidence-table")
        self.benefit_chart = LazyChart(self._draw_benefits, size=(7.5, 4.6), deferred=deferred,
                                       margins=dict(left=0.34, right=0.98, top=0.92, bottom=0.12),
                                       description="Benefit ranges")
        self.baseline = W.IntSlider(value=m.baseline, min=0, max=10, description="Baseline pain", style=_WIDE)
        slider_row = W.HBox([W.HTML("0 (No pain)"), self.baseline, W.HTML("10 (Worst pain)")],
                            layout=W.Layout(align_items="center"))
        self.plan_pickers = []
        for i, name in enumerate(_PLAN_NAMES):
            value = tuple(m.plans[i].split("+")) if i < len(m.plans) and m.plans[i] else ()
            picker = W.SelectMultiple(options=arms, value=value, description=name, rows=6, style=_WIDE,
                                      layout=W.Layout(width="auto"))
            picker.observe(self._on_plans, "value")
            self.plan_pickers.append(picker)
        self.combine = W.ToggleButtons(options=list(COMBINATION_RULES), value=m.combine, description="Combination rule",
                                       tooltips=["largest single benefit", "remaining pain multiplies",
                                                 "best plus a weight times the extra of independent"], style=_WIDE)
        self.combine.add_class("painkit-combine")
        self.comparison_html = W.HTML()
        self.comparison_html.add_class("painkit-comparison")
        self.message = W.HTML()
        self.trajectory_chart = LazyChart(self._draw_trajectories, deferred=deferred, description="Trajectories",
                                          update=self._update_trajectories, key=self._trajectories_key)
        self.assumptions_html = W.HTML()
        super().__init__([
            W.HTML(CSS), W.HTML("<h2>Evidence explorer</h2>"),
            W.HTML(f"<div class='painkit-disclaimer' style='background:#fff3cd;padding:6px'><b>{html.escape(DISCLAIMER)}</b></div>"),
            W.HTML("<h3>The evidence</h3>"), W.HBox([self.levels, self.kinds]), self.table_html,
            self.benefit_chart.widget,
            W.HTML("<h3>Compare plans</h3>"), slider_row, W.HBox(self.plan_pickers), self.combine,
            self.message, self.comparison_html, self.trajectory_chart.widget,
            W.HTML("<h3>Assumptions</h3>"), self.assumptions_html,
        ], **kwargs)
        self.add_class("painkit-explorer")
        self.levels.observe(lambda c: setattr(m, "levels", tuple(c["new"])), "value")
        self.kinds.observe(lambda c: setattr(m, "kinds", tuple(c["new"])), "value")
        self.baseline.observe(lambda c: setattr(m, "baseline", c["new"]), "value")
        self.combine.observe(lambda c: setattr(m, "combine", c["new"]), "value")
        m.observe(self._show_table, "table")
        m.observe(self._show_comparison, ["comparison", "message"])
        m.observe(self._show_assumptions, "assumptions")
        m.observe(lambda c: self.benefit_chart.invalidate(), ["table", "highlight"])
        m.observe(lambda c: self.trajectory_chart.invalidate(), "estimates")
        self._show_table()
        self._show_comparison()
        self._show_assumptions()
        self.benefit_chart.invalidate()
        self.trajectory_chart.invalidate()

    def _on_plans(self, change=None):
        self.model.plans = ["+".join(p.value) for p in self.plan_pickers]

    def _show_table(self, change=None):
        table = self.model.table
        if table.empty:
            self.table_html.value = "<p><i>No treatment matches these filters.</i></p>"
            return
        shown = table.rename(columns={"low_pct": "low %", "high_pct": "high %", "reference_weeks": "weeks"})
        self.table_html.value = shown.to_html(index=False, border=0, classes="painkit-evidence", na_rep="")

    def _show_comparison(self, change=None):
        m = self.model
        self.message.value = (f"<div role='alert' style='color:#b2182b'>{html.escape(m.message)}</div>" if m.message else "")
        if m.comparison.empty:
            self.comparison_html.value = ""
            return
        shown = m.comparison.assign(
            expected=m.comparison["expected"].round(1),
            range=[f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(m.comparison["low"], m.comparison["high"])],
            reduction=[f"{r:.0f}%" for r in m.comparison["reduction_pct"]],
            **{"chance ≥30%": [m.chance_text(v) for v in m.comparison["p30"]],
               "chance ≥50%": [m.chance_text(v) for v in m.comparison["p50"]]},
        )[["plan", "label", "expected", "range", "reduction", "chance ≥30%", "chance ≥50%", "combine"]]
        self.comparison_html.value = (f"<p>At 6 months from a baseline of {m.baseline}:</p>"
                                      + shown.to_html(index=False, border=0, classes="painkit-comparison-table"))

    def _show_assumptions(self, change=None):
        table = self.model.assumptions
        self.assumptions_html.value = table.to_html(index=False, border=0, classes="painkit-assumptions")

    def _draw_benefits(self, ax):
        from ..plots import benefit_ranges

        m = self.model
        arms = list(m.table["arm"])
        if not arms:
            ax.text(0.5, 0.5, "No treatment matches the filters", ha="center", va="center", transform=ax.transAxes)
            return "No treatment matches the filters."
        benefit_ranges(evidence=m.evidence, arms=arms, highlight=m.highlight, ax=ax)
        return f"{len(arms)} treatment(s); plans' arms in bold."

    def _draw_trajectories(self, ax):
        from ..plots import trajectories

        m = self.model
        if not m.estimates:
            ax.text(0.5, 0.5, "Choose plans to compare", ha="center", va="center", transform=ax.transAxes)
            return "No plan chosen."
        trajectories(m.estimates, ax=ax)
        return self._trajectories_caption()

    def _trajectories_caption(self) -> str:
        m = self.model
        return f"Expected trajectories from baseline {m.baseline} ({m.combine} rule for combined plans)."

    def _trajectories_key(self):
        """What the trajectories chart's picture depends on besides the baseline."""
        m = self.model
        if not m.estimates:
            return None
        return (m.combine, tuple((label, tuple(est.plan), len(est.trajectory)) for label, est in m.estimates.items()))

    def _update_trajectories(self, ax):
        from ..plots import update_trajectories

        try:
            update_trajectories(ax, self.model.estimates)
        except LookupError:
            return None
        return self._trajectories_caption()


def build_explorer(*, deferred=None, freeze_gc=None) -> ExplorerApp:
    """The evidence explorer app (``freeze_gc`` as in :func:`~painkit.widgets.build_tracker`).

    Examples
    --------
    >>> app = build_explorer(deferred=True)
    >>> app.combine.value = "independent"
    >>> "independent" in app.comparison_html.value
    True
    """
    from ._gc import freeze_startup_objects

    app = ExplorerApp(deferred=deferred)
    freeze_startup_objects(freeze_gc)
    return app
