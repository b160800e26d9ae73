"""State of the evidence explorer, without any widget: a :class:`traitlets.HasTraits` model.

Inputs: the evidence levels and kinds of treatment to show, a baseline, two or more plans and
the combination rule. Outputs: the filtered evidence table, the side-by-side comparison of the
plans (expected level at 6 months, range, chance of a 30% and a 50% reduction) with their
estimates (for the trajectories), and the modelling assumptions in force. Every figure comes
from :func:`painkit.load_evidence` and :func:`painkit.estimate`.
"""

from __future__ import annotations

import math

import pandas as pd
import traitlets as t

from ..errors import PainkitError
from ..evidence import COMBINATION_RULES, load_evidence, parse_plan, plan_label
from ..expectations import estimate
from ._traits import Frame

__all__ = ["ExplorerModel", "COMPARISON_COLUMNS"]

#: Columns of :attr:`ExplorerModel.comparison`.
COMPARISON_COLUMNS = ("plan", "label", "expected", "low", "high", "reduction_pct", "p30", "p50", "combine")


class ExplorerModel(t.HasTraits):
    """The evidence explorer's state and outputs.

    Examples
    --------
    >>> m = ExplorerModel(plans=["pt", "cbt"], baseline=7)
    >>> m.comparison[["plan", "expected"]].round(1).values.tolist()
    [['pt', 3.3], ['cbt', 4.2]]
    >>> m.levels = ("high",)
    >>> sorted(m.table["arm"])
    ['cbt', 'pt', 'scs']
    """

    levels = t.Tuple(help="Evidence levels shown (empty: all)")
    kinds = t.Tuple(help="Kinds of treatment shown (empty: all)")
    baseline = t.Int(7, min=0, max=10)
    plans = t.List(t.Unicode(), default_value=["pt", "cbt", "cbt+pt"], help="Plans compared ('+'-joined arm ids)")
    combine = t.Enum(COMBINATION_RULES, default_value="best")

    table = Frame()
    comparison = Frame()
    estimates = t.Dict()
    highlight = t.Tuple()
    assumptions = Frame()
    message = t.Unicode("")

    def __init__(self, *, evidence=None, **kwargs):
        self.evidence = evidence or load_evidence()
        super().__init__(**kwargs)
        self._filter()
        self._compare()

    def level_options(self) -> list[str]:
        return list(dict.fromkeys(self.evidence.arms["evidence_level"]))

    def kind_options(self) -> list[str]:
        return list(dict.fromkeys(self.evidence.arms["kind"]))

    @t.observe("levels", "kinds")
    def _on_filter(self, change):
        self._filter()

    def _filter(self) -> None:
        arms = self.evidence.arms
        treatments = self.evidence.treatments.set_index("modality")
        keep = pd.Series(True, index=arms.index)
        if self.levels:
            keep &= arms["evidence_level"].isin(self.levels)
        if self.kinds:
            keep &= arms["kind"].isin(self.kinds)
        shown = arms.loc[keep, ["arm", "label", "kind", "low_pct", "high_pct", "reference_weeks",
                                "evidence_level", "source", "quote"]].copy()
        shown.insert(3, "mechanism", arms.loc[keep, "modality"].map(treatments["mechanism"]).fillna(""))
        self.table = shown.reset_index(drop=True)

    @t.observe("baseline", "plans", "combine")
    def _on_compare(self, change):
        self._compare()

    def _compare(self) -> None:
        rows, estimates, problems, arms = [], {}, [], set()
        for i, raw in enumerate(self.plans):
            if not str(raw).strip():
                continue
            try:
                plan = parse_plan(raw, self.evidence)
            except PainkitError as exc:
                problems.append(f"Plan {chr(65 + i)}: {exc}")
                continue
            label = plan_label(plan)
            if label in estimates:
                continue
            est = estimate(self.baseline, list(plan), combine=self.combine, evidence=self.evidence)
            estimates[label] = est
            arms.update(plan)
            rows.append({
                "plan": label,
                "label": " + ".join(self.evidence.label(a) for a in plan),
                "expected": est.expected, "low": est.low, "high": est.high,
                "reduction_pct": est.reduction_pct,
                "p30": est.p30, "p50": est.p50, "combine": est.combine,
            })
        if len(rows) < 2 and not problems:
            problems.append("Compare at least two different plans.")
        self.comparison = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
        self.estimates = estimates
        self.highlight = tuple(sorted(arms))
        self.assumptions = self._assumptions(estimates)
        self.message = " ".join(problems)

    def _assumptions(self, estimates) -> pd.DataFrame:
        """The assumption table with the values in force and which plans depend on each."""
        table = self.evidence.assumption_table[["name", "value", "unit", "description"]].copy()
        table.loc[table["name"] == "combination_rule", "value"] = self.combine
        used = {}
        for label, est in estimates.items():
            for arm in est.plan:
                for name in self.evidence.arm_info[arm]["assumption_names"]:
                    used.setdefault(name, []).append(label)
            if len(est.plan) > 1:
                used.setdefault("combination_rule", []).append(label)
                if self.combine == "damped":
                    used.setdefault("damped_weight", []).append(label)
            used.setdefault("individual_sd_pct", []).append(label)
        table["used_by"] = table["name"].map(lambda n: ", ".join(dict.fromkeys(used.get(n, []))))
        return table.reset_index(drop=True)

    def chance_text(self, value: float) -> str:
        return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.0%}"
