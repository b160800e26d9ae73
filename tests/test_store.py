"""The SQLite patient store: safety, history, migrations, concurrency, import atomicity."""

from __future__ import annotations

import multiprocessing as mp
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from painkit.errors import StoreError, ValidationError
from painkit.exchange import write_cohort
from painkit.schema import empty_assessments, empty_patients
from painkit.store import MIGRATIONS, SCHEMA_VERSION, Store, default_db_path


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "s.db")
    s.add_patient("P1", plan="cbt+pt", plan_start="2024-01-08", sex="female", birth_year=1970)
    s.add_update("P1", "2024-01-08", nrs=7, bpi_worst=8, notes="baseline")
    yield s
    s.close()


def test_created_owner_only_in_wal_mode_with_foreign_keys(tmp_path):
    path = tmp_path / "sub" / "new.db"
    with Store(path) as s:
        s.add_patient("P1", plan="pt", plan_start="2024-01-01")
        assert _mode(path) == 0o600
        for extra in ("new.db-wal", "new.db-shm"):
            assert _mode(path.parent / extra) == 0o600
        assert s._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert s.version == SCHEMA_VERSION


def test_env_var_overrides_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PAINKIT_DB", str(tmp_path / "env.db"))
    assert default_db_path() == tmp_path / "env.db"
    with Store() as s:
        assert s.path == tmp_path / "env.db"
    assert (tmp_path / "env.db").exists()


def test_add_update_validates_and_names_the_problem(store):
    with pytest.raises(ValidationError, match=r"patient 'P1', 2024-02-05: column 'nrs', value 11"):
        store.add_update("P1", "2024-02-05", nrs=11)
    with pytest.raises(ValidationError, match="before the plan start"):
        store.add_update("P1", "2024-01-01", nrs=5)
    with pytest.raises(StoreError, match="already has an assessment"):
        store.add_update("P1", "2024-01-08", nrs=5)
    with pytest.raises(StoreError, match="no patient 'NOPE'"):
        store.add_update("NOPE", "2024-01-08", nrs=5)
    with pytest.raises(ValidationError, match="more sessions done than planned"):
        store.add_update("P1", "2024-02-05", nrs=5, exercise_sessions_planned=2, exercise_sessions_done=3)
    assert len(store.assessments()) == 1


def test_check_constraints_refuse_bad_values_written_by_raw_sql(store):
    con = store._con
    for sql in (
        "UPDATE assessments SET nrs = 11",
        "UPDATE assessments SET nrs = 2.5",
        "UPDATE assessments SET mood_flag = 2",
        "UPDATE assessments SET date = '2024-02-30'",
        "UPDATE patients SET sex = 'x'",
        "UPDATE patients SET height_cm = 20",
        "INSERT INTO assessments (pid, date, nrs) VALUES (999, '2024-03-01', 5)",
        "INSERT INTO assessments (pid, date, nrs) VALUES (1, '2023-03-01', 5)",
    ):
        with pytest.raises(sqlite3.IntegrityError):
            con.execute(sql)


def test_correct_and_delete_keep_old_values_in_history(store):
    store.add_update("P1", "2024-02-05", nrs=6, bpi_worst=8, mood_flag=True)
    store.correct_update("P1", "2024-02-05", nrs=5, mood_flag=False, reason="typo")
    store.delete_update("P1", "2024-02-05", reason="entered for the wrong patient")
    assert list(store.assessments()["date"].dt.strftime("%Y-%m-%d")) == ["2024-01-08"]
    h = store.history("P1")
    corrected = h[h.action == "correct"].set_index("field")
    assert corrected.loc["nrs", "old_value"] == 6 and corrected.loc["nrs", "new_value"] == 5
    assert corrected.loc["mood_flag", "old_value"] == 1 and corrected.loc["nrs", "reason"] == "typo"
    deleted = h[h.action == "delete"].set_index("field")
    assert deleted.loc["nrs", "old_value"] == 5 and deleted.loc["bpi_worst", "old_value"] == 8
    assert set(deleted["reason"]) == {"entered for the wrong patient"}
    store.edit_patient("P1", weight_kg=80, reason="weighed")
    edits = store.history("P1")
    assert edits[edits.action == "edit"].iloc[0][["field", "old_value", "new_value"]].tolist() == ["weight_kg", None, 80.0]


