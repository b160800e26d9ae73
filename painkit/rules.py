"""The settings tracking, scoring and the personal plan rest on, each with its source.

:class:`TrackingRules` holds every number (IMMPACT thresholds, the article's re-measure
interval and review points, the stall rule, the band tolerance, the instruments' missing-item
rules, the six-minute-walk limits, the plan's exercise progression). Its defaults are loaded
from ``data/evidence/tracking_rules.csv`` (columns ``name``, ``value``, ``unit``,
``description``, ``source``), where each number has its source or is marked as an assumption.
Pass a variant (``rules.with_(...)``) to any function that takes ``rules``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import EvidenceError, InputError

__all__ = ["RULES_PATH", "TrackingRules", "load_tracking_rules"]

RULES_PATH = Path(__file__).resolve().parent.parent / "data" / "evidence" / "tracking_rules.csv"


@dataclass(frozen=True)
class TrackingRules:
    """The numbers tracking and scoring rest on; defaults from ``tracking_rules.csv``.

    Each field is documented there with its unit and source (or marked as an assumption).
    Make a variant with :meth:`with_`, e.g. ``rules.with_(band_tolerance_points=0.5)``.
    """

    immpact_minimal_pct: float = 10.0
    immpact_moderate_pct: float = 30.0
    immpact_substantial_pct: float = 50.0
    clinically_important_points: float = 2.0
    clinically_important_pct: float = 30.0
    reversal_complete_weeks: float = 26.0
    reversal_significant_pct: float = 50.0
    remeasure_weeks: float = 4.0
    advanced_review_weeks: float = 13.0
    advanced_review_nrs: float = 5.0
    gabapentinoid_review_weeks: float = 26.0
    stall_window_weeks: float = 4.0
    stall_min_points: float = 1.0
    stall_target_pct: float = 50.0
    band_tolerance_points: float = 1.0
    missed_exercise_ratio: float = 0.8
    bpi_severity_min_items: float = 3.0
    bpi_interference_min_items: float = 4.0
    peg_min_items: float = 3.0
    eppoc_moderate_min: float = 5.0
    eppoc_severe_min: float = 7.0
    walk_lln_men_m: float = 153.0
    walk_lln_women_m: float = 139.0
    walk_age_min: float = 40.0
    walk_age_max: float = 80.0
    exercise_progression_pct: float = 10.0
    plan_starting_load: float = 60.0
    plan_max_load: float = 300.0
    psych_block_weeks: float = 8.0
    medication_followup_weeks: float = 4.0

    def __post_init__(self):
        if not (0 <= self.immpact_minimal_pct <= self.immpact_moderate_pct <= self.immpact_substantial_pct <= 100):
            raise InputError("IMMPACT thresholds must rise: 0 <= minimal <= moderate <= substantial <= 100")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
                raise InputError(f"tracking rule {f.name} = {value!r}: allowed: a number >= 0")

    def with_(self, **changes) -> "TrackingRules":
        """A copy with some rules changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_table(cls, table: pd.DataFrame, path="tracking_rules.csv") -> "TrackingRules":
        """Rules from a table with columns name, value, unit, description, source."""
        fields = {f.name for f in dataclasses.fields(cls)}
        missing_cols = {"name", "value", "unit", "description", "source"} - set(table.columns)
        if missing_cols:
            raise EvidenceError(f"{path}: missing column(s) {', '.join(sorted(missing_cols))}")
        values = {}
        for i, row in enumerate(table.itertuples(index=False), start=2):
            if row.name not in fields:
                raise EvidenceError(f"{path}: row {i}, column 'name': unknown rule {row.name!r}")
            if not isinstance(row.source, str) or not row.source.strip():
                raise EvidenceError(f"{path}: row {i}, column 'source': rule {row.name!r} has no source")
            try:
                values[row.name] = float(row.value)
            except (TypeError, ValueError):
                raise EvidenceError(f"{path}: row {i}, column 'value': {row.value!r} is not a number") from None
        missing = fields - set(values)
        if missing:
            raise EvidenceError(f"{path}: missing rule(s) {', '.join(sorted(missing))}")
        try:
            return cls(**values)
        except InputError as exc:
            raise EvidenceError(f"{path}: {exc}") from None


@functools.lru_cache(maxsize=4)
def _load_rules(path: str, stamp) -> TrackingRules:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: cannot be read ({exc})") from None
    return TrackingRules.from_table(table, path)


def load_tracking_rules(path=None) -> TrackingRules:
    """Load the rules from ``data/evidence/tracking_rules.csv`` (cached until it changes).

    >>> load_tracking_rules().remeasure_weeks
    4.0
    """
    path = Path(path or os.environ.get("PAINKIT_TRACKING_RULES") or RULES_PATH)
    try:
        st = path.stat()
    except OSError:
        raise EvidenceError(f"{path}: tracking rules file not found") from None
    return _load_rules(str(path), (st.st_mtime_ns, st.st_size))

