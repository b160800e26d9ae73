"""State of the tracker app, without any widget: a :class:`traitlets.HasTraits` model.

The model holds what the user chose (patient, baseline, plan, combination rule) and what the
app shows (headline, expectations text, assessments scored and tracked, alerts, schedule,
messages). Every figure comes from painkit's core: :func:`painkit.estimate`,
:func:`painkit.instruments.score_instruments`, :func:`painkit.tracking.track`,
:func:`painkit.tracking.alerts`, :func:`painkit.tracking.next_due`,
:func:`painkit.plan.personal_plan` and the store (:class:`painkit.store.Store`). The view
(:mod:`painkit.widgets.tracker`) only links widgets to these traits.

Bad input from a form (a score outside 0-10, a date in the future or before the baseline, an
empty patient id) sets :attr:`TrackerModel.message` with ``message_kind == "error"`` and writes
nothing; the store is only called once the model's own checks pass, and whatever the store
refuses is reported the same way.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import math
import os
from pathlib import Path

import pandas as pd
import traitlets as t

from ..errors import InputError, PainkitError
from ..evidence import COMBINATION_RULES, load_evidence, parse_plan, plan_label
from ..expectations import estimate, expectations_text
from ..schema import ASSESSMENT_FIELDS, BPI_INTERFERENCE, BPI_SEVERITY, PEG_ITEMS, RED_FLAGS
from ._traits import Frame

#: Errors shown in the app as a message: painkit's own, and the store's database failing (locked,
#: unreadable) underneath.
_APP_ERRORS = (PainkitError, sqlite3.Error)
from .tracker_data import LEVEL_ORDER, PatientTables

__all__ = ["TrackerModel", "LEVEL_ORDER", "UPDATE_SCORE_FIELDS"]

#: Where "Generate report" writes (``$PAINKIT_REPORTS`` overrides it).
REPORTS_DIR = Path(__file__).resolve().parent.parent.parent / "reports" / "tracker"
#: Optional 0-10 items of the progress-update form.
UPDATE_SCORE_FIELDS = (*BPI_SEVERITY, *BPI_INTERFERENCE, *PEG_ITEMS)
_FIELD_LABELS = {f.name: f.description for f in ASSESSMENT_FIELDS}


def _today() -> dt.date:
    return dt.date.today()


def _as_date(value, what: str) -> dt.date:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(f"{what}: a date is required (YYYY-MM-DD)")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return pd.Timestamp(str(value).strip()).date()
    except (ValueError, TypeError):
        raise InputError(f"{what}: {value!r} is not a date; allowed: YYYY-MM-DD") from None


def _score(value, what: str, *, required: bool = False):
    """A whole number 0-10 from a form value ('' or None is missing)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(f"{what}: a score is required; allowed: a whole number from 0 to 10")
        return None
    if isinstance(value, bool):
        raise InputError(f"{what}: {value!r} is not a score; allowed: a whole number from 0 to 10")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a number; allowed: a whole number from 0 to 10") from None
    if not (0 <= number <= 10) or number != math.floor(number):
        raise InputError(f"{what}: {value!r} is outside the scale; allowed: a whole number from 0 to 10")
    return int(number)


def _number(value, what: str, low: float, high: float):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a number; allowed: {low:g} to {high:g}") from None
    if not low <= number <= high:
        raise InputError(f"{what}: {value!r} is out of range; allowed: {low:g} to {high:g}")
    return number


