"""The tracker app's view: ipywidgets linked to a :class:`~painkit.widgets.TrackerModel`.

Everything the article's tracker shows (the baseline slider from "0 (No pain)" to "10 (Worst
pain)", "Estimated pain reduction: current level X, expected level Y", the realistic
expectations, the progress chart and "Add progress update"), plus: a patient chosen from the
store or entered new, the plan and the combination rule, BPI, PEG and six-minute-walk entry,
red-flag checkboxes, alerts with red flags first, the plan schedule with the next due date, a
"Generate report" button and the disclaimer, always visible.

Use it in a notebook (or Voila)::

    from painkit.widgets import build_tracker
    build_tracker()          # the default store: $PAINKIT_DB or data/painkit.db
"""

from __future__ import annotations

import html

import ipywidgets as W
import pandas as pd

from .. import DISCLAIMER
from ..evidence import COMBINATION_RULES, plan_label
from ..report_html import table_html
from ..schema import ASSESSMENT_FIELDS, BPI_INTERFERENCE, BPI_SEVERITY, PEG_ITEMS, RED_FLAGS
from ._chart import CSS, LazyChart
from .tracker_model import TrackerModel

__all__ = ["TrackerApp", "build_tracker"]

NEW = "— new patient —"
_DESCRIPTIONS = {f.name: f.description for f in ASSESSMENT_FIELDS}
_LEVEL_STYLE = {"urgent": "#b2182b", "discuss": "#d6604d", "review": "#f4a582", "advice": "#92c5de"}
_WIDE = {"description_width": "initial"}


def _label(name: str) -> str:
    text = _DESCRIPTIONS.get(name, name)
    return text.split(": ", 1)[-1] if ":" in text else text


def _table(frame: pd.DataFrame, columns: list[str], *, classes: str, empty: str) -> str:
    """Some columns as an HTML table: dates as YYYY-MM-DD, decimals to one place, blank when missing."""
    if frame is not None and not frame.empty:
        frame = frame[[c for c in columns if c in frame.columns]]
    return table_html(frame, empty=empty, classes=classes, missing="", decimals=1)


