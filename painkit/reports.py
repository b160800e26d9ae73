"""Report content: the per-patient and cohort reports, as escaped HTML fragments.

The papermill templates in ``notebooks/reports/`` are thin: each cell calls one section of
:class:`PatientReport` or :class:`CohortReport`, whose methods return :class:`Fragment`
objects (HTML strings that Jupyter displays as HTML). :func:`render_patient_html` and
:func:`render_cohort_html` build the very same sections into a page without any notebook
machinery (the in-process renderer the batch's speed is compared with).

The HTML building blocks live in :mod:`painkit.report_html` and the cohort statistics in
:mod:`painkit.cohort_stats`; their public names are importable from here too.

Safety: every value that comes from the data (patient id, plan, condition, free-text notes,
alert reasons) goes through :func:`html.escape` or pandas' escaping ``to_html``; nothing the
data holds is ever inserted as markup.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__
from .cohort_stats import band_calibration, kaplan_meier, responder_rates, response_times, wilson_interval
from .errors import ReportError
from .report_html import (
    Fragment,
    _alert_list,
    _esc,
    _header,
    _plain,
    _section,
    figure_html,
    new_axes,
    page,
    safe_slug,
    table_html,
)

__all__ = [
    "Fragment",
    "PatientReport",
    "CohortReport",
    "responder_rates",
    "wilson_interval",
    "band_calibration",
    "response_times",
    "kaplan_meier",
    "load_report_source",
    "safe_slug",
    "render_patient_html",
    "render_cohort_html",
    "page",
    "table_html",
    "figure_html",
]


def load_report_source(source=None):
    """``(patients, assessments)`` from a store, a cohort file or a batch snapshot.

    Parameters
    ----------
    source : str, path or None
        ``None``: the default store (``$PAINKIT_DB`` or ``data/painkit.db``); a ``.db``,
        ``.sqlite`` or ``.sqlite3`` file: that store; a ``.pkl`` file: a snapshot written by
        :mod:`painkit.batch` (trusted, written to a private folder); anything else: a cohort file
        read by :func:`painkit.exchange.read_cohort`.
    """
    if source is None or str(source) == "":
        from .store import Store

        return Store().load_cohort()
    path = Path(source)
    if not path.exists():
        raise ReportError(f"report source {str(source)!r} does not exist (expected a store, a cohort file or a snapshot)")
    suffix = path.suffix.lower()
    if suffix in {".db", ".sqlite", ".sqlite3"}:
        from .store import Store

        return Store(str(path)).load_cohort()
    if suffix == ".pkl":
        patients, assessments = pd.read_pickle(path)
        return patients, assessments
    from .exchange import read_cohort

    return read_cohort(str(path))


def _assumption_rows(evidence, assumptions) -> pd.DataFrame:
    from .tracking import RULES_PATH

    table = evidence.assumption_table[["name", "description"]].copy()
    values = assumptions.__dict__ if hasattr(assumptions, "__dict__") else {}
    table.insert(1, "value", [str(values.get(n, v)) for n, v in zip(table["name"], evidence.assumption_table["value"])])
    rules = pd.read_csv(RULES_PATH)
    rules = rules[rules["source"].astype(str).str.startswith("assumption")]
    rules = rules.assign(value=rules["value"].map(lambda v: f"{v:g}"))[["name", "value", "description"]]
    return pd.concat([table, rules], ignore_index=True)


@dataclass
class PatientReport:
    """Everything one patient's report shows, computed once; each method is one section.

    Build it with :meth:`load` (from a source path) or :meth:`from_tables`.
    """

    patient_id: str
    as_of: pd.Timestamp
    patient: pd.Series
    summary: pd.Series
    visits: pd.DataFrame
    alerts: pd.DataFrame
    instruments: pd.DataFrame
    schedule: pd.DataFrame
    notes: pd.DataFrame
    evidence: object = field(repr=False, default=None)
    assumptions: object = field(repr=False, default=None)

    @classmethod
    def load(cls, patient_id, source=None, *, as_of=None) -> "PatientReport":
        """Load the cohort from ``source`` (see :func:`load_report_source`) and build the report."""
        patients, assessments = load_report_source(source)
        return cls.from_tables(patients, assessments, patient_id, as_of=as_of)

    @classmethod
    def from_tables(cls, patients, assessments, patient_id, *, as_of=None) -> "PatientReport":
        """Build the report of ``patient_id`` from the two tables.

        Raises
        ------
        ReportError
            If the patient is not in ``patients``.
        """
        from . import tracking
        from .evidence import load_evidence
        from .instruments import score_instruments
        from .plan import personal_plan
        from .schema import validate_assessments, validate_patients

        pid = str(patient_id)
        patients = validate_patients(patients)
        mine = patients[patients["patient_id"] == pid]
        if not len(mine):
            raise ReportError(f"patient {pid!r} is not in the cohort ({len(patients)} patients)")
        visits = validate_assessments(assessments[assessments["patient_id"].astype(str) == pid].reset_index(drop=True))
        as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp.today().normalize()
        summary = tracking.summarize_cohort(mine, visits, as_of=as_of, validate=False).iloc[0]
        track = tracking.track(mine, visits, as_of=as_of, validate=False)
        found = tracking.alerts(mine, visits, as_of=as_of, validate=False)
        scored = score_instruments(visits[visits["date"] <= as_of], patients=mine, validate=False)
        row = mine.iloc[0]
        schedule = personal_plan(row["plan"], row["plan_start"])
        notes = visits.loc[visits["date"] <= as_of, ["date", "notes"]].dropna()
        evidence = load_evidence()
        from .evidence import Assumptions

        return cls(pid, as_of, row, summary, track, found, scored, schedule, notes, evidence, Assumptions())

    # -- sections ---------------------------------------------------------------------------
    def header(self) -> Fragment:
        p, s = self.patient, self.summary
        return _header(
            "Pain progress report",
            [
                ("Patient", self.patient_id),
                ("Condition", p.get("condition")),
                ("Plan", p["plan"]),
                ("Plan start (baseline)", p["plan_start"]),
                ("Latest assessment", s["latest_date"]),
                ("Report as of", self.as_of),
                ("painkit", __version__),
            ],
        )

    def red_flags(self) -> Fragment:
        urgent = self.alerts[self.alerts["level"] == "urgent"]
        return _section("Red flags", _alert_list(urgent, "No red flag recorded at the latest assessment."))

    def outcome(self) -> Fragment:
        s = self.summary
        rows = pd.DataFrame(
            {
                "measure": ["Baseline NRS", "Latest NRS", "Change (points)", "Change (%)", "IMMPACT category",
                            "Reversal (the article)", "Weeks on plan", "Expected NRS now", "Expected range",
                            "Position against expected", "Progress stalled"],
                "value": [_plain(s["baseline_nrs"]), _plain(s["latest_nrs"]), _plain(s["change_points"]),
                          _plain(s["change_pct"]), _plain(s["category"]), _plain(s["reversal"]),
                          _plain(s["weeks_on_plan"]), _plain(s["expected"]),
                          f"{_plain(s['band_low'])} to {_plain(s['band_high'])}", _plain(s["position"]),
                          "yes" if bool(s["stalled"]) else "no"],
            }
        )
        note = ("IMMPACT (Dworkin 2008): 10-<30% minimal, 30-<50% moderate, >=50% substantial reduction. "
                "Reversal per the article: complete (pain-free 6 months), significant (>=50%), partial.")
        return _section("Outcome so far", table_html(rows), note)

    def progress(self) -> Fragment:
        from .plots import progress_chart

        p, s = self.patient, self.summary
        shown = self.visits[["date", "nrs"]]
        if pd.isna(s["baseline_nrs"]):
            return _section("Progress against the expected range", '<p class="muted">No baseline assessment yet.</p>')
        ax = progress_chart(shown, baseline=float(s["baseline_nrs"]), plan=str(p["plan"]), plan_start=p["plan_start"],
                            evidence=self.evidence, assumptions=self.assumptions,
                            ax=new_axes(margins=(0.08, 0.1, 0.98, 0.92)))
        body = figure_html(ax.figure, alt="Recorded NRS against the expected range")
        return _section("Progress against the expected range", body,
                        "The band is the evidence's benefit range for the plan, built up over time as the "
                        "modelling assumptions below describe.")

    def instrument_scores(self) -> Fragment:
        cols = ["date", "nrs", "bpi_severity", "bpi_severity_band", "bpi_interference", "peg_score", "walk_m",
                "walk_predicted_m", "walk_lln_m", "walk_pct_predicted"]
        labels = {"nrs": "NRS", "bpi_severity": "BPI severity", "bpi_severity_band": "band",
                  "bpi_interference": "BPI interference", "peg_score": "PEG", "walk_m": "6MWT m",
                  "walk_predicted_m": "predicted m", "walk_lln_m": "lower limit m", "walk_pct_predicted": "% predicted"}
        data = self.instruments[[c for c in cols if c in self.instruments.columns]].rename(columns=labels)
        walk_notes = self.instruments.get("walk_note", pd.Series(dtype=object)).dropna().unique()
        extra = "".join(f'<p class="muted">Six-minute walk: {_esc(n)}</p>' for n in walk_notes if str(n))
        note = ("BPI severity: mean of 4 items, bands mild 0-4, moderate 5-6, severe 7-10 (ePPOC); interference: mean "
                "of the answered items, at least 4 of 7; PEG-3 (Krebs 2009); six-minute walk against the Enright & "
                "Sherrill (1998) prediction and its lower limit of normal.")
        return _section("Instruments (BPI, PEG, six-minute walk)", table_html(data) + extra, note)

    def plan_schedule(self) -> Fragment:
        due = self.summary["next_due"]
        sched = self.schedule.copy()
        upcoming = sched[pd.to_datetime(sched["date"]) >= self.as_of]
        head = f"<p><b>Next re-measure due: {_esc(due)}</b></p>"
        if len(upcoming):
            shown = upcoming.head(12)
            note = f"Showing {len(shown)} of the {len(upcoming)} steps still ahead on {self.as_of.date()} ({len(sched)} in all)."
        else:
            shown = sched.tail(3)
            note = f"Every scheduled step lies before {self.as_of.date()}; the last {len(shown)} of {len(sched)} are shown."
        return _section("Plan schedule", head + table_html(shown), note)

    def other_alerts(self) -> Fragment:
        rest = self.alerts[self.alerts["level"] != "urgent"]
        body = _alert_list(rest, "No other alert.")
        if len(self.notes):
            body += "<h3>Notes recorded</h3>" + table_html(self.notes)
        return _section("Other alerts and notes", body)

    def assumptions_used(self) -> Fragment:
        return _section("Modelling assumptions behind these figures",
                        table_html(_assumption_rows(self.evidence, self.assumptions)),
                        "Every clinical number comes from data/evidence/ with its source.")

    def sections(self) -> list[Fragment]:
        """Every section, in the report's order (red flags first after the header)."""
        return [self.header(), self.red_flags(), self.outcome(), self.progress(), self.instrument_scores(),
                self.plan_schedule(), self.other_alerts(), self.assumptions_used()]