def test_history_is_append_only_and_catches_raw_sql_changes(store):
    store._con.execute("UPDATE assessments SET nrs = 3")
    last = store.history().iloc[-1]
    assert (last.action, last.field, last.old_value, last.new_value) == ("update", "nrs", 7, 3)
    for sql in ("UPDATE history SET old_value = 0", "DELETE FROM history"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._con.execute(sql)


def test_load_cohort_has_the_schema_dtypes_and_values(store):
    store.add_update("P1", "2024-02-05", nrs=5, walk_m=412.5, red_flags=["fever"], therapies="pt")
    patients, assessments = store.load_cohort()
    assert dict(patients.dtypes) == dict(empty_patients().dtypes)
    assert dict(assessments.dtypes) == dict(empty_assessments().dtypes)
    second = assessments.iloc[1]
    assert second.nrs == 5 and second.walk_m == 412.5 and second.rf_fever and not second.rf_weakness
    assert second.therapies == "pt" and pd.isna(second.notes) and assessments.iloc[0].notes == "baseline"
    assert pd.isna(second.bpi_worst) and assessments.iloc[0].bpi_worst == 8


def _v1_store(path: Path):
    con = sqlite3.connect(path)
    MIGRATIONS[0](con)
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO patients (patient_id, plan, plan_start) VALUES ('OLD', 'pt', '2023-01-02')")
    con.execute("INSERT INTO assessments (pid, date, nrs) VALUES (1, '2023-01-02', 6)")
    con.commit()
    con.close()


def test_migrates_from_version_1_keeping_data(tmp_path):
    path = tmp_path / "v1.db"
    _v1_store(path)
    with Store(path) as s:
        assert s.version == SCHEMA_VERSION == len(MIGRATIONS)
        assert s.assessments("OLD")["nrs"].tolist() == [6]
        s.correct_update("OLD", "2023-01-02", nrs=4)
        assert s.history("OLD").iloc[-1][["old_value", "new_value"]].tolist() == [6, 4]
        with pytest.raises(ValidationError):
            s.add_update("OLD", "2022-12-01", nrs=4)


def test_migrates_from_version_0_and_refuses_newer(tmp_path):
    empty = tmp_path / "v0.db"
    sqlite3.connect(empty).close()
    with Store(empty) as s:
        assert s.version == SCHEMA_VERSION
    con = sqlite3.connect(empty)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Store(empty)


def _writer(args):
    path, worker, n = args
    with Store(path) as s:
        for i in range(n):
            s.add_update("P1", (pd.Timestamp("2024-01-09") + pd.Timedelta(days=worker * 1000 + i)).date(), nrs=i % 11)
    return n


def test_several_processes_adding_updates_lose_nothing(tmp_path):
    path = tmp_path / "c.db"
    with Store(path) as s:
        s.add_patient("P1", plan="pt", plan_start="2024-01-08")
    workers, each = 4, 25
    with mp.get_context("spawn").Pool(workers) as pool:
        assert sum(pool.map(_writer, [(path, w, each) for w in range(workers)])) == workers * each
    with Store(path) as s:
        assert len(s.assessments()) == workers * each
        assert (s.history().action == "add").sum() == workers * each + 1


def _good_and_bad_files(tmp_path):
    p = pd.DataFrame({"patient_id": ["A", "B"], "plan": ["pt", "cbt"], "plan_start": pd.to_datetime(["2024-01-01"] * 2)})
    a = pd.DataFrame({"patient_id": ["A", "A", "B"], "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-01"]),
                      "nrs": [7, 5, 6]})
    return p, a


def test_failing_import_leaves_the_store_unchanged(store, tmp_path):
    p, a = _good_and_bad_files(tmp_path)
    before = (store.counts(), store.assessments())
    # A real SQLite failure in the middle of the insert: a trigger refuses patient B's row.
    store._con.execute("CREATE TEMP TRIGGER refuse_b BEFORE INSERT ON main.assessments "
                       "WHEN NEW.pid = (SELECT id FROM patients WHERE patient_id = 'B') "
                       "BEGIN SELECT RAISE(ABORT, 'disk said no'); END")
    with pytest.raises(StoreError, match="disk said no"):
        store.import_file(write_cohort(p, a, tmp_path / "c.csv"))
    assert store.counts() == before[0]
    pd.testing.assert_frame_equal(store.assessments(), before[1])


