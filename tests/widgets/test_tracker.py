"""The tracker app: set widget values, click its buttons, check its outputs and the store."""

from __future__ import annotations

import datetime as dt

import pytest

import painkit
from painkit.widgets import TrackerApp, build_tracker

AS_OF = dt.date(2026, 3, 1)
START = dt.date(2026, 1, 5)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def app(seeded):
    return build_tracker(seeded, as_of=AS_OF, deferred=False)


@pytest.fixture
def empty_app(store_path):
    return build_tracker(store_path, as_of=AS_OF, deferred=False)


def _text(app: TrackerApp) -> str:
    import ipywidgets as W

    out = []

    def walk(w):
        if isinstance(w, W.HTML):
            out.append(w.value)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(app)
    return "\n".join(out)


def test_article_elements_and_disclaimer(empty_app):
    text = _text(empty_app)
    assert "0 (No pain)" in text and "10 (Worst pain)" in text
    assert painkit.DISCLAIMER in text
    assert empty_app.baseline.min == 0 and empty_app.baseline.max == 10
    assert empty_app.add.description == "Add progress update"
    assert empty_app.report.description == "Generate report"
    # the article's example: baseline 7, CBT -> expected level 4
    empty_app.plan.value = ("cbt",)
    empty_app.baseline.value = 7
    assert "Estimated pain reduction: current level 7, expected level 4 (range 4-5)" in empty_app.headline.value
    assert "30-50%" in empty_app.expectations.value
    assert bytes(empty_app.chart.image.value).startswith(PNG)


def test_slider_moves_expected_level(empty_app):
    empty_app.plan.value = ("cbt",)
    for baseline in (10, 5, 0):
        empty_app.baseline.value = baseline
        est = painkit.estimate(baseline, "cbt")
        assert empty_app.model.expected_level == round(est.expected)
        assert f"current level {baseline}, expected level {round(est.expected)}" in empty_app.headline.value
    assert "No reduction is possible" in empty_app.details.value


def test_plan_and_combination_rule_change_the_estimate(empty_app):
    empty_app.baseline.value = 8
    empty_app.plan.value = ("cbt", "pt")
    best = empty_app.model.estimate.expected
    empty_app.combine.value = "independent"
    independent = empty_app.model.estimate.expected
    assert independent == pytest.approx(painkit.estimate(8, "cbt+pt", combine="independent").expected)
    assert independent < best
    assert "independent" in empty_app.details.value  # the assumption note names the rule
    assert "45-60%" in empty_app.expectations.value


def test_new_patient_is_stored_with_its_baseline(empty_app, store_path, db_rows):
    app = empty_app
    app.plan.value = ("pt",)
    app.baseline.value = 6
    app.new_id.value = "N-7"
    app.sex.value = "male"
    app.birth_year.value = "1960"
    app.height.value = "180"
    app.weight.value = "85"
    app.plan_start.value = dt.date(2026, 2, 1)
    app.create.click()
    assert app.model.message_kind == "success", app.model.message
    patients, rows = db_rows(store_path)
    assert [p[1] for p in patients] == ["N-7"]
    assert [(r["patient_id"], r["date"], r["nrs"]) for r in rows] == [("N-7", "2026-02-01", 6)]
    assert app.patient.value == "N-7" and "N-7" in app.patient.options
    assert "Next re-measure due: 2026-03-01" in app.schedule_html.value
    assert app.update_form.layout.display is None and app.new_form.layout.display == "none"


@pytest.mark.parametrize(
    "changes, needle",
    [
        ({"new_id": "   "}, "Patient id: required"),
        ({"plan_start": dt.date(2026, 3, 2)}, "in the future"),
        ({"height": "tall"}, "Height (cm): 'tall' is not a number"),
        ({"birth_year": "1850"}, "Birth year"),
    ],
)
def test_bad_new_patient_writes_nothing(empty_app, store_path, db_rows, changes, needle):
    app = empty_app
    app.new_id.value = "N-1"
    for name, value in changes.items():
        getattr(app, name).value = value
    app.create.click()
    assert app.model.message_kind == "error"
    assert needle in app.model.message
    assert needle.split(":")[0] in app.message.value and "role='alert'" in app.message.value
    assert db_rows(store_path) == ([], [])


def test_duplicate_patient_id_is_refused(app, seeded, db_rows):
    before = db_rows(seeded)
    app.patient.value = app.patient.options[0]  # new patient
    app.new_id.value = "P-1"
    app.create.click()
    assert app.model.message_kind == "error" and "already in the store" in app.model.message
    assert db_rows(seeded) == before


def test_choosing_a_patient_loads_their_data(app):
    assert app.patient.options[1:] == ("P-1",)
    app.patient.value = "P-1"
    m = app.model
    assert app.baseline.value == 8
    assert app.plan.value == ("cbt", "pt")
    assert list(m.progress["nrs"]) == [8, 6]
    assert "2026-02-02" in app.progress_table.value
    assert "Next re-measure due: 2026-03-02" in app.schedule_html.value
    assert "Education first" in app.schedule_html.value or "education" in app.schedule_html.value.lower()
    assert "2 recorded score(s); latest NRS 6 on 2026-02-02" in app.chart.caption.value