def render_patient_html(patients, assessments, patient_id, *, as_of=None) -> str:
    """The patient report as a complete HTML page, rendered in-process (no kernel, no notebook).

    Examples
    --------
    >>> import pandas as pd, matplotlib
    >>> matplotlib.use("Agg")
    >>> p = pd.DataFrame({"patient_id": ["<b>x</b>"], "plan": ["cbt"], "plan_start": ["2026-01-05"]})
    >>> a = pd.DataFrame({"patient_id": ["<b>x</b>"] * 2, "date": ["2026-01-05", "2026-02-02"], "nrs": [7, 5],
    ...                   "notes": ["ok", "<script>alert(1)</script>"]})
    >>> page_html = render_patient_html(p, a, "<b>x</b>", as_of="2026-02-10")
    >>> "<script>" in page_html, "&lt;script&gt;" in page_html, "<b>x</b>" in page_html
    (False, True, False)
    """
    report = PatientReport.from_tables(patients, assessments, patient_id, as_of=as_of)
    return page(f"Pain progress report {safe_slug(patient_id)}", report.sections())


def render_cohort_html(patients, assessments, *, as_of=None, **filters) -> str:
    """The cohort report as a complete HTML page, rendered in-process."""
    report = CohortReport.from_tables(patients, assessments, as_of=as_of, **filters)
    return page("Cohort report", report.sections())


