"""painkit: track chronic-pain treatment against the evidence.

Not medical advice: painkit turns published evidence into expectations and tracks recorded
scores against them; it does not diagnose, prescribe or give dosing advice.

The public API is listed in ``__all__``. Each module holds one concern:

================  ===========================================================================
evidence          the evidence base (``data/evidence``) and the named assumptions
expectations      the outcome estimator: expected NRS, range, chances, trajectories
schema            the patients/assessments table contract and its validation
instruments       NRS, BPI, PEG-3, six-minute walk scoring (a registry)
rules             tracking thresholds (``data/evidence/tracking_rules.csv``)
tracking          change, IMMPACT category, reversal, position, stalls, cohort summary
alerts            red flags first, then the article's advice and pitfalls
plan              the article's 8-step plan as a dated schedule
store             the embedded SQLite store with an append-only history
exchange, fhir    CSV/Excel import and export, FHIR R4, de-identified export
sample            the seeded synthetic cohort
plots             charts shared by apps and reports
reports, batch    papermill reports and the batch runner
widgets           the tracker and evidence-explorer apps
cli               the ``painkit`` command
================  ===========================================================================

Modules with heavy imports (the store, exchange, reports, batch, widgets) load on first use.
"""

from __future__ import annotations

import importlib

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

#: Public names loaded on first use, by module.
_LAZY = {
    "schema": ["validate_patients", "validate_assessments", "PATIENT_FIELDS", "ASSESSMENT_FIELDS", "RED_FLAGS"],
    "instruments": ["score_instruments", "register_instrument", "INSTRUMENTS", "bpi_severity",
                    "bpi_interference", "peg_score", "six_minute_walk", "severity_band", "nrs_score"],
    "rules": ["TrackingRules", "load_tracking_rules"],
    "tracking": ["track", "alerts", "summarize_cohort", "summarize_patient", "next_due", "SUMMARY_COLUMNS"],
    "plan": ["personal_plan", "remeasure_dates"],
    "store": ["Store", "default_db_path"],
    "exchange": ["read_cohort", "write_cohort", "deidentify", "write_deidentified"],
    "fhir": ["fhir_bundle", "write_fhir"],
    "sample": ["synthetic_cohort", "write_sample", "SAMPLE_COHORT"],
    "batch": ["run_batch"],
    "reports": ["render_patient_html", "render_cohort_html"],
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'painkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


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
    *_WHERE,
]
