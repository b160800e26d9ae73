"""Benchmark the apps: how long a change of each control takes to update the outputs.

For every control of the tracker and the evidence explorer, set a new value on the view's
widget (as the browser does through the comm) and time until every observer has run, i.e.
until the model's outputs and the text/table widgets show the new state. Charts are drawn
lazily (:class:`painkit.widgets._chart.LazyChart`: in a kernel, one redraw ~30 ms after the
last change), so their redraw is timed separately: a change that only moves bands and lines
(baseline, plan, rule, a new score) is blitted over the kept picture; another patient, plans or filters redraw
everything.

Target: median and max of every control well under 100 ms in-process. The tracker works on a
temporary store loaded with the synthetic sample cohort (data/sample/cohort.csv).

Run: ``.venv/bin/python bench/bench_widgets.py`` (``make bench`` runs every bench script).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import header, verdict  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0


def timed(label: str, values, apply, *, rounds: int, results: list, after=None) -> None:
    """Apply each value in turn (cycling) ``rounds`` times; record per-change milliseconds."""
    times = []
    for i in range(rounds):
        value = values[i % len(values)]
        start = time.perf_counter()
        apply(value)
        times.append((time.perf_counter() - start) * 1000)
        if after is not None:
            after()
    results.append((label, statistics.median(times), max(times), len(times)))


def charts(label: str, chart, results: list, *, rounds: int = 5, change=None, full: bool = False) -> None:
    """Time ``chart.flush()`` after ``change(i)`` (default: mark stale); ``full`` forgets the kept
    picture first, as a new patient or filter does."""
    times = []
    blits = chart.blits
    for i in range(rounds):
        if full:
            chart._background = None
        if change is not None:
            change(i)
        chart.invalidate()
        start = time.perf_counter()
        chart.flush()
        times.append((time.perf_counter() - start) * 1000)
    assert (chart.blits > blits) != full, f"{label}: expected {'full redraws' if full else 'blits'}"
    results.append((label, statistics.median(times), max(times), len(times)))


def main() -> int:
    from painkit.store import Store
    from painkit.widgets import build_explorer, build_tracker

    header("bench_widgets: control change -> outputs updated (in-process)")
    results: list = []
    charts_results: list = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        store = Store(db)
        store.import_file(ROOT / "data" / "sample" / "cohort.csv")
        patients, assessments = store.load_cohort()
        ids = list(patients["patient_id"])
        as_of = (assessments["date"].max() + dt.timedelta(days=1)).date()
        print(f"store: {len(ids)} patients, {len(assessments)} assessments (sample cohort); as_of {as_of}")

        t0 = time.perf_counter()
        app = build_tracker(store, as_of=as_of, deferred=True)
        app.chart.flush()
        print(f"tracker built in {1000 * (time.perf_counter() - t0):.0f} ms (first use: imports, evidence)")
        flush = app.chart.flush  # keep the chart current between changes, outside the timing
        arms = [("cbt",), ("cbt", "pt"), ("pt", "scs"), ("mbsr_8wk",), ("antidepressant", "pt")]
        # warm-up, then time
        app.baseline.value = 6
        timed("tracker: baseline slider", list(range(11)), lambda v: setattr(app.baseline, "value", v),
              rounds=44, results=results, after=flush)
        timed("tracker: plan (multi-select)", arms, lambda v: setattr(app.plan, "value", v),
              rounds=25, results=results, after=flush)
        timed("tracker: combination rule", ["independent", "damped", "best"],
              lambda v: setattr(app.combine, "value", v), rounds=24, results=results, after=flush)
        timed("tracker: choose patient (store read, scoring, tracking, alerts, schedule)", ids[:20],
              lambda v: setattr(app.patient, "value", v), rounds=20, results=results, after=flush)
        app.patient.value = next(p for p in ids if "+" in str(store.patients(p)["plan"].iloc[0]))
        timed("tracker: combination rule, patient chosen (estimate + the recorded progress's band)",
              ["independent", "damped", "best"], lambda v: setattr(app.combine, "value", v), rounds=24,
              results=results, after=flush)
        app.patient.value = ids[0]
        start = app.model.patient["plan_start"].date()
        taken = set(pd_dates(app.model.assessments))
        free = iter([d for d in (start + dt.timedelta(days=k) for k in range(1, (as_of - start).days + 1))
                     if d not in taken])

        def add(_):
            app.u_date.value = next(free)
            app.u_nrs.value = 5
            app.add.click()
            assert app.model.message_kind == "success", app.model.message

        timed("tracker: 'Add progress update' (validate, write, refresh)", [None], add, rounds=10,
              results=results, after=flush)
        timed("tracker: bad update (NRS 11, message, nothing written)", [None],
              lambda _: (setattr(app.u_nrs, "value", 11), app.add.click()), rounds=20, results=results)
        def slide(i):
            app.baseline.value = (3, 6, 9)[i % 3]

        charts("tracker: progress chart after the baseline slider (blit)", app.chart, charts_results, rounds=9,
               change=slide)
        charts("tracker: progress chart, full redraw (another patient)", app.chart, charts_results, full=True)

        ex = build_explorer(deferred=True)
        ex.benefit_chart.flush()
        ex.trajectory_chart.flush()

        def ex_flush():
            ex.benefit_chart.flush()
            ex.trajectory_chart.flush()

        timed("explorer: evidence level filter", [("high",), ("moderate", "pilot"), ()],
              lambda v: setattr(ex.levels, "value", v), rounds=24, results=results, after=ex_flush)
        timed("explorer: kind filter", [("medication",), ("exercise", "psychological"), ()],
              lambda v: setattr(ex.kinds, "value", v), rounds=24, results=results, after=ex_flush)
        timed("explorer: baseline slider", list(range(11)), lambda v: setattr(ex.baseline, "value", v),
              rounds=44, results=results, after=ex_flush)
        timed("explorer: plan picker", arms, lambda v: setattr(ex.plan_pickers[2], "value", v),
              rounds=25, results=results, after=ex_flush)
        timed("explorer: combination rule (ToggleButtons)", ["independent", "damped", "best"],
              lambda v: setattr(ex.combine, "value", v), rounds=24, results=results, after=ex_flush)
        charts("explorer: benefit-range chart, full redraw (filters, plans)", ex.benefit_chart, charts_results,
               full=True)

        def ex_slide(i):
            ex.baseline.value = (3, 6, 9)[i % 3]

        charts("explorer: trajectories chart after the baseline slider (blit)", ex.trajectory_chart, charts_results,
               rounds=9, change=ex_slide)
        charts("explorer: trajectories chart, full redraw (plans, rule)", ex.trajectory_chart, charts_results,
               full=True)
        store.close()
        pauses = gc_pauses()

    width = max(len(r[0]) for r in results + charts_results)
    print(f"\n{'control':<{width}}  {'median ms':>9}  {'max ms':>8}  {'n':>3}")
    worst = 0.0
    for label, median, high, n in results:
        worst = max(worst, high)
        print(f"{label:<{width}}  {median:9.1f}  {high:8.1f}  {n:3d}")
    print(f"\nslowest control (max over all changes): {worst:.1f} ms  {verdict(worst, TARGET_MS, 'ms')}")
    print("\ncharts, drawn after the outputs (coalesced, ~30 ms after the last change in a kernel):")
    for label, median, high, n in charts_results:
        print(f"{label:<{width}}  {median:9.1f}  {high:8.1f}  {n:3d}")
    print("\nfull garbage-collection pass (the apps freeze start-up objects, painkit.widgets._gc):")
    print(f"  {pauses[0]:.0f} ms over {pauses[2]:,} objects when they are not frozen; {pauses[1]:.1f} ms frozen")
    return 0


def gc_pauses() -> tuple[float, float, int]:
    """Milliseconds of one full collection with the objects in memory unfrozen, then frozen."""
    import gc

    gc.unfreeze()
    count = len(gc.get_objects())
    start = time.perf_counter()
    gc.collect()
    unfrozen = (time.perf_counter() - start) * 1000
    gc.freeze()
    start = time.perf_counter()
    gc.collect()
    return unfrozen, (time.perf_counter() - start) * 1000, count


def pd_dates(frame):
    return [d.date() for d in frame["date"]] if len(frame) else []


if __name__ == "__main__":
    sys.exit(main())
