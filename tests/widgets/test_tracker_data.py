"""The tracker's cache of per-patient tables: slices of the whole-store pass equal the
per-patient computation, and the cache follows the store."""

from __future__ import annotations

import datetime as dt
import gc
import shutil
from pathlib import Path

import pandas as pd
import pytest

from painkit.plan import personal_plan
from painkit.store import Store
from painkit.widgets import TrackerModel
from painkit.widgets._gc import freeze_startup_objects
from painkit.widgets.tracker_data import LEVEL_ORDER, PatientTables, _schedule, patient_outputs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "cohort.csv"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    store = Store(path)
    store.import_file(SAMPLE)
    store.close()
    return path


@pytest.fixture
def store(sample_db, tmp_path):
    path = tmp_path / "copy.db"
    shutil.copy(sample_db, path)
    s = Store(path)
    yield s
    s.close()


def _same(a, b):
    for name in ("patient", "assessments", "progress", "alerts", "schedule"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.due.keys() == b.due.keys()
    for key in a.due:
        assert a.due[key] == b.due[key] or (pd.isna(a.due[key]) and pd.isna(b.due[key])), key


def _alone(store, pid, as_of, combine):
    return patient_outputs(store.patients(pid), store.assessments(pid), as_of=as_of, combine=combine)


@pytest.mark.parametrize("combine", [None, "independent"])
@pytest.mark.parametrize("as_of", ["2025-12-02", "2025-03-01"])  # after every visit; mid-cohort
def test_whole_store_slices_equal_each_patient_alone(store, as_of, combine):
    tables = PatientTables(store)
    assert tables.prefetch(as_of=as_of, combine=combine)
    ids = list(store.patients()["patient_id"])
    some_alerts = some_later = 0
    for pid in ids[::4]:
        got = tables.outputs(pid, as_of=as_of, combine=combine)
        _same(got, _alone(store, pid, as_of, combine))
        some_alerts += len(got.alerts) > 1
        if len(got.alerts):
            ranks = [LEVEL_ORDER.index(level) for level in got.alerts["level"]]
            assert ranks == sorted(ranks)  # red flags (urgent) first
        later = got.progress["date"] > pd.Timestamp(as_of)
        assert got.progress.loc[later, "category"].isna().all() and got.progress.loc[~later, "category"].notna().all()
        some_later += later.any()
    assert some_alerts > 5  # the check above saw real alert tables
    assert some_later > 5 if as_of == "2025-03-01" else not some_later  # visits after as_of: listed, not tracked


def test_large_store_is_computed_per_patient(store):
    tables = PatientTables(store, bulk_limit=10)
    assert not tables.prefetch(as_of="2025-12-02")
    _same(tables.outputs("S007", as_of="2025-12-02"), _alone(store, "S007", "2025-12-02", None))


def test_cache_serves_unchanged_store_and_follows_own_writes(store):
    tables = PatientTables(store)
    first = tables.outputs("S001", as_of="2025-12-02")
    other = tables.outputs("S002", as_of="2025-12-02")
    assert tables.outputs("S001", as_of="2025-12-02") is first
    n = len(first.assessments)
    day = first.assessments["date"].max() + pd.Timedelta(days=1)
    with tables.writing("S001"):
        store.add_update("S001", day.date(), nrs=3)
    after = tables.outputs("S001", as_of="2025-12-02")
    assert len(after.assessments) == n + 1 and after.assessments["nrs"].iloc[-1] == 3
    _same(after, _alone(store, "S001", "2025-12-02", None))
    assert tables.outputs("S002", as_of="2025-12-02") is other  # untouched patient kept


def test_write_by_another_connection_drops_the_cache(store):
    tables = PatientTables(store)
    before = tables.outputs("S003", as_of="2025-12-02")
    day = before.assessments["date"].max() + pd.Timedelta(days=1)
    other = Store(store.path)
    other.add_update("S003", day.date(), nrs=2)
    other.add_patient("NEW-1", plan="cbt", plan_start="2025-06-02")
    other.close()
    after = tables.outputs("S003", as_of="2025-12-02")
    assert len(after.assessments) == len(before.assessments) + 1
    assert "NEW-1" in set(tables.patients()["patient_id"])


@pytest.mark.parametrize("plan", ["cbt", "cbt+pt", "gabapentinoid+pt", "mbsr_24wk+duloxetine", "opioid+pne_exercise"])
@pytest.mark.parametrize("start", ["2024-02-29", "2025-12-31", "2026-03-29"])  # leap day, year end, DST change
def test_schedule_is_personal_plan(plan, start):
    pd.testing.assert_frame_equal(_schedule(plan, start), personal_plan(plan, start))


def test_combination_rule_refreshes_the_recorded_progress(store):
    model = TrackerModel(store, as_of=dt.date(2025, 12, 2))
    pid = next(p for p in model.tables.patients()["patient_id"]
               if "+" in str(model.tables.patient(p)["plan"].iloc[0]))
    model.select_patient(pid)
    best = model.progress["band_low"].to_numpy()
    model.combine = "independent"
    independent = model.progress["band_low"].to_numpy()
    assert (independent < best).any()  # two arms together: the band reaches lower
    _same(model.tables.outputs(pid, as_of="2025-12-02", combine="independent"),
          _alone(store, pid, "2025-12-02", "independent"))


def test_freeze_startup_objects(monkeypatch):
    monkeypatch.setenv("PAINKIT_GC_FREEZE", "0")
    assert freeze_startup_objects() is False
    monkeypatch.delenv("PAINKIT_GC_FREEZE")
    try:
        assert freeze_startup_objects() is True
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


def test_caches_are_bounded(store, monkeypatch):
    import painkit.widgets.tracker_data as td

    monkeypatch.setattr(td, "KEEP_OUTPUTS", 5)
    monkeypatch.setattr(td, "KEEP_BULK", 1)
    tables = PatientTables(store)
    ids = list(store.patients()["patient_id"])[:8]
    for pid in ids:
        tables.outputs(pid, as_of="2025-12-02")
    assert [k[0] for k in tables._outputs] == ids[-5:]
    tables.outputs(ids[0], as_of="2025-12-02", combine="independent")
    assert list(tables._bulk) == [(pd.Timestamp("2025-12-02"), "independent")]
    _same(tables.outputs(ids[1], as_of="2025-12-02"), _alone(store, ids[1], "2025-12-02", None))


def test_a_failing_whole_store_pass_falls_back_to_each_patient(store, monkeypatch):
    import painkit.widgets.tracker_data as td

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure of the whole-store pass")

    monkeypatch.setattr(td._Bulk, "__init__", broken)
    tables = PatientTables(store)
    assert tables.prefetch(as_of="2025-12-02") is False
    _same(tables.outputs("S010", as_of="2025-12-02"), _alone(store, "S010", "2025-12-02", None))


def test_an_app_built_again_frees_the_previous_one(sample_db):
    """Each build unfreezes what the previous froze, so a dropped app does not stay in memory.
    Run in a fresh interpreter: freezing is process-wide, and a test process holds much else."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import datetime as dt, gc, weakref
        import ipywidgets, matplotlib
        matplotlib.use("Agg")
        from painkit.widgets import build_tracker
        first = build_tracker({str(sample_db)!r}, as_of=dt.date(2025, 12, 2), deferred=True)
        assert gc.get_freeze_count() > 1000
        gone = weakref.ref(first.model)
        ipywidgets.Widget.close_all()  # what a re-run cell's front end does with the old views
        del first
        build_tracker({str(sample_db)!r}, as_of=dt.date(2025, 12, 2), deferred=True)
        print("freed" if gone() is None else "kept")
    """)
    env = {k: v for k, v in __import__("os").environ.items() if k != "PAINKIT_GC_FREEZE"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "freed"