def test_killed_import_leaves_the_store_unchanged(tmp_path):
    from painkit.sample import SAMPLE_COHORT

    path = tmp_path / "k.db"
    with Store(path) as s:
        s.add_patient("P1", plan="pt", plan_start="2024-01-08")
        before = s.counts()
    child = (
        "import os, signal, sys\n"
        "from painkit.store import Store\n"
        f"s = Store({str(path)!r})\n"
        "s._con.set_progress_handler(lambda: os.kill(os.getpid(), signal.SIGKILL), 200000)\n"
        f"s.import_file({str(SAMPLE_COHORT)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    with Store(path) as s:
        assert s.counts() == before


def test_import_twice_adds_nothing_and_conflicts_are_errors(tmp_path):
    p, a = _good_and_bad_files(tmp_path)
    csv = write_cohort(p, a, tmp_path / "c.csv")
    with Store(tmp_path / "i.db") as s:
        first = s.import_file(csv)
        assert (first.patients_added, first.assessments_added) == (2, 3)
        again = s.import_file(csv)
        assert (again.patients_added, again.assessments_added, again.assessments_skipped) == (0, 0, 3)
        counts = s.counts()
        a2 = a.assign(nrs=[7, 4, 6])
        with pytest.raises(ValidationError, match="differs from the stored value") as info:
            s.import_file(write_cohort(p, a2, tmp_path / "c2.csv"))
        row = info.value.problems.iloc[0]
        assert (row.row, row.column, row.value) == (3, "nrs", 4)
        assert s.counts() == counts


def test_skip_invalid_imports_good_rows_and_writes_rejected(tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text("patient_id,date,plan,plan_start,nrs\n"
                   "A,2024-01-01,pt,2024-01-01,7\n"
                   "A,2024-02-01,,,15\n"
                   "B,2024-01-01,zumba,2024-01-01,6\n"
                   "C,2024-01-01,cbt,2024-01-01,5\n")
    with Store(tmp_path / "r.db") as s:
        with pytest.raises(ValidationError):
            s.import_file(csv)
        assert s.counts()["assessments"] == 0
        result = s.import_file(csv, skip_invalid=True)
        assert (result.patients_added, result.assessments_added, result.rejected) == (2, 2, 2)
        assert sorted(s.patients()["patient_id"]) == ["A", "C"]
    rejected = pd.read_csv(result.rejected_path)
    assert rejected["row"].tolist() == [3, 4]
    assert "nrs='15'" in rejected["reason"].iloc[0] and "zumba" in rejected["reason"].iloc[1]


def test_walk_distances_and_text_read_back_exactly(tmp_path):
    with Store(tmp_path / "w.db") as s:
        s.add_patient("P1", plan="pt", plan_start="2024-01-01")
        walks = [412.3, 1.1, 0.0, 1500.0, 333.33333, 1499.95, None]
        for i, w in enumerate(walks):
            s.add_update("P1", pd.Timestamp("2024-01-01") + pd.Timedelta(days=i), nrs=i % 11,
                         **({"walk_m": w} if w is not None else {}), notes=f"n{i}" if i % 2 else None)
        got = s.assessments()
        assert got["walk_m"].iloc[:-1].tolist() == walks[:-1] and pd.isna(got["walk_m"].iloc[-1])
        assert got["notes"].fillna("").tolist() == ["", "n1", "", "n3", "", "n5", ""]
        assert got["nrs"].tolist() == [i % 11 for i in range(len(walks))]


def test_bulk_import_keeps_the_baseline_rule_and_the_trigger(tmp_path):
    from painkit._storeio import _BULK

    n = _BULK + 5
    p = pd.DataFrame({"patient_id": ["A"], "plan": ["pt"], "plan_start": pd.to_datetime(["2024-01-01"])})
    a = pd.DataFrame({"patient_id": ["A"] * n, "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(range(n), unit="D"),
                      "nrs": [5] * n})
    from painkit.schema import validate_assessments, validate_patients

    p, a = validate_patients(p), validate_assessments(a)
    early = a.assign(date=a["date"] - pd.Timedelta(days=1))  # first row before the plan start
    with Store(tmp_path / "b.db") as s:
        with pytest.raises(StoreError, match="before the plan start"):
            s.import_frames(p, early)  # bypasses validation on purpose: the store itself refuses
        assert s.counts()["assessments"] == 0
        assert s.import_frames(p, a).assessments_added == n
        guard = s._con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'assessments_after_baseline_insert'")
        assert guard.fetchone()[0] == 1
        with pytest.raises(StoreError):
            s.import_frames(p.assign(patient_id="B"), a.assign(patient_id="B", date=a["date"] - pd.Timedelta(days=400)))


def test_packed_insert_stores_exactly_what_it_is_given(tmp_path):
    """Bulk inserts send whole numbers bit-packed and missing values as sentinels, several rows
    per statement (transport only): the stored values and types are those of a plain insert, and a value that would not
    survive the packing reaches the CHECK constraints as it is."""
    from painkit._storeio import _executemany, _insert_rows, sql_records
    from painkit.sample import synthetic_cohort
    from painkit.schema import ASSESSMENT_FIELDS, validate_patients

    cols = [f.name for f in ASSESSMENT_FIELDS if f.name != "patient_id"]
    patients, assessments = synthetic_cohort(30, seed=5)
    assessments = assessments.assign(notes=assessments["notes"].where(assessments.index != 3, ""))
    dumps = []
    for packed in (True, False):
        with Store(tmp_path / f"p{packed}.db") as s:
            s.import_frames(patients, assessments.iloc[:0])
            ids = dict(s._con.execute("SELECT patient_id, id FROM patients").fetchall())
            pid = assessments["patient_id"].map(ids).tolist()
            sql, rows = _insert_rows(assessments, pid, cols) if packed else (
                f"INSERT INTO assessments (pid, {', '.join(cols)}) VALUES ({', '.join('?' * (len(cols) + 1))})",
                sql_records(assessments, cols, lead=pid))
            with s._write() as con:
                if packed:
                    _executemany(con, sql, rows)  # multi-row statements
                else:
                    con.executemany(sql, rows)
            typed = ", ".join(f"{c}, typeof({c})" for c in ["pid", *cols])
            dumps.append(s._con.execute(f"SELECT {typed} FROM assessments ORDER BY pid, date").fetchall())
    assert dumps[0] == dumps[1] and len(dumps[0]) == len(assessments)
    p = validate_patients(pd.DataFrame({"patient_id": ["A"], "plan": ["pt"], "plan_start": pd.to_datetime(["2024-01-01"])}))
    for bad in ({"nrs": 14}, {"nrs": -1}, {"nrs": 2.5}, {"bpi_worst": 15}, {"bpi_worst": 16}, {"mood_flag": 2},
                {"mood_flag": 3}, {"exercise_sessions_done": 511}, {"walk_m": -1.0}):
        a = pd.DataFrame({"patient_id": ["A", "A"], "date": pd.to_datetime(["2024-01-01", "2024-01-02"]), "nrs": [5, 5]})
        for col, value in bad.items():
            a[col] = [None if col != "nrs" else 5, value]
            a[col] = a[col].astype(type(value)) if col == "nrs" or isinstance(value, float) else a[col].astype("Int64")
        with Store(":memory:") as s:
            with pytest.raises(StoreError, match=f"CHECK constraint failed: {list(bad)[0]}"):
                s.import_frames(p, a.reindex(columns=[f.name for f in ASSESSMENT_FIELDS]))
            assert s.counts()["assessments"] == 0


def test_one_row_sql_values_equal_the_vectorised_ones():
    """A form's single update takes a value-by-value path to SQL values: the same values, of the
    same Python types, as the vectorised path gives for every row of a varied cohort."""
    from painkit._storeio import sql_records
    from painkit.sample import synthetic_cohort
    from painkit.schema import ASSESSMENT_FIELDS, PATIENT_FIELDS

    patients, assessments = synthetic_cohort(40, seed=11)
    for table, fields in ((assessments, ASSESSMENT_FIELDS), (patients, PATIENT_FIELDS)):
        cols = [f.name for f in fields if f.name in table.columns]
        whole = sql_records(table, cols)
        for i in range(len(table)):
            one = sql_records(table.iloc[[i]], cols)
            assert one == [whole[i]]
            assert [type(v) for v in one[0]] == [type(v) for v in whole[i]], (i, cols)
