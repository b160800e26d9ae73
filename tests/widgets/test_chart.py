"""Charts: a change that only moves bands and lines is blitted over the kept picture, and the
result looks like a full redraw of the same state."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image

from painkit.widgets import build_explorer, build_tracker

AS_OF = dt.date(2026, 3, 1)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def _like_full_redraw(chart) -> None:
    """The blitted picture against a full redraw of the same state: the same size, and at most
    a few edge pixels differ (dynamic artists are drawn last, over the spines)."""
    blitted = _pixels(bytes(chart.image.value))
    chart._background = None  # force the full path
    chart.invalidate()
    chart.flush()
    full = _pixels(bytes(chart.image.value))
    assert blitted.shape == full.shape
    differ = (np.abs(blitted - full).max(axis=2) > 8).mean()
    assert differ < 0.002, differ


@pytest.mark.parametrize("patient", ["P-1", None])
def test_tracker_band_changes_are_blitted(seeded, patient):
    app = build_tracker(seeded, as_of=AS_OF, deferred=False)
    if patient:
        app.patient.value = patient
    chart = app.chart
    renders, blits = chart.renders, chart.blits
    before = bytes(chart.image.value)
    app.baseline.value = 3
    assert (chart.renders, chart.blits) == (renders + 1, blits + 1)
    assert bytes(chart.image.value) != before and "baseline 3" in chart.caption.value
    _like_full_redraw(chart)
    blits = chart.blits
    app.plan.value = ("pt",)
    app.combine.value = "independent"
    assert chart.blits == blits + 2
    _like_full_redraw(chart)


def test_tracker_new_visit_is_blitted_a_new_patient_redrawn(seeded):
    app = build_tracker(seeded, as_of=AS_OF, deferred=False)
    app.patient.value = "P-1"
    blits = app.chart.blits
    app.u_date.value = dt.date(2026, 2, 20)
    app.u_nrs.value = 4
    app.add.click()
    assert app.model.message_kind == "success"
    assert app.chart.blits == blits + 1  # the same axes: the new score is moved in
    assert "3 recorded score(s); latest NRS 4 on 2026-02-20" in app.chart.caption.value
    _like_full_redraw(app.chart)
    app.patient.value = "— new patient —"
    assert app.chart.blits == blits + 1  # other axes: a full redraw
    assert "No recorded scores yet" in app.chart.caption.value


def test_explorer_baseline_is_blitted_and_plans_redraw():
    app = build_explorer(deferred=False, freeze_gc=False)
    chart = app.trajectory_chart
    blits = chart.blits
    app.baseline.value = 9
    assert chart.blits == blits + 1 and "baseline 9" in chart.caption.value
    _like_full_redraw(chart)
    app.plan_pickers[0].value = ("scs",)
    assert chart.blits == blits + 1  # new labels: a full redraw
    app.combine.value = "independent"
    assert chart.blits == blits + 1
