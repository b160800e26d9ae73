"""painkit: track chronic-pain treatment against the evidence.

Not medical advice: painkit turns published evidence into expectations and tracks recorded
scores against them; it does not diagnose, prescribe or give dosing advice.

The public API is listed in ``__all__``; modules hold one concern each:
:mod:`painkit.evidence` (the evidence base), :mod:`painkit.expectations` (the estimator).
"""

from .errors import (
    EmptyPlanError,
    EvidenceError,
    InputError,
    PainkitError,
    ReportError,
    StoreError,
    UnknownModalityError,
    ValidationError,
)
from .evidence import Assumptions, Evidence, load_evidence, parse_plan, plan_label
from .expectations import (
    OUTCOME_WEEKS,
    Estimate,
    estimate,
    estimate_cohort,
    expectations_text,
    expected_band,
    simulate_reductions,
    trajectory,
)

__version__ = "0.1.0"

#: Shown on every report and app.
DISCLAIMER = (
    "Not medical advice. painkit compares recorded pain scores with published evidence; it does "
    "not diagnose, prescribe or give dosing advice. Discuss any change of treatment with your "
    "clinician, and seek urgent care for red-flag symptoms."
)

__all__ = [
    "DISCLAIMER",
    "Assumptions",
    "EmptyPlanError",
    "Estimate",
    "Evidence",
    "EvidenceError",
    "InputError",
    "OUTCOME_WEEKS",
    "PainkitError",
    "ReportError",
    "StoreError",
    "UnknownModalityError",
    "ValidationError",
    "estimate",
    "estimate_cohort",
    "expectations_text",
    "expected_band",
    "load_evidence",
    "parse_plan",
    "plan_label",
    "simulate_reductions",
    "trajectory",
]
