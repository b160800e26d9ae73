"""Report content: the per-patient and cohort reports, as escaped HTML fragments.

The papermill templates in ``notebooks/reports/`` are thin: each cell calls one section of
:class:`PatientReport` or :class:`CohortReport`, whose methods return :class:`Fragment`
objects (HTML strings that Jupyter displays as HTML). :func:`render_patient_html` and
:func:`render_cohort_html` build the very same sections into a page without any notebook
machinery (the in-process renderer the batch's speed is compared with).

Safety: every value that comes from the data (patient id, plan, condition, free-text notes,
alert reasons) goes through :func:`html.escape` or pandas' escaping ``to_html``; nothing the
data holds is ever inserted as markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import DISCLAIMER, __version__
from .errors import ReportError

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

_STYLE = """<style>
.pk h1{font-size:1.5em;margin:.2em 0}.pk h2{font-size:1.2em;margin:1em 0 .3em;border-bottom:1px solid #ccc}
.pk .disclaimer{background:#fff8e1;border-left:4px solid #f9a825;padding:.4em .8em;margin:.5em 0}
.pk .alert{padding:.35em .8em;margin:.25em 0;border-left:5px solid #999}
.pk .alert.urgent{background:#fdecea;border-color:#c62828;font-weight:bold}
.pk .alert.discuss{background:#fff3e0;border-color:#ef6c00}.pk .alert.review{background:#e3f2fd;border-color:#1565c0}
.pk .alert.advice{background:#f1f8e9;border-color:#558b2f}.pk .reason{font-weight:normal;color:#444;font-size:.9em}
.pk table{border-collapse:collapse;margin:.3em 0}.pk td,.pk th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
.pk .muted{color:#666;font-size:.9em}.pk img{max-width:100%}
</style>"""


class Fragment(str):
    """A piece of escaped HTML that Jupyter displays as HTML (and tests read as a string)."""

    def _repr_html_(self):
        return str(self)

    def _repr_pretty_(self, printer, cycle):  # the plain-text alternative stays short
        printer.text(f"<painkit report section, {len(self)} characters of HTML>")


def _esc(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "&ndash;"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return html.escape(str(value), quote=True)


def safe_slug(patient_id: str) -> str:
    """A file-name-safe, unique name for a patient id: a short slug plus a short hash.

    Only ASCII letters, digits, ``-`` and ``_`` survive; the hash of the full id keeps two ids
    that slug alike apart, so ``../x`` can never leave the output folder.

    Examples
    --------
    >>> safe_slug("P001")
    'P001-...'
    >>> "/" in safe_slug("../../etc/passwd") or ".." in safe_slug("../../etc/passwd")
    False
    >>> safe_slug("a/b") != safe_slug("a_b")
    True
    """
    text = str(patient_id)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")[:40] or "patient"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}"


def _cell(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}" if abs(value) < 1000 else f"{float(value):.0f}"
    return html.escape(str(value), quote=True)


def table_html(data: pd.DataFrame, *, empty: str = "None recorded.") -> str:
    """An HTML table of ``data`` (no index), every header and cell escaped; ``empty`` when no rows.

    Examples
    --------
    >>> table_html(pd.DataFrame({"a<": ["<i>x</i>", None], "b": [1.23456, float("nan")]}))
    '<table><thead><tr><th>a&lt;</th><th>b</th></tr></thead><tbody><tr><td>&lt;i&gt;x&lt;/i&gt;</td><td>1.23</td></tr><tr><td>&ndash;</td><td>&ndash;</td></tr></tbody></table>'
    """
    if data is None or not len(data):
        return f'<p class="muted">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in data.columns)
    columns = [data[c].astype(object).to_numpy() for c in data.columns]
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in zip(*columns))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def new_axes(size=(7.0, 3.6), *, margins=None):
    """Axes on a stand-alone figure (no pyplot: nothing global to leak or to close).

    ``margins`` (left, bottom, right, top as figure fractions) fixes the layout, which is much
    faster to draw than the default constrained layout.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout=None if margins else "constrained")
    if margins:
        left, bottom, right, top = margins
        fig.subplots_adjust(left=left, bottom=bottom, right=right, top=top)
    return fig.add_subplot()


def figure_html(fig, *, alt: str) -> str:
    """A matplotlib figure as an inline PNG ``<img>``; a pyplot figure is closed afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def page(title: str, fragments) -> str:
    """A complete, self-contained HTML page around report fragments (no scripts)."""
    body = "\n".join(str(f) for f in fragments)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>{_STYLE}</head>\n<body>\n{body}\n</body></html>\n"
    )


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


def _header(title: str, rows: list[tuple[str, object]]) -> Fragment:
    items = "".join(f"<tr><th>{html.escape(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return Fragment(
        f'<div class="pk">{_STYLE}<h1>{html.escape(title)}</h1><table>{items}</table>'
        f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p></div>'
    )


def _section(title: str, body: str, note: str | None = None) -> Fragment:
    extra = f'<p class="muted">{html.escape(note)}</p>' if note else ""
    return Fragment(f'<div class="pk"><h2>{html.escape(title)}</h2>{body}{extra}</div>')


def _alert_list(table: pd.DataFrame, empty: str) -> str:
    if not len(table):
        return f'<p class="muted">{html.escape(empty)}</p>'
    items = []
    for row in table.itertuples(index=False):
        level = str(row.level)
        items.append(
            f'<div class="alert {html.escape(level)}">{html.escape(level.upper())}: {_esc(row.message)}'
            f'<br><span class="reason">Why: {_esc(row.reason)} ({_esc(row.date)})</span></div>'
        )
    return "".join(items)


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


def _plain(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.1f}".rstrip("0").rstrip(".")
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


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


# -- cohort statistics ----------------------------------------------------------------------
def wilson_interval(successes, n, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``scipy.stats.binomtest``); NaN when ``n`` is 0.

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(6, 20)]
    [0.145, 0.519]
    """
    from scipy.stats import binomtest

    if int(n) == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def responder_rates(data: pd.DataFrame, *, by: str = "plan", thresholds=(30, 50), confidence: float = 0.95) -> pd.DataFrame:
    """Share of patients whose pain fell by at least each threshold, per group, with Wilson CIs.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient with ``change_pct`` (negative = less pain, at the latest assessment)
        and ``n_assessments`` (patients with only a baseline are left out of the denominator
        and counted in ``no_follow_up``), plus the ``by`` column.
    by : str
        Grouping column; an ``all`` row is added.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``threshold_pct``, ``n``, ``responders``, ``rate``, ``ci_low``, ``ci_high``,
        ``no_follow_up``.

    Examples
    --------
    >>> d = pd.DataFrame({"plan": ["cbt"] * 4, "change_pct": [-60, -35, -10, 0], "n_assessments": [3, 3, 3, 1]})
    >>> responder_rates(d)[["group", "threshold_pct", "n", "responders", "rate"]]
      group  threshold_pct  n  responders  rate
    0   all             30  3           2  0.666667
    1   all             50  3           1  0.333333
    2   cbt             30  3           2  0.666667
    3   cbt             50  3           1  0.333333
    """
    rows = []
    groups = [("all", data)] + [(str(k), g) for k, g in data.groupby(by, sort=True, observed=True)]
    for name, g in groups:
        followed = g[(g["n_assessments"] > 1) & g["change_pct"].notna()]
        for t in thresholds:
            k = int((followed["change_pct"] <= -float(t)).sum())
            n = len(followed)
            low, high = wilson_interval(k, n, confidence=confidence)
            rows.append({"group": name, "threshold_pct": t, "n": n, "responders": k,
                         "rate": k / n if n else float("nan"), "ci_low": low, "ci_high": high,
                         "no_follow_up": len(g) - n})
    return pd.DataFrame(rows)


def band_calibration(track: pd.DataFrame, data: pd.DataFrame, *, by: str = "plan", week: float = 26.0,
                     window_weeks: float = 4.0, confidence: float = 0.95) -> pd.DataFrame:
    """Observed against expected: the share of patients inside their expected band near 6 months.

    For each patient the assessment closest to ``week`` within ``window_weeks`` counts (an
    assumption shown in the report); patients without one are left out and counted.

    Parameters
    ----------
    track : pandas.DataFrame
        :func:`painkit.tracking.track` output (``nrs``, ``weeks_on_plan``, ``band_low``,
        ``band_high``, ``position``).
    data : pandas.DataFrame
        One row per patient with ``patient_id`` and the ``by`` column.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``n``, ``inside``, ``inside_rate``, ``ci_low``, ``ci_high``, ``better``
        (below the band), ``worse`` (above), ``on_track_rate`` (within the tracking tolerance),
        ``not_assessed``.
    """
    near = track.assign(_gap=(track["weeks_on_plan"] - week).abs())
    near = near[near["_gap"] <= window_weeks].sort_values(["patient_id", "_gap", "date"])
    near = near.drop_duplicates("patient_id").merge(data[["patient_id", by]], on="patient_id", how="inner")
    rows = []
    groups = [("all", data, near)] + [(str(k), g, near[near[by].astype(str) == str(k)])
                                      for k, g in data.groupby(by, sort=True, observed=True)]
    for name, g, n_rows in groups:
        nrs = n_rows["nrs"].astype(float)
        inside = int(((nrs >= n_rows["band_low"]) & (nrs <= n_rows["band_high"])).sum())
        n = len(n_rows)
        low, high = wilson_interval(inside, n, confidence=confidence)
        rows.append({"group": name, "n": n, "inside": inside, "inside_rate": inside / n if n else float("nan"),
                     "ci_low": low, "ci_high": high, "better": int((nrs < n_rows["band_low"]).sum()),
                     "worse": int((nrs > n_rows["band_high"]).sum()),
                     "on_track_rate": float((n_rows["position"] == "on track").mean()) if n else float("nan"),
                     "not_assessed": len(g) - n})
    return pd.DataFrame(rows)


def response_times(track: pd.DataFrame, *, threshold: float = 30.0) -> pd.DataFrame:
    """Per patient: weeks to the first reduction of at least ``threshold`` percent, or censoring.

    Returns
    -------
    pandas.DataFrame
        ``patient_id``, ``weeks`` (to the first response, else to the last assessment) and
        ``responded`` (bool). Patients with no follow-up beyond baseline are left out.

    Examples
    --------
    >>> t = pd.DataFrame({"patient_id": ["a"] * 3 + ["b"] * 2, "weeks_on_plan": [0, 4, 8, 0, 6],
    ...                   "change_pct": [0, -35, -50, 0, -10]})
    >>> response_times(t)
      patient_id  weeks  responded
    0          a    4.0       True
    1          b    6.0      False
    """
    follow = track[track["weeks_on_plan"] > 0]
    hit = follow[follow["change_pct"] <= -float(threshold)].groupby("patient_id", sort=False)["weeks_on_plan"].min()
    last = follow.groupby("patient_id", sort=False)["weeks_on_plan"].max()
    out = pd.DataFrame({"patient_id": last.index.astype(str), "weeks": last.to_numpy(dtype=float)})
    first = out["patient_id"].map(hit.rename(index=str))
    out["responded"] = first.notna().to_numpy()
    out.loc[out["responded"], "weeks"] = first[out["responded"]].astype(float)
    return out.reset_index(drop=True)


def kaplan_meier(times: pd.DataFrame, *, at=(12, 26), confidence: float = 0.95) -> tuple[pd.DataFrame, dict]:
    """Kaplan-Meier share responded by given weeks (``scipy.stats.ecdf`` on censored data).

    Returns
    -------
    (pandas.DataFrame, dict)
        Table with ``n``, ``responded``, ``median_weeks`` and ``by_W``, ``by_W_low``,
        ``by_W_high`` per week ``W`` in ``at``; and the curve (``weeks``, ``share``) for plotting.
    """
    from scipy import stats

    n = len(times)
    events = times.loc[times["responded"], "weeks"].to_numpy(dtype=float)
    censored = times.loc[~times["responded"], "weeks"].to_numpy(dtype=float)
    row = {"n": n, "responded": len(events), "median_weeks": float("nan")}
    curve = {"weeks": np.array([0.0]), "share": np.array([0.0])}
    if len(events) == 0:
        for w in at:
            row.update({f"by_{w:g}": 0.0 if n else float("nan"), f"by_{w:g}_low": float("nan"), f"by_{w:g}_high": float("nan")})
        return row, curve
    result = stats.ecdf(stats.CensoredData(uncensored=events, right=censored))
    sf = result.sf
    with warnings.catch_warnings():  # undefined at some steps by the formula; those show as NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = sf.confidence_interval(confidence_level=confidence, method="log-log") if len(events) > 1 else None
    for w in at:
        row[f"by_{w:g}"] = float(1 - sf.evaluate(w))
        row[f"by_{w:g}_low"] = float(1 - ci.high.evaluate(w)) if ci is not None else float("nan")
        row[f"by_{w:g}_high"] = float(1 - ci.low.evaluate(w)) if ci is not None else float("nan")
    below = sf.quantiles[sf.probabilities <= 0.5]
    row["median_weeks"] = float(below[0]) if len(below) else float("nan")
    curve = {"weeks": np.r_[0.0, sf.quantiles], "share": np.r_[0.0, 1 - sf.probabilities]}
    return row, curve


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