@dataclass
class CohortReport:
    """The cohort report: size and follow-up, responders, waterfall, calibration, time to response."""

    summary: pd.DataFrame
    track: pd.DataFrame
    as_of: pd.Timestamp
    group_by: str = "plan"
    filters: dict = field(default_factory=dict)
    evidence: object = field(repr=False, default=None)
    assumptions: object = field(repr=False, default=None)

    @classmethod
    def load(cls, source=None, *, as_of=None, **options) -> "CohortReport":
        """Load the cohort from ``source`` (see :func:`load_report_source`) and build the report."""
        patients, assessments = load_report_source(source)
        return cls.from_tables(patients, assessments, as_of=as_of, **options)

    @classmethod
    def from_tables(cls, patients, assessments, *, as_of=None, plans=None, conditions=None,
                    group_by: str = "plan") -> "CohortReport":
        """Build the report; ``plans`` / ``conditions`` (lists or comma-separated) filter patients."""
        from . import tracking
        from .evidence import Assumptions, load_evidence, parse_plan, plan_label
        from .schema import validate_assessments, validate_patients

        patients = validate_patients(patients)
        evidence = load_evidence()
        filters = {}
        keep = pd.Series(True, index=patients.index)
        if plans:
            wanted = {plan_label(parse_plan(p, evidence)) for p in _listed(plans)}
            labels = patients["plan"].map(lambda p: plan_label(parse_plan(p, evidence)))
            keep &= labels.isin(wanted)
            filters["plans"] = sorted(wanted)
        if conditions:
            wanted = {c.strip().lower() for c in _listed(conditions)}
            keep &= patients["condition"].fillna("").str.strip().str.lower().isin(wanted)
            filters["conditions"] = sorted(wanted)
        if group_by not in set(patients.columns) - {"patient_id", "plan_start"}:
            raise ReportError(f"cannot group by {group_by!r}; choose one of: plan, sex, condition")
        patients = patients[keep].reset_index(drop=True)
        assessments = validate_assessments(assessments[assessments["patient_id"].isin(patients["patient_id"])]
                                           .reset_index(drop=True))
        as_of = pd.Timestamp(as_of).normalize() if as_of is not None else pd.Timestamp.today().normalize()
        summary = tracking.summarize_cohort(patients, assessments, as_of=as_of, validate=False)
        if group_by != "plan":
            summary = summary.merge(patients[["patient_id", group_by]], on="patient_id", how="left")
        track = tracking.track(patients, assessments, as_of=as_of, validate=False)
        return cls(summary, track, as_of, group_by, filters, evidence, Assumptions())

    def header(self) -> Fragment:
        f = self.filters
        return _header("Cohort report", [
            ("Patients", len(self.summary)), ("Grouped by", self.group_by),
            ("Plans", ", ".join(f.get("plans", [])) or "all"), ("Conditions", ", ".join(f.get("conditions", [])) or "all"),
            ("As of", self.as_of), ("painkit", __version__)])

    def size_follow_up(self) -> Fragment:
        s = self.summary
        g = s.groupby(self.group_by, observed=True)
        table = pd.DataFrame({
            "patients": g.size(), "assessments": g["n_assessments"].sum(),
            "median weeks followed": g["weeks_on_plan"].median().round(1),
            "followed >= 26 weeks": g["weeks_on_plan"].apply(lambda w: int((w >= 26).sum())),
            "urgent alerts": g["urgent"].sum().astype(int)}).reset_index()
        total = (f"{len(s)} patients, {int(s['n_assessments'].sum())} assessments; median follow-up "
                 f"{_plain(s['weeks_on_plan'].median())} weeks.")
        return _section("Size and follow-up", f"<p>{html.escape(total)}</p>" + table_html(table))

    def responders(self) -> Fragment:
        from .plots import responder_chart

        rates = responder_rates(self.summary, by=self.group_by)
        shown = rates.assign(rate=(100 * rates["rate"]).round(1), ci_low=(100 * rates["ci_low"]).round(1),
                             ci_high=(100 * rates["ci_high"]).round(1))
        fig = responder_chart(rates, ax=new_axes((7.0, 0.5 * rates["group"].nunique() + 1.5))).figure
        return _section("Responders (30% and 50% reduction at the latest assessment)",
                        table_html(shown.rename(columns={"rate": "rate %", "ci_low": "95% CI low", "ci_high": "95% CI high"}))
                        + figure_html(fig, alt="Responder rates with Wilson intervals"),
                        "Wilson 95% intervals (scipy). Patients with only a baseline are not in the denominator.")

    def waterfall(self) -> Fragment:
        from .plots import waterfall

        data = self.summary[self.summary["n_assessments"] > 1]
        if not len(data):
            return _section("Percent change per patient", '<p class="muted">No follow-up yet.</p>')
        ax = waterfall(data, column="change_pct", hue=self.group_by, ax=new_axes((8.0, 4.0)))
        return _section("Percent change per patient", figure_html(ax.figure, alt="Waterfall of percent change"),
                        "Dotted lines: IMMPACT moderate (-30%) and substantial (-50%).")

    def calibration(self) -> Fragment:
        table = band_calibration(self.track, self.summary, by=self.group_by)
        for col in ("inside_rate", "ci_low", "ci_high", "on_track_rate"):
            table[col] = (100 * table[col]).round(1)
        return _section("Observed against expected at 6 months", table_html(table),
                        "Share of patients whose NRS at the assessment nearest week 26 (within 4 weeks, an assumption) "
                        "lies inside the expected band (the evidence's benefit range for the plan). A well calibrated "
                        "estimator keeps most patients inside; 'better' is below the band, 'worse' above.")

    def time_to_response(self) -> Fragment:
        from .plots import response_curve

        times = response_times(self.track).merge(self.summary[["patient_id", self.group_by]], on="patient_id")
        rows, curves = [], {}
        for name, g in [("all", times)] + [(str(k), g) for k, g in times.groupby(self.group_by, observed=True)]:
            row, curve = kaplan_meier(g)
            rows.append({"group": name, **row})
            if name != "all":
                curves[name] = curve
        table = pd.DataFrame(rows)
        fig = response_curve(curves, ax=new_axes()).figure
        return _section("Time to a 30% response", table_html(table.round(3)) + figure_html(fig, alt="Kaplan-Meier"),
                        "Kaplan-Meier (scipy.stats.ecdf): patients who have not responded are censored at their latest "
                        "assessment; by_W is the share responded by week W, with log-log 95% intervals.")

    def assumptions_used(self) -> Fragment:
        return _section("Modelling assumptions behind these figures",
                        table_html(_assumption_rows(self.evidence, self.assumptions)))

    def sections(self) -> list[Fragment]:
        """Every section, in the report's order."""
        return [self.header(), self.size_follow_up(), self.responders(), self.waterfall(), self.calibration(),
                self.time_to_response(), self.assumptions_used()]


def _listed(value) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]