class TrackerModel(t.HasTraits):
    """The tracker's state and outputs.

    Parameters
    ----------
    store : painkit.store.Store or path, optional
        Where patients live. A path (or None for ``$PAINKIT_DB`` / ``data/painkit.db``) opens a
        :class:`~painkit.store.Store` when first needed.
    as_of : date, optional
        "Today" for the checks and the alerts (default: the real date, read at each use).
    reports_dir : path, optional
        Where "Generate report" writes; default ``$PAINKIT_REPORTS`` or ``reports/tracker``.

    Examples
    --------
    >>> m = TrackerModel(store=None, baseline=7, plan=("cbt",))
    >>> m.headline
    'Estimated pain reduction: current level 7, expected level 4 (range 4-5) at 6 months'
    >>> m.baseline = 8
    >>> m.current_level, m.expected_level
    (8, 5)
    """

    # ---- inputs
    baseline = t.Int(7, min=0, max=10, help="Baseline NRS 0-10 used for the estimate")
    plan = t.Tuple(("cbt",), help="Canonical arm ids of the plan")
    combine = t.Enum(COMBINATION_RULES, default_value="best")
    patient_id = t.Unicode("", help="Selected stored patient; '' while none is chosen")

    # ---- outputs
    headline = t.Unicode()
    current_level = t.Int()
    expected_level = t.Int()
    range_text = t.Unicode()
    chances_text = t.Unicode()
    expectations = t.Unicode()
    assumption_notes = t.List(t.Unicode())
    whatif_text = t.Unicode("", help="Set when the slider or plan differs from the stored patient's")
    patient_ids = t.List(t.Unicode())
    patient = t.Dict(allow_none=True, default_value=None)
    assessments = Frame()
    progress = Frame()
    alerts = Frame()
    schedule = Frame()
    next_due = t.Unicode("")
    summary = t.Dict(default_value={}, help="painkit.tracking.next_due's row: latest_date, next_due, overdue")
    message = t.Unicode("")
    message_kind = t.Enum(("", "info", "success", "error"), default_value="")
    report_path = t.Unicode("")
    #: Bumped after every change that alters the progress chart's inputs.
    chart_version = t.Int(0)
    #: Bumped once the patient outputs (progress, alerts, schedule, next_due) are all refreshed.
    outputs_version = t.Int(0)

    def __init__(self, store=None, *, as_of=None, evidence=None, reports_dir=None, **kwargs):
        self.reports_dir = Path(reports_dir or os.environ.get("PAINKIT_REPORTS") or REPORTS_DIR)
        self._store_arg = store
        self._store = None
        self._as_of = as_of
        self._tables = None
        self._loading = False
        self.evidence = evidence or load_evidence()
        super().__init__(**kwargs)
        self._recompute_estimate()

    # ------------------------------------------------------------------ helpers
    @property
    def as_of(self) -> dt.date:
        return _as_date(self._as_of, "as_of") if self._as_of is not None else _today()

    @property
    def store(self):
        """The :class:`painkit.store.Store` (opened on first use)."""
        if self._store is None:
            from ..store import Store

            arg = self._store_arg
            self._store = arg if hasattr(arg, "add_update") else Store(arg)
        return self._store

    @property
    def tables(self) -> PatientTables:
        """The store's patients and per-patient outputs, cached while the store is unchanged."""
        if self._tables is None:
            self._tables = PatientTables(self.store)
        return self._tables

    def arm_options(self) -> list[tuple[str, str]]:
        """(label, arm id) for every arm of the evidence base."""
        return [(self.evidence.label(a), a) for a in self.evidence.arm_ids]

    def _say(self, text: str, kind: str = "info") -> None:
        self.message_kind = kind
        self.message = text

    @t.validate("plan")
    def _valid_plan(self, proposal):
        value = proposal["value"]
        if not value:
            return ()
        return parse_plan(list(value), self.evidence)

    @t.observe("baseline", "plan", "combine")
    def _on_inputs(self, change):
        if self._loading:  # _load_patient recomputes once after setting them all
            return
        self._recompute_estimate()
        if change["name"] == "combine" and self.patient_id and self.patient:
            # the recorded progress's expected band (position column) follows the rule too
            try:
                self._refresh_patient_outputs(chart=False)
            except _APP_ERRORS as exc:
                self._say(str(exc), "error")
        self.chart_version += 1

    def _recompute_estimate(self) -> None:
        if not self.plan:
            self.estimate = None
            self.headline = "Choose at least one treatment to see the expected outcome."
            self.range_text = self.chances_text = ""
            self.expectations = expectations_text(None, evidence=self.evidence)
            self.assumption_notes = []
            return
        est = estimate(self.baseline, list(self.plan), combine=self.combine, evidence=self.evidence)
        self.estimate = est
        self.current_level = int(round(est.baseline))
        self.expected_level = int(round(est.expected))
        self.range_text = f"range {est.low:.1f} to {est.high:.1f} (reduction {est.reduction_low_pct:.0f}-{est.reduction_high_pct:.0f}%)"
        if math.isnan(est.p30):
            self.chances_text = "No reduction is possible from a baseline of 0."
        else:
            self.chances_text = (
                f"Chance of at least 30% reduction: {est.p30:.0%}; of at least 50%: {est.p50:.0%}"
            )
        self.expectations = expectations_text(list(self.plan), evidence=self.evidence)
        self.assumption_notes = list(est.notes)
        self.whatif_text = self._whatif()
        self.headline = est.headline()

    def _whatif(self) -> str:
        patient = self.patient
        if not patient:
            return ""
        stored_plan = parse_plan(str(patient["plan"]), self.evidence)
        stored_base = patient.get("_baseline")
        parts = []
        if stored_base is not None and stored_base != self.baseline:
            parts.append(f"baseline {self.baseline} (recorded: {stored_base})")
        if tuple(self.plan) != stored_plan:
            parts.append(f"plan {plan_label(self.plan)} (stored: {plan_label(stored_plan)})")
        if not parts:
            return ""
        return ("What-if: " + " and ".join(parts) + ". The estimate and the chart's band use these values; "
                "the recorded progress, alerts and schedule use the stored ones.")

    estimate = None  # plain attribute, set by _recompute_estimate

    # ------------------------------------------------------------------ patients
    def refresh_patients(self) -> None:
        """Re-read the list of stored patients."""
        patients = self.tables.patients()
        self.patient_ids = sorted(str(p) for p in patients["patient_id"])

    def prefetch(self) -> None:
        """Compute every stored patient's outputs now (when the store is small enough, see
        :class:`~painkit.widgets.tracker_data.PatientTables`), so that choosing one is a lookup."""
        try:
            self.tables.prefetch(as_of=self.as_of, combine=self.combine)
        except _APP_ERRORS:  # an optimisation only: choosing a patient reports the problem
            pass

    def select_patient(self, patient_id: str) -> None:
        """Load a stored patient: baseline, plan, assessments, alerts and schedule.

        An empty id clears the selection (a new patient is being entered).
        """
        self.patient_id = patient_id or ""

    @t.observe("patient_id")
    def _on_patient(self, change):
        if not self.patient_id:
            self.patient = None
            self.assessments = pd.DataFrame()
            self.progress = pd.DataFrame()
            self.alerts = pd.DataFrame()
            self.schedule = pd.DataFrame()
            self.next_due, self.summary, self.report_path = "", {}, ""
            self.whatif_text = ""
            self.outputs_version += 1
            self.chart_version += 1
            return
        self._load_patient()

    def _load_patient(self) -> None:
        pid = self.patient_id
        try:
            out = self.tables.outputs(pid, as_of=self.as_of, combine=self.combine)
        except _APP_ERRORS as exc:
            self._say(str(exc), "error")
            return
        patient = out.patient.iloc[0].to_dict()
        self.patient = patient
        self._show_outputs(out, chart=False)
        base = self.assessments
        start = pd.Timestamp(patient["plan_start"])
        at_start = base.loc[base["date"] == start, "nrs"] if len(base) else pd.Series([], dtype=float)
        if len(at_start) and pd.notna(at_start.iloc[0]):
            patient["_baseline"] = int(at_start.iloc[0])
            self.patient = dict(patient)
        self._loading = True
        try:
            with self.hold_trait_notifications():
                if "_baseline" in patient:
                    self.baseline = patient["_baseline"]
                self.plan = parse_plan(str(patient["plan"]), self.evidence)
        finally:
            self._loading = False
        self._recompute_estimate()  # once, for the new baseline and plan together (and the what-if text)
        self.chart_version += 1

    def _refresh_patient_outputs(self, *, chart: bool = True) -> None:
        """Re-read the selected patient's outputs (computed for this patient alone if needed)."""
        out = self.tables.outputs(self.patient_id, as_of=self.as_of, combine=self.combine, bulk=False)
        self._show_outputs(out, chart=chart)

    def _show_outputs(self, out, *, chart: bool = True) -> None:
        self.assessments = out.assessments
        self.progress = out.progress
        self.alerts = out.alerts
        self.summary = out.due
        due = out.due.get("next_due")
        self.next_due = "" if due is None or pd.isna(due) else str(pd.Timestamp(due).date())
        self.schedule = out.schedule
        self.outputs_version += 1
        if chart:
            self.chart_version += 1

    def create_patient(self, patient_id, *, plan_start=None, sex=None, birth_year=None, height_cm=None,
                       weight_kg=None, condition=None, pain_duration_months=None) -> bool:
        """Store a new patient with the current plan and the slider's baseline as the baseline
        assessment (dated ``plan_start``). Returns True when stored; on bad input sets
        :attr:`message` and stores nothing.
        """
        try:
            pid = (patient_id or "").strip()
            if not pid:
                raise InputError("Patient id: required; enter 1-64 characters")
            if len(pid) > 64:
                raise InputError(f"Patient id: {pid[:20]!r}... is longer than 64 characters")
            start = _as_date(plan_start if plan_start is not None else self.as_of, "Plan start")
            if start > self.as_of:
                raise InputError(f"Plan start: {start} is in the future (today is {self.as_of})")
            if not self.plan:
                raise InputError("Plan: choose at least one treatment")
            fields = {
                "sex": sex or None,
                "birth_year": None if birth_year in (None, "", 0) else int(_number(birth_year, "Birth year", 1900, self.as_of.year)),
                "height_cm": _number(height_cm, "Height (cm)", 50, 250),
                "weight_kg": _number(weight_kg, "Weight (kg)", 20, 350),
                "condition": (condition or "").strip() or None,
                "pain_duration_months": _number(pain_duration_months, "Pain duration (months)", 0, 1200),
            }
            if pid in set(self.tables.patients()["patient_id"]):
                raise InputError(f"Patient id: {pid!r} is already in the store; choose it from the list")
            fields = {k: v for k, v in fields.items() if v is not None}
            with self.tables.writing(pid, patients_changed=True):
                self.store.add_patient(pid, plan=plan_label(self.plan), plan_start=start, **fields)
                self.store.add_update(pid, start, nrs=int(self.baseline))
        except _APP_ERRORS as exc:
            self._say(str(exc), "error")
            return False
        self.refresh_patients()
        self.patient_id = pid
        self._say(f"Patient {pid!r} stored with baseline {self.baseline} on {start}.", "success")
        return True

    # ------------------------------------------------------------------ updates
    def add_update(self, date, nrs, **fields) -> bool:
        """Add a progress update for the selected patient.

        Parameters
        ----------
        date : date or str
            Not in the future, not before the patient's baseline.
        nrs : int or str
            0-10, whole number.
        **fields
            Optional: BPI and PEG items (0-10, '' for unanswered), ``walk_m``, red flags
            (``rf_weakness``, ...), ``mood_flag``, ``notes``.

        Returns
        -------
        bool
            True when stored. Otherwise :attr:`message` says why and nothing is written.
        """
        try:
            if not self.patient_id:
                raise InputError("Choose a patient (or create one) before adding an update")
            when = _as_date(date, "Date")
            if when > self.as_of:
                raise InputError(f"Date: {when} is in the future (today is {self.as_of}); allowed: up to today")
            start = pd.Timestamp(self.patient["plan_start"]).date()
            if when < start:
                raise InputError(f"Date: {when} is before the baseline ({start}); allowed: from {start}")
            values = {"nrs": _score(nrs, "NRS", required=True)}
            for name in UPDATE_SCORE_FIELDS:
                if name in fields:
                    score = _score(fields.pop(name), f"{_FIELD_LABELS[name]} ({name})")
                    if score is not None:
                        values[name] = score
            walk = _number(fields.pop("walk_m", None), "Six-minute walk (m)", 0, 1500)
            if walk is not None:
                values["walk_m"] = walk
            for name in (*RED_FLAGS, "mood_flag"):
                if name in fields:
                    values[name] = bool(fields.pop(name))
            notes = (fields.pop("notes", "") or "").strip()
            if notes:
                values["notes"] = notes
            if fields:
                raise InputError(f"unknown field(s) {', '.join(sorted(fields))}")
            self._write_update(when, values)
        except _APP_ERRORS as exc:
            self._say(str(exc), "error")
            return False
        self._refresh_patient_outputs()
        flags = [RED_FLAGS[n] for n in RED_FLAGS if values.get(n)]
        extra = f" Red flag recorded ({', '.join(flags)}): see the alerts." if flags else ""
        self._say(f"Update of {when} stored: NRS {values['nrs']}.{extra}", "success")
        return True

    def _write_update(self, when, values) -> None:
        """Store one assessment; cached outputs of other patients stay valid."""
        with self.tables.writing(self.patient_id):
            self.store.add_update(self.patient_id, when, **values)

    # ------------------------------------------------------------------ report
    def generate_report(self, *, output_dir=None) -> str:
        """Render the selected patient's report with the batch runner; returns the HTML path.

        Uses :func:`painkit.batch.run_batch` (the papermill report template, one warm kernel)
        on this patient's rows, writing under ``output_dir`` (default :attr:`reports_dir`).
        On failure :attr:`message` says why and '' is returned.
        """

        try:
            if not self.patient_id:
                raise InputError("Choose a patient before generating a report")
            from ..batch import run_batch

            patients = self.store.patients(self.patient_id)
            assessments = self.store.assessments(self.patient_id)
            out = Path(output_dir or self.reports_dir)
            result = run_batch(patients, assessments, out=out, as_of=pd.Timestamp(self.as_of), workers=1,
                               cohort=False, progress=False)
            row = result.manifest[result.manifest["patient_id"] == self.patient_id]
            if row.empty or row.iloc[0]["status"] == "failed":
                error = row.iloc[0]["error"] if len(row) else "no report was made"
                raise PainkitError(f"The report for {self.patient_id!r} failed: {error}")
        except _APP_ERRORS as exc:
            self._say(str(exc), "error")
            return ""
        path = str((Path(result.out) / str(row.iloc[0]["html"])).resolve())
        self.report_path = path
        self._say(f"Report written to {path}", "success")
        return path