class TrackerApp(W.VBox):
    """The tracker as one widget; ``app.model`` is its :class:`TrackerModel`.

    Parameters
    ----------
    model : TrackerModel, optional
        Default: a model on ``store``.
    store : Store or path, optional
        Passed to :class:`TrackerModel` when no model is given.
    deferred : bool, optional
        Chart drawing mode, see :class:`~painkit.widgets._chart.LazyChart`.
    """

    def __init__(self, model: TrackerModel | None = None, *, store=None, as_of=None, deferred=None, **kwargs):
        self.model = model or TrackerModel(store, as_of=as_of)
        self._schedule_shown = None  # (schedule table, its HTML)
        m = self.model
        self.disclaimer = W.HTML(f"<div class='painkit-disclaimer' style='background:#fff3cd;padding:6px'>"
                                 f"<b>{html.escape(DISCLAIMER)}</b></div>")
        self.title = W.HTML("<h2>Chronic Pain Reversal Tracker</h2>")
        self.alerts_html = W.HTML()
        self.alerts_html.add_class("painkit-alerts")

        # ---- patient
        self.patient = W.Dropdown(description="Patient", options=[NEW], value=NEW, style=_WIDE)
        self.patient.add_class("painkit-patient")
        self.new_id = W.Text(description="Patient id", placeholder="e.g. P-0042", style=_WIDE)
        self.new_id.add_class("painkit-new-id")
        self.sex = W.Dropdown(description="Sex", options=[("—", ""), ("female", "female"), ("male", "male")], value="", style=_WIDE)
        self.birth_year = W.Text(description="Birth year", placeholder="e.g. 1970", style=_WIDE)
        self.height = W.Text(description="Height (cm)", style=_WIDE)
        self.weight = W.Text(description="Weight (kg)", style=_WIDE)
        self.plan_start = W.DatePicker(description="Plan start (baseline date)", value=m.as_of, style=_WIDE)
        self.create = W.Button(description="Create patient", button_style="primary", icon="user-plus",
                               layout=W.Layout(width="auto"))
        self.create.add_class("painkit-create")
        self.new_form = W.VBox([W.HTML("<b>New patient</b> (baseline = the slider, plan = the plan below)"),
                                W.HBox([self.new_id, self.sex]), W.HBox([self.birth_year, self.height, self.weight]),
                                self.plan_start, self.create])
        self.new_form.add_class("painkit-new-patient")

        # ---- baseline and plan
        self.baseline = W.IntSlider(value=m.baseline, min=0, max=10, step=1, description="Baseline pain",
                                    readout=True, continuous_update=True, style=_WIDE,
                                    layout=W.Layout(width="420px"))
        self.baseline.add_class("painkit-baseline")
        slider_row = W.HBox([W.HTML("<span>0 (No pain)</span>"), self.baseline, W.HTML("<span>10 (Worst pain)</span>")],
                            layout=W.Layout(align_items="center"))
        self.plan = W.SelectMultiple(options=m.arm_options(), value=tuple(m.plan), description="Plan", rows=6, style=_WIDE)
        self.combine = W.ToggleButtons(options=list(COMBINATION_RULES), value=m.combine, description="Combination rule",
                                       tooltips=["largest single benefit", "remaining pain multiplies",
                                                 "best plus half the extra of independent"], style=_WIDE)
        self.headline = W.HTML()
        self.headline.add_class("painkit-headline")
        self.details = W.HTML()
        self.expectations = W.HTML()
        self.expectations.add_class("painkit-expectations")

        # ---- progress
        self.chart = LazyChart(self._draw_progress, description="Progress chart", deferred=deferred,
                               update=self._update_progress, key=self._progress_key)
        self.progress_table = W.HTML()

        # ---- update form
        self.u_date = W.DatePicker(description="Date", value=m.as_of, style=_WIDE)
        self.u_date.add_class("painkit-update-date")
        self.u_nrs = W.IntText(description="Pain now (NRS 0-10)", value=5, style=_WIDE)
        self.u_nrs.add_class("painkit-update-nrs")
        self.u_items = {name: W.Text(description=_label(name), placeholder="0-10", style=_WIDE,
                                     layout=W.Layout(width="340px"))
                        for name in (*BPI_SEVERITY, *BPI_INTERFERENCE, *PEG_ITEMS)}
        self.u_walk = W.Text(description="Six-minute walk (m)", placeholder="metres", style=_WIDE)
        self.u_flags = {name: W.Checkbox(description=f"Red flag: {label}", value=False, indent=False)
                        for name, label in RED_FLAGS.items()}
        self.u_mood = W.Checkbox(description="Depression or anxiety flagged", value=False, indent=False)
        self.u_notes = W.Textarea(description="Notes", style=_WIDE)
        self.add = W.Button(description="Add progress update", button_style="success", icon="plus",
                            layout=W.Layout(width="auto"))
        self.add.add_class("painkit-add-update")
        instruments = W.Accordion(children=[
            W.VBox([W.HTML("Severity (last 24 hours)"), *[self.u_items[n] for n in BPI_SEVERITY],
                    W.HTML("Interference"), *[self.u_items[n] for n in BPI_INTERFERENCE]]),
            W.VBox([self.u_items[n] for n in PEG_ITEMS]),
            W.VBox([self.u_walk]),
        ], titles=("Brief Pain Inventory (answers only)", "PEG-3", "Six-minute walk"))
        self.update_form = W.VBox([W.HTML("<h3>Add Progress Update</h3>"), W.HBox([self.u_date, self.u_nrs]),
                                   W.VBox(list(self.u_flags.values()) + [self.u_mood]), instruments,
                                   self.u_notes, self.add])
        self.message = W.HTML()
        self.message.add_class("painkit-message")
        self.css = W.HTML(CSS)

        # ---- schedule and report
        self.schedule_html = W.HTML()
        self.report = W.Button(description="Generate report", icon="file", button_style="info",
                               layout=W.Layout(width="auto"))
        self.report_link = W.HTML()
        self.report_link.add_class("painkit-report")

        children = [
            self.css, self.title, self.disclaimer, self.alerts_html, self.message,
            W.HTML("<h3>Patient</h3>"), self.patient, self.new_form,
            W.HTML("<h3>Baseline Assessment</h3>"), slider_row, self.plan, self.combine,
            W.HTML("<h3>Expected Outcomes</h3>"), self.headline, self.details, self.expectations,
            W.HTML("<h3>Progress Tracker</h3>"), self.chart.widget, self.progress_table,
            self.update_form,
            W.HTML("<h3>Plan schedule</h3>"), self.schedule_html,
            W.HBox([self.report, self.report_link]),
        ]
        super().__init__(children, **kwargs)
        self.add_class("painkit-tracker")

        # ---- wiring: widgets -> model
        self.baseline.observe(lambda c: setattr(m, "baseline", c["new"]), "value")
        self.plan.observe(lambda c: setattr(m, "plan", tuple(c["new"])), "value")
        self.combine.observe(lambda c: setattr(m, "combine", c["new"]), "value")
        self.patient.observe(self._on_patient_choice, "value")
        self.create.on_click(self._on_create)
        self.add.on_click(self._on_add)
        self.report.on_click(self._on_report)
        # ---- model -> widgets
        m.observe(self._show_estimate, ["headline", "chances_text", "range_text", "expectations", "assumption_notes",
                                        "whatif_text"])
        m.observe(self._sync_inputs, ["baseline", "plan", "combine"])
        m.observe(lambda c: self.chart.invalidate(), "chart_version")
        m.observe(self._show_patient, "outputs_version")
        m.observe(self._show_message, ["message", "message_kind"])
        m.observe(self._show_patients, ["patient_ids", "patient_id"])
        m.observe(self._show_report, "report_path")
        try:
            m.refresh_patients()
        except Exception as exc:  # noqa: BLE001 - a broken store must not hide the app
            m._say(f"The store could not be read: {exc}", "error")
        else:
            m.prefetch()  # never raises: patients are then computed one at a time
        self._show_estimate()
        self._show_patient()
        self._show_message()
        self.chart.invalidate()

    # ------------------------------------------------------------------ rendering
    def _show_estimate(self, change=None):
        m = self.model
        self.headline.value = f"<p style='font-size:1.2em'><b>{html.escape(m.headline)}</b></p>"
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in m.assumption_notes)
        whatif = f"<p class='painkit-whatif'><i>{html.escape(m.whatif_text)}</i></p>" if m.whatif_text else ""
        self.details.value = (f"<p>{html.escape(m.range_text)}<br>{html.escape(m.chances_text)}</p>" + whatif
                              + (f"<details><summary>Assumptions behind this estimate</summary><ul>{notes}</ul></details>" if notes else ""))
        self.expectations.value = f"<p><i>{html.escape(m.expectations)}</i></p>"

    def _sync_inputs(self, change=None):
        m = self.model
        if self.baseline.value != m.baseline:
            self.baseline.value = m.baseline
        if tuple(self.plan.value) != tuple(m.plan):
            self.plan.value = tuple(m.plan)
        if self.combine.value != m.combine:
            self.combine.value = m.combine

    def _show_patients(self, change=None):
        current = self.model.patient_id or NEW
        self.patient.options = [NEW, *self.model.patient_ids]
        self.patient.value = current if current in self.patient.options else NEW

    def _show_patient(self, change=None):
        m = self.model
        selected = bool(m.patient_id)
        self.new_form.layout.display = "none" if selected else None
        self.update_form.layout.display = None if selected else "none"
        self.report.disabled = not selected
        alerts = m.alerts
        if alerts is None or alerts.empty:
            self.alerts_html.value = "" if not selected else "<p class='painkit-no-alerts'>No alerts.</p>"
        else:
            items = []
            for row in alerts.itertuples(index=False):
                colour = _LEVEL_STYLE.get(row.level, "#cccccc")
                items.append(f"<li class='painkit-alert painkit-alert-{row.level}' style='border-left:6px solid {colour};"
                             f"padding-left:6px;margin:2px 0'><b>{html.escape(str(row.level).upper())}</b> "
                             f"{html.escape(str(row.message))}</li>")
            self.alerts_html.value = f"<h3>Alerts</h3><ul style='list-style:none;padding:0'>{''.join(items)}</ul>"
        cols = ["date", "weeks_on_plan", "nrs", "change_pct", "category", "position", "bpi_severity",
                "bpi_interference", "peg_score", "walk_m", "walk_pct_predicted"]
        self.progress_table.value = _table(m.progress, cols, classes="painkit-progress",
                                           empty="No patient chosen: the chart shows the expected range only.")
        if self._schedule_shown is None or self._schedule_shown[0] is not m.schedule:
            # the model hands out one schedule table per plan and start: render it once
            self._schedule_shown = (m.schedule, _table(m.schedule, ["date", "week", "step", "activity", "detail", "load"],
                                                       classes="painkit-schedule",
                                                       empty="Choose or create a patient to see the plan schedule."))
        schedule = self._schedule_shown[1]
        overdue = " (overdue)" if m.summary.get("overdue") is True else ""
        due = f"<p class='painkit-next-due'><b>Next re-measure due: {m.next_due}{overdue}</b></p>" if m.next_due else ""
        self.schedule_html.value = due + schedule

    def _show_message(self, change=None):
        m = self.model
        colour = {"error": "#b2182b", "success": "#1b7837"}.get(m.message_kind, "#333333")
        role = "alert" if m.message_kind == "error" else "status"
        self.message.value = (f"<div role='{role}' class='painkit-message-{m.message_kind}' style='color:{colour}'>"
                              f"{html.escape(m.message)}</div>") if m.message else ""

    def _show_report(self, change=None):
        path = self.model.report_path
        if not path:
            self.report_link.value = ""
            return
        import base64
        from pathlib import Path

        name = Path(path).name
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        self.report_link.value = (f"<span>Report: <code>{html.escape(path)}</code> "
                                  f"<a download='{html.escape(name)}' href='data:text/html;base64,{data}'>download</a></span>")

    def _visits(self):
        """(visits with date and nrs, plan start) the progress chart shows."""
        m = self.model
        if m.patient:
            visits = m.assessments[["date", "nrs"]] if len(m.assessments) else pd.DataFrame({"date": [], "nrs": []})
            return visits, m.patient["plan_start"]
        return pd.DataFrame({"date": pd.to_datetime([]), "nrs": []}), pd.Timestamp(m.as_of)

    def _progress_caption(self, visits) -> str:
        m = self.model
        recorded = visits.dropna(subset=["nrs"])
        if len(recorded):
            last = recorded.iloc[-1]
            return (f"{len(recorded)} recorded score(s); latest NRS {int(last['nrs'])} on "
                    f"{pd.Timestamp(last['date']).date()}; expected range for baseline {m.baseline}")
        return f"No recorded scores yet; expected range for baseline {m.baseline}"

    def _draw_progress(self, ax):
        from ..plots import progress_chart

        m = self.model
        if not m.plan:
            ax.text(0.5, 0.5, "Choose a plan", ha="center", va="center", transform=ax.transAxes)
            return "No plan chosen."
        visits, start = self._visits()
        progress_chart(visits, baseline=m.baseline, plan=plan_label(m.plan), plan_start=start, combine=m.combine, ax=ax,
                       evidence=m.evidence)
        return self._progress_caption(visits)

    def _progress_key(self):
        """What the progress chart's axes depend on: the patient, the plan start and how far the
        band reaches. A new baseline, plan, rule or score only moves artists."""
        from ..plots import progress_horizon

        if not self.model.plan:
            return None
        visits, start = self._visits()
        return (self.model.patient_id, pd.Timestamp(start),
                progress_horizon(pd.to_datetime(visits["date"]), plan_start=start))

    def _update_progress(self, ax):
        from ..plots import update_progress_chart

        m = self.model
        visits, start = self._visits()
        try:
            update_progress_chart(ax, visits, baseline=m.baseline, plan=plan_label(m.plan), plan_start=start,
                                  combine=m.combine, evidence=m.evidence)
        except LookupError:
            return None
        return self._progress_caption(visits)

    # ------------------------------------------------------------------ events
    def _on_patient_choice(self, change):
        with self.chart.hold():
            self.model.select_patient("" if change["new"] == NEW else change["new"])

    def _on_create(self, _button=None):
        with self.chart.hold():
            self._create()

    def _create(self):
        ok = self.model.create_patient(
            self.new_id.value, plan_start=self.plan_start.value, sex=self.sex.value or None,
            birth_year=self.birth_year.value, height_cm=self.height.value, weight_kg=self.weight.value,
        )
        if ok:
            self.new_id.value = ""

    def _on_add(self, _button=None):
        with self.chart.hold():
            self._add()

    def _add(self):
        fields = {name: w.value for name, w in self.u_items.items()}
        fields.update({name: w.value for name, w in self.u_flags.items()})
        ok = self.model.add_update(self.u_date.value, self.u_nrs.value, walk_m=self.u_walk.value,
                                   mood_flag=self.u_mood.value, notes=self.u_notes.value, **fields)
        if ok:
            for w in (*self.u_items.values(), self.u_walk, self.u_notes):
                w.value = ""
            for w in (*self.u_flags.values(), self.u_mood):
                w.value = False

    def _on_report(self, _button=None):
        self.report.disabled = True
        self.report_link.value = "<i>Rendering the report…</i>"
        try:
            self.model.generate_report()
        finally:
            self.report.disabled = not self.model.patient_id
            self._show_report()


def build_tracker(store=None, *, as_of=None, deferred=None, freeze_gc=None) -> TrackerApp:
    """The tracker app on a store (path, :class:`~painkit.store.Store` or None for the default).

    Once built, the objects in memory are frozen out of the cycle collector's full passes
    (:func:`painkit.widgets._gc.freeze_startup_objects`; ``freeze_gc=False`` or
    ``PAINKIT_GC_FREEZE=0`` to opt out), so no ~100 ms collection lands on a control change.

    Examples
    --------
    >>> import tempfile, os
    >>> app = build_tracker(os.path.join(tempfile.mkdtemp(), "t.db"), deferred=True)
    >>> app.baseline.value = 7
    >>> "expected level 4" in app.headline.value
    True
    """
    from ._gc import freeze_startup_objects

    app = TrackerApp(store=store, as_of=as_of, deferred=deferred)
    freeze_startup_objects(freeze_gc)
    return app
