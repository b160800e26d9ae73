"""Benchmark the patient store.

1. Import a long-format CSV of 100,000 assessments into a new store (read, validate, insert
   in one transaction). Target: under 3 s.
2. Load a store of 1,000,000 assessments into the patients and assessments DataFrames
   (``Store.load_cohort``). Target: under 3 s.

Run: ``.venv/bin/python bench/bench_store.py`` (``make bench`` runs every bench script).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from painkit.exchange import write_cohort
from painkit.schema import BPI_INTERFERENCE, BPI_SEVERITY, PEG_ITEMS, validate_assessments, validate_patients
from painkit.store import Store


def cohort(n_assessments: int, visits: int = 20, seed: int = 0):
    """A synthetic cohort of ``n_assessments`` rows, ``visits`` per patient, every score filled."""
    rng = np.random.default_rng(seed)
    n_pat = n_assessments // visits
    ids = np.array([f"B{i:07d}" for i in range(n_pat)], dtype=object)
    start = pd.Timestamp("2020-01-06") + pd.to_timedelta(rng.integers(0, 700, n_pat), unit="D")
    patients = pd.DataFrame({"patient_id": ids, "sex": rng.choice(["female", "male"], n_pat),
                             "birth_year": rng.integers(1940, 2000, n_pat), "height_cm": 170.0, "weight_kg": 75.0,
                             "plan": rng.choice(["pt", "cbt", "cbt+pt", "scs"], n_pat), "plan_start": start})
    pid = np.repeat(np.arange(n_pat), visits)
    week = np.tile(np.arange(visits) * 4, n_pat)
    data = {"patient_id": ids[pid], "date": start.to_numpy()[pid] + (week * 7).astype("timedelta64[D]")}
    for col in ("nrs", *BPI_SEVERITY, *BPI_INTERFERENCE, *PEG_ITEMS):
        data[col] = rng.integers(0, 11, len(pid))
    data["walk_m"] = rng.integers(200, 600, len(pid)).astype(float)
    data["exercise_sessions_planned"] = 8
    data["exercise_sessions_done"] = rng.integers(0, 9, len(pid))
    data["mood_flag"] = rng.random(len(pid)) < 0.2
    for col in ("rf_weakness", "rf_bladder", "rf_weight_loss", "rf_fever"):
        data[col] = False
    data["notes"] = np.where(rng.random(len(pid)) < 0.01, "note", None)
    patients = validate_patients(patients)
    return patients, validate_assessments(pd.DataFrame(data))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        patients, assessments = cohort(100_000)
        csv = write_cohort(patients, assessments, tmp / "cohort100k.csv")
        store = Store(tmp / "import.db")
        t0, c0 = time.perf_counter(), time.process_time()
        result = store.import_file(csv)
        t_import, c_import = time.perf_counter() - t0, time.process_time() - c0
        assert result.assessments_added == 100_000, result
        store.close()
        print(f"import 100,000 assessments from CSV (read, validate, store): {t_import:.2f} s "
              f"(CPU {c_import:.2f} s; target < 3 s)")

        big = Store(tmp / "load.db")
        for part in range(10):  # build the 1,000,000-row store (not timed)
            p, a = cohort(100_000, seed=part + 1)
            suffix = f"-{part}"
            p = p.assign(patient_id=p["patient_id"] + suffix)
            a = a.assign(patient_id=a["patient_id"] + suffix)
            big.import_frames(p, a)
        big.close()
        fresh = Store(tmp / "load.db")
        t0, c0 = time.perf_counter(), time.process_time()
        patients, assessments = fresh.load_cohort()
        t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
        assert len(assessments) == 1_000_000
        print(f"load 1,000,000 assessments ({len(patients):,} patients) into DataFrames: {t_load:.2f} s "
              f"(CPU {c_load:.2f} s; target < 3 s)")
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        fresh.close()
    return 0 if t_import < 3 and t_load < 3 else 1


if __name__ == "__main__":
    sys.exit(main())