def test_progress_update_reaches_store_and_chart(app, seeded, db_rows):
    app.patient.value = "P-1"
    image_before = bytes(app.chart.image.value)
    app.u_date.value = dt.date(2026, 3, 1)
    app.u_nrs.value = 5
    for name, value in {"bpi_worst": "7", "bpi_least": "3", "bpi_average": "5", "bpi_now": "5",
                        "bpi_activity": "4", "bpi_mood": "3", "bpi_walking": "4", "bpi_work": "5",
                        "peg_pain": "5", "peg_enjoyment": "4", "peg_activity": "6"}.items():
        app.u_items[name].value = value
    app.u_walk.value = "455"
    app.u_notes.value = "walking daily"
    app.add.click()
    assert app.model.message_kind == "success", app.model.message
    _, rows = db_rows(seeded)
    new = rows[-1]
    assert (new["date"], new["nrs"], new["bpi_worst"], new["peg_activity"], new["walk_m"], new["notes"]) == (
        "2026-03-01", 5, 7, 6, 455.0, "walking daily")
    row = app.model.progress.iloc[-1]
    assert row["bpi_severity"] == pytest.approx(5.0)
    assert row["bpi_interference"] == pytest.approx(4.0)
    assert row["peg_score"] == pytest.approx(5.0)
    assert "3 recorded score(s); latest NRS 5 on 2026-03-01" in app.chart.caption.value
    assert bytes(app.chart.image.value).startswith(PNG) and bytes(app.chart.image.value) != image_before
    assert app.u_items["bpi_worst"].value == "" and app.u_walk.value == ""  # form cleared


def test_red_flag_alert_comes_first(app, seeded, db_rows):
    app.patient.value = "P-1"
    app.u_date.value = dt.date(2026, 2, 20)
    app.u_nrs.value = 7
    app.u_flags["rf_bladder"].value = True
    app.u_mood.value = True
    app.add.click()
    assert app.model.message_kind == "success"
    alerts = app.model.alerts
    assert alerts.iloc[0]["level"] == "urgent" and "bladder" in alerts.iloc[0]["message"]
    assert set(alerts["level"]) > {"urgent"}  # other alerts follow it
    html = app.alerts_html.value
    assert html.index("painkit-alert-urgent") < min(html.index(f"painkit-alert-{lvl}") for lvl in ("discuss", "review", "advice") if f"painkit-alert-{lvl}" in html)
    _, rows = db_rows(seeded)
    assert rows[-1]["rf_bladder"] == 1 and rows[-1]["mood_flag"] == 1


@pytest.mark.parametrize(
    "date, nrs, items, needle",
    [
        (dt.date(2026, 2, 20), 11, {}, "NRS: 11 is outside the scale"),
        (dt.date(2026, 2, 20), -1, {}, "NRS: -1 is outside the scale"),
        (dt.date(2026, 3, 2), 5, {}, "in the future"),
        (dt.date(2025, 12, 31), 5, {}, "before the baseline (2026-01-05)"),
        (None, 5, {}, "Date: a date is required"),
        (dt.date(2026, 2, 20), 5, {"bpi_worst": "12"}, "(bpi_worst): '12' is outside the scale"),
        (dt.date(2026, 2, 20), 5, {"peg_pain": "a lot"}, "(peg_pain): 'a lot' is not a number"),
        (dt.date(2026, 2, 2), 4, {}, "already has an assessment on 2026-02-02"),
    ],
)
def test_bad_update_shows_message_and_writes_nothing(app, seeded, db_rows, date, nrs, items, needle):
    app.patient.value = "P-1"
    before = db_rows(seeded)
    app.u_date.value = date
    app.u_nrs.value = nrs
    for name, value in items.items():
        app.u_items[name].value = value
    app.add.click()
    assert app.model.message_kind == "error"
    assert needle in app.model.message
    assert "role='alert'" in app.message.value
    assert db_rows(seeded) == before  # nothing written, nothing lost
    assert list(app.model.progress["nrs"]) == [8, 6]


def test_update_needs_a_patient(empty_app, store_path, db_rows):
    assert empty_app.update_form.layout.display == "none"
    assert empty_app.model.add_update(AS_OF, 5) is False
    assert "Choose a patient" in empty_app.model.message
    assert db_rows(store_path) == ([], [])


def test_generate_report_writes_html(app, tmp_path):
    app.patient.value = "P-1"
    app.report.click()
    path = app.model.report_path
    assert app.model.message_kind == "success", app.model.message
    assert path.endswith(".html") and str(tmp_path / "reports") in path
    assert path in app.report_link.value
    with open(path, encoding="utf-8") as handle:
        page = handle.read()
    assert "P-1" in page or "Pain progress report" in page


def test_what_if_for_a_stored_patient(app):
    app.patient.value = "P-1"
    assert "What-if" not in app.details.value
    app.baseline.value = 5
    app.plan.value = ("scs",)
    assert "What-if: baseline 5 (recorded: 8) and plan scs (stored: cbt+pt)" in app.details.value
    assert list(app.model.progress["nrs"]) == [8, 6]  # recorded progress untouched
