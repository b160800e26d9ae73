"""Fixtures for the widget tests: a temporary store (never the default one) with one patient."""

from __future__ import annotations

import datetime as dt

import matplotlib
import pytest

matplotlib.use("Agg")

AS_OF = dt.date(2026, 3, 1)
START = dt.date(2026, 1, 5)


@pytest.fixture(autouse=True)
def _no_gc_freeze(monkeypatch):
    """The builders freeze the objects in memory out of the cycle collector (see
    painkit.widgets._gc); in a test process that builds dozens of apps, don't."""
    monkeypatch.setenv("PAINKIT_GC_FREEZE", "0")


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "painkit.db"
    monkeypatch.setenv("PAINKIT_DB", str(path))
    monkeypatch.setenv("PAINKIT_REPORTS", str(tmp_path / "reports"))
    return path


@pytest.fixture
def seeded(store_path):
    """A store with patient P-1 (cbt+pt from 2026-01-05, baseline 8, one follow-up of 6)."""
    from painkit.store import Store

    store = Store(store_path)
    store.add_patient("P-1", plan="cbt+pt", plan_start=START, sex="female", birth_year=1970,
                      height_cm=165, weight_kg=70)
    store.add_update("P-1", START, nrs=8, walk_m=420)
    store.add_update("P-1", dt.date(2026, 2, 2), nrs=6)
    store.close()
    return store_path


@pytest.fixture
def db_rows():
    """``db_rows(path) -> (patients, assessments)``: every stored row, read straight from SQLite."""
    return _read_rows


def _read_rows(path):
    import sqlite3

    con = sqlite3.connect(path)
    try:
        patients = con.execute("SELECT * FROM patients ORDER BY patient_id").fetchall()
        rows = con.execute(
            "SELECT p.patient_id, a.* FROM assessments a JOIN patients p ON p.id = a.pid ORDER BY p.patient_id, a.date"
        ).fetchall()
        names = ["patient_id", *[d[0] for d in con.execute("SELECT * FROM assessments LIMIT 0").description]]
    finally:
        con.close()
    return patients, [dict(zip(names, r)) for r in rows]
