"""The patient store: an embedded SQLite database that never loses a value.

The default store is ``data/painkit.db`` (or ``$PAINKIT_DB``; the CLI takes ``--db``). It is
created on first use, readable by its owner only (mode 0600, as are SQLite's ``-wal`` and
``-shm`` files, which inherit the database's mode), in write-ahead-logging mode with foreign
keys on. Its schema is versioned (``PRAGMA user_version``) and upgraded in place by the ordered
:data:`MIGRATIONS`.

Tables
------
``patients``
    ``id`` (internal integer key) and the :data:`painkit.schema.PATIENT_FIELDS`.
``assessments``
    ``pid`` (the patient's ``id``), ``date`` and the other
    :data:`painkit.schema.ASSESSMENT_FIELDS`; one row per patient and date (primary key),
    stored in that order (``WITHOUT ROWID``) so a cohort is read in one pass.
``history``
    Append-only (triggers refuse UPDATE and DELETE): ``changed_at`` (UTC), ``table_name``,
    ``patient_id``, ``date``, ``field``, ``old_value``, ``new_value``, ``action`` (add,
    edit, correct, delete, import) and ``reason``. Triggers on ``patients`` and
    ``assessments`` write one history row per changed field on every UPDATE and one per
    stored field on every DELETE, even for changes made outside painkit, so an old value is
    never lost.

Every CHECK constraint is generated from the field declarations in :mod:`painkit.schema`
(ranges, whole numbers, choices, real calendar dates), so the database refuses what
validation refuses. Dates are stored as ISO text (``YYYY-MM-DD``), readable in any SQLite
tool; whole numbers as INTEGER, yes/no answers as 0/1. For fast loading, SQLite also keeps
two STORED generated columns (``_pack1``, ``_pack2``, see :data:`PACKS`) holding the small
columns and the day number bit-packed, and partial indexes of the few rows with text or a
walk distance that is not whole decimetres: :meth:`Store.load_cohort` reads a million
assessments without making a Python object per row.

Writes run in ``BEGIN IMMEDIATE`` transactions with a busy timeout, so several processes can
add updates at once without losing any; an import is one transaction, so an import that fails
or is interrupted leaves the store as it was.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .errors import StoreError
from .schema import ASSESSMENT_FIELDS, PATIENT_FIELDS, Field

__all__ = ["Store", "DEFAULT_DB", "default_db_path", "MIGRATIONS", "SCHEMA_VERSION", "check_sql"]

#: The default store, beside the evidence base under ``data/``.
DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "painkit.db"

_SQL_TYPES = {
    "id": "TEXT", "text": "TEXT", "category": "TEXT", "plan": "TEXT", "therapies": "TEXT",
    "int": "INTEGER", "score": "INTEGER", "bool": "INTEGER", "float": "REAL", "date": "TEXT",
}
_PATIENT_COLS = [f.name for f in PATIENT_FIELDS if f.name != "patient_id"]
_ASSESS_COLS = [f.name for f in ASSESSMENT_FIELDS if f.name not in ("patient_id", "date")]


def default_db_path() -> Path:
    """``$PAINKIT_DB`` if set, else :data:`DEFAULT_DB`."""
    return Path(os.environ.get("PAINKIT_DB") or DEFAULT_DB)


def check_sql(field: Field) -> str:
    """The SQLite CHECK expression mirroring a field's validation rule.

    Examples
    --------
    >>> from painkit.schema import ASSESSMENT_FIELDS
    >>> check_sql(ASSESSMENT_FIELDS[2])
    "nrs IS NULL OR (typeof(nrs) = 'integer' AND nrs BETWEEN 0 AND 10)"
    """
    n, k = field.name, field.kind
    if k in ("score", "int"):
        rule = f"typeof({n}) = 'integer' AND {n} BETWEEN {field.min:g} AND {field.max:g}"
    elif k == "float":
        rule = f"typeof({n}) IN ('integer', 'real') AND {n} BETWEEN {field.min:g} AND {field.max:g}"
    elif k == "bool":
        rule = f"{n} IN (0, 1)"
    elif k == "date":
        rule = f"{n} IS date(julianday({n}))"
    elif k == "category":
        rule = f"{n} IN ({', '.join(repr(c) for c in field.choices)})"
    elif k == "id":
        rule = f"typeof({n}) = 'text' AND length({n}) BETWEEN 1 AND 64"
    elif k == "plan":
        rule = f"typeof({n}) = 'text' AND length({n}) > 0"
    else:
        rule = f"typeof({n}) = 'text'"
    return f"{n} IS NULL OR ({rule})"


def _column(field: Field) -> str:
    null = " NOT NULL" if field.required else ""
    return f"{field.name} {_SQL_TYPES[field.kind]}{null} CHECK ({check_sql(field)})"


# --------------------------------------------------------------------------- migrations
#: Packed copies of the small columns, kept by SQLite as STORED generated columns so that a
#: cohort is read as two integers per row: (field, bits) laid out from the lowest bit; the
#: all-ones value of a slot means missing. ``_day`` is days since 1970-01-01 plus 32768;
#: ``_walk_dm`` is the walk in decimetres (all-ones minus one: not a whole number of
#: decimetres, read from ``walk_m`` itself).
PACKS = {
    "_pack1": [(f.name, 4) for f in ASSESSMENT_FIELDS if f.kind == "score"],
    "_pack2": [*((f.name, 2) for f in ASSESSMENT_FIELDS if f.kind == "bool"), ("_day", 17),
               ("exercise_sessions_planned", 9), ("exercise_sessions_done", 9), ("_walk_dm", 14)],
}
DAY_BIAS = 32768
#: Rows read through partial indexes: those with text, and those whose walk does not pack.
TEXT_WHERE = "(therapies IS NOT NULL OR notes IS NOT NULL)"
WALK_WHERE = "(walk_m IS NOT NULL AND walk_m <> CAST(round(walk_m * 10) AS INTEGER) / 10.0)"


def _pack_sql(layout) -> str:
    parts, offset = [], 0
    for name, bits in layout:
        full = 2 ** bits - 1
        if name == "_day":
            item = f"(CAST(julianday(date) - 2440587.5 AS INTEGER) + {DAY_BIAS})"
        elif name == "_walk_dm":
            item = (f"(CASE WHEN walk_m IS NULL THEN {full} WHEN {WALK_WHERE[1:-1].split(' AND ', 1)[1]} "
                    f"THEN {full - 1} ELSE CAST(round(walk_m * 10) AS INTEGER) END)")
        else:
            item = f"coalesce({name}, {full})"
        parts.append(f"({item} << {offset})")
        offset += bits
    if offset > 63:
        raise AssertionError(f"packed layout of {offset} bits does not fit a 64-bit integer")
    return " + ".join(parts)


def _m1_tables(con: sqlite3.Connection) -> None:
    """Version 1: patients and assessments with CHECK constraints from the schema."""
    pcols = ",\n  ".join(_column(f) for f in PATIENT_FIELDS)
    acols = ",\n  ".join(_column(f) for f in ASSESSMENT_FIELDS if f.name != "patient_id")
    packs = ",\n  ".join(f"{name} INTEGER GENERATED ALWAYS AS ({_pack_sql(layout)}) STORED"
                         for name, layout in PACKS.items())
    con.execute(f"CREATE TABLE patients (\n  id INTEGER PRIMARY KEY,\n  {pcols},\n  UNIQUE (patient_id)\n)")
    con.execute(
        f"CREATE TABLE assessments (\n  pid INTEGER NOT NULL REFERENCES patients(id) ON DELETE RESTRICT,\n  {acols},\n"
        f"  {packs},\n"
        "  CHECK (exercise_sessions_done IS NULL OR exercise_sessions_planned IS NULL\n"
        "         OR exercise_sessions_done <= exercise_sessions_planned),\n"
        "  PRIMARY KEY (pid, date)\n) WITHOUT ROWID"
    )
    con.execute(f"CREATE INDEX assessments_text ON assessments (pid, date) WHERE {TEXT_WHERE}")
    con.execute(f"CREATE INDEX assessments_walk ON assessments (pid, date) WHERE {WALK_WHERE}")


def _history_trigger(table: str, when: str, fields: list[str], key_sql: str) -> str:
    new = "NEW" if when == "UPDATE" else "NULL"
    parts = " UNION ALL ".join(
        f"SELECT '{f}' AS f, OLD.{f} AS o, {new if new == 'NULL' else f'NEW.{f}'} AS n" for f in fields
    )
    default = "update" if when == "UPDATE" else "delete"
    cond = "o IS NOT n" if when == "UPDATE" else "o IS NOT NULL"
    return (
        f"CREATE TRIGGER {table}_history_{when.lower()} AFTER {when} ON {table} BEGIN\n"
        "  INSERT INTO history (table_name, pid, patient_id, date, field, old_value, new_value, action, reason)\n"
        f"  SELECT '{table}', OLD.{'id' if table == 'patients' else 'pid'}, {key_sql}, "
        f"coalesce(c.action, '{default}'), c.reason\n"
        f"  FROM ({parts}) AS d, change_context AS c WHERE c.id = 1 AND {cond};\nEND"
    )


def _m2_history(con: sqlite3.Connection) -> None:
    """Version 2: the append-only history and the triggers that fill it."""
    con.execute(
        "CREATE TABLE history (\n  id INTEGER PRIMARY KEY,\n"
        "  changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
        "  table_name TEXT NOT NULL, pid INTEGER, patient_id TEXT, date TEXT, field TEXT,\n"
        "  old_value, new_value, action TEXT NOT NULL, reason TEXT\n)"
    )
    con.execute("CREATE INDEX history_pid ON history (pid)")
    con.execute("CREATE TABLE change_context (id INTEGER PRIMARY KEY CHECK (id = 1), action TEXT, reason TEXT)")
    con.execute("INSERT INTO change_context (id) VALUES (1)")
    for verb in ("UPDATE", "DELETE"):
        con.execute(f"CREATE TRIGGER history_no_{verb.lower()} BEFORE {verb} ON history BEGIN "
                    "SELECT RAISE(ABORT, 'history is append-only'); END")
    pfields = [f.name for f in PATIENT_FIELDS]
    afields = ["date"] + _ASSESS_COLS
    pkey = "OLD.patient_id, NULL, f, o, n"
    akey = "(SELECT patient_id FROM patients WHERE id = OLD.pid), OLD.date, f, o, n"
    for verb in ("UPDATE", "DELETE"):
        con.execute(_history_trigger("patients", verb, pfields, pkey))
        con.execute(_history_trigger("assessments", verb, afields, akey))


def _m3_baseline_guard(con: sqlite3.Connection) -> None:
    """Version 3: no assessment may be dated before its patient's plan start (baseline)."""
    for verb in ("INSERT", "UPDATE OF date, pid"):
        name = verb.split()[0].lower()
        con.execute(
            f"CREATE TRIGGER assessments_after_baseline_{name} BEFORE {verb} ON assessments "
            "WHEN NEW.date < (SELECT plan_start FROM patients WHERE id = NEW.pid) BEGIN "
            "SELECT RAISE(ABORT, 'assessment dated before the patient''s plan start (baseline)'); END"
        )


#: Ordered schema migrations; migration ``i`` takes a store from version ``i`` to ``i + 1``.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_m1_tables, _m2_history, _m3_baseline_guard]
SCHEMA_VERSION = len(MIGRATIONS)


def _create_private(path: Path) -> None:
    """Create the database file with mode 0600 (its -wal and -shm files take the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask


class Store:
    """A painkit store: patients, assessments and their history in one SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; default ``$PAINKIT_DB`` or ``data/painkit.db``. ``":memory:"``
        gives a private in-memory store (for trials; nothing is kept).
    timeout : float, default 30
        Seconds to wait for another process's write to finish before giving up.

    Examples
    --------
    >>> store = Store(":memory:")
    >>> store.add_patient("P001", plan="cbt+pt", plan_start="2024-01-08", sex="female")
    >>> store.add_update("P001", "2024-01-08", nrs=7)
    >>> store.add_update("P001", "2024-02-05", nrs=6, bpi_worst=8)
    >>> store.correct_update("P001", "2024-02-05", nrs=5, reason="typo")
    >>> patients, assessments = store.load_cohort()
    >>> assessments[["patient_id", "date", "nrs"]]
      patient_id       date  nrs
    0       P001 2024-01-08    7
    1       P001 2024-02-05    5
    >>> store.history("P001")[["action", "field", "old_value", "new_value", "reason"]].tail(1)
        action field old_value new_value reason
    3  correct   nrs         6         5   typo
    """

    def __init__(self, path=None, *, timeout: float = 30.0):
        self.path = Path(path) if path not in (None, ":memory:") else (default_db_path() if path is None else None)
        target = ":memory:" if self.path is None else str(self.path)
        try:
            if self.path is not None:
                _create_private(self.path)
            self._con = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._con.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._con.execute("PRAGMA foreign_keys = ON")
            if self.path is not None:
                mode = self._con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise StoreError(f"{self.path}: could not switch to write-ahead logging (mode {mode})")
            # In WAL mode NORMAL is durable enough: a commit is atomic and consistent, and the
            # WAL is synced at checkpoints; a power cut (not a process crash) can lose at most the
            # last commits, never corrupt the store or leave a half-applied import.
            self._con.execute("PRAGMA synchronous = NORMAL")
            self.migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{target}: cannot open the store: {exc}") from exc

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path) if self.path else ':memory:'!r})"

    @property
    def version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        return self._con.execute("PRAGMA user_version").fetchone()[0]

    @property
    def data_version(self) -> tuple[int, int]:
        """A token that changes whenever the stored data may have changed since it was last read:
        a commit by another connection (``PRAGMA data_version``) or a change made through this
        one (``total_changes``). Callers that keep what they read compare it to re-read."""
        return (self._con.execute("PRAGMA data_version").fetchone()[0], self._con.total_changes)

    def migrate(self) -> int:
        """Bring the schema to :data:`SCHEMA_VERSION`; returns the number of migrations run."""
        with self._write():
            version = self.version
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: store schema version {version} is newer than this painkit "
                    f"understands ({SCHEMA_VERSION}); upgrade painkit"
                )
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](self._con)
                self._con.execute(f"PRAGMA user_version = {step + 1}")
        return SCHEMA_VERSION - version

    @contextmanager
    def _write(self, action: str | None = None, reason: str | None = None):
        """One write transaction (BEGIN IMMEDIATE), rolled back on any error."""
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            if action is not None:
                con.execute("UPDATE change_context SET action = ?, reason = ? WHERE id = 1", (action, reason))
            yield con
            if action is not None:
                con.execute("UPDATE change_context SET action = NULL, reason = NULL WHERE id = 1")
            con.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            con.execute("ROLLBACK")
            raise StoreError(f"{self.path or ':memory:'}: the store refused the change: {exc}") from exc
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise

    def _pid(self, patient_id: str) -> int:
        row = self._con.execute("SELECT id FROM patients WHERE patient_id = ?", (str(patient_id),)).fetchone()
        if row is None:
            raise StoreError(f"no patient {patient_id!r} in the store {self.path or ':memory:'}")
        return row[0]

    # ------------------------------------------------------------------ writes
    def add_patient(self, patient_id: str, *, plan, plan_start, reason: str | None = None, **fields) -> None:
        """Add a patient (fields as :data:`painkit.schema.PATIENT_FIELDS`).

        Raises
        ------
        ValidationError
            A field breaks its rule (the message names patient, field and value).
        StoreError
            The patient is already in the store, or a field is unknown.
        """
        from ._storeio import patient_row

        row = patient_row({"patient_id": patient_id, "plan": plan, "plan_start": plan_start, **fields})
        with self._write() as con:
            if con.execute("SELECT 1 FROM patients WHERE patient_id = ?", (row["patient_id"],)).fetchone():
                raise StoreError(f"patient {row['patient_id']!r} is already in the store; use edit_patient to change it")
            cols = list(row)
            con.execute(f"INSERT INTO patients ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", list(row.values()))
            self._log(con, "patients", row["patient_id"], None, "add", reason)

    def edit_patient(self, patient_id: str, *, reason: str | None = None, **changes) -> None:
        """Change fields of a patient; the old values go to the history.

        Changing ``plan_start`` is refused if an assessment would fall before it.
        """
        from ._storeio import patient_row

        with self._write("edit", reason) as con:
            current = self.patients(patient_id).iloc[0].to_dict()
            merged = {**current, **changes}
            row = patient_row(merged)
            if row["plan_start"] != pd.Timestamp(current["plan_start"]).strftime("%Y-%m-%d"):
                early = con.execute(
                    "SELECT min(date) FROM assessments WHERE pid = ? AND date < ?", (self._pid(patient_id), row["plan_start"])
                ).fetchone()[0]
                if early:
                    raise StoreError(
                        f"patient {patient_id!r}: cannot move plan_start to {row['plan_start']}: "
                        f"an assessment is dated {early}, before it"
                    )
            sets = ", ".join(f"{c} = ?" for c in row)
            con.execute(f"UPDATE patients SET {sets} WHERE id = ?", [*row.values(), self._pid(patient_id)])

    def add_update(self, patient_id: str, date, *, nrs, reason: str | None = None, **fields) -> None:
        """The tracker's "Add progress update": one assessment of a patient on a date.

        Fields as :data:`painkit.schema.ASSESSMENT_FIELDS`; ``red_flags=["fever", ...]`` is
        accepted as a shorthand for the ``rf_*`` answers.

        Raises
        ------
        ValidationError
            A value breaks its rule, or the date is before the patient's plan start; the
            message names patient, date, field and value.
        StoreError
            Unknown patient, or an assessment already stored on that date (correct it instead).
        """
        from ._storeio import assessment_row

        with self._write() as con:
            start = self._plan_start(patient_id)
            row = assessment_row({"patient_id": patient_id, "date": date, "nrs": nrs, **fields}, plan_start=start)
            pid = self._pid(patient_id)
            if con.execute("SELECT 1 FROM assessments WHERE pid = ? AND date = ?", (pid, row["date"])).fetchone():
                raise StoreError(
                    f"patient {patient_id!r} already has an assessment on {row['date']}; "
                    "use correct_update to change it"
                )
            cols = ["pid", *row]
            con.execute(f"INSERT INTO assessments ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", [pid, *row.values()])
            self._log(con, "assessments", patient_id, row["date"], "add", reason, pid=pid, field="nrs", new=row["nrs"])

    def correct_update(self, patient_id: str, date, *, reason: str | None = None, **changes) -> None:
        """Correct fields of a stored assessment; the old values go to the history."""
        from ._storeio import assessment_row, iso_date

        day = iso_date(date, f"patient {patient_id!r}: date")
        with self._write("correct", reason) as con:
            current = self.assessments(patient_id)
            hit = current[current["date"] == pd.Timestamp(day)]
            if hit.empty:
                raise StoreError(f"patient {patient_id!r} has no assessment on {day}")
            merged = {**hit.iloc[0].to_dict(), **changes}
            row = assessment_row(merged, plan_start=self._plan_start(patient_id))
            sets = ", ".join(f"{c} = ?" for c in row)
            con.execute(f"UPDATE assessments SET {sets} WHERE pid = ? AND date = ?", [*row.values(), self._pid(patient_id), day])

    def delete_update(self, patient_id: str, date, *, reason: str | None = None) -> None:
        """Delete a stored assessment; every value it held goes to the history."""
        from ._storeio import iso_date

        day = iso_date(date, f"patient {patient_id!r}: date")
        with self._write("delete", reason) as con:
            cur = con.execute("DELETE FROM assessments WHERE pid = ? AND date = ?", (self._pid(patient_id), day))
            if cur.rowcount == 0:
                raise StoreError(f"patient {patient_id!r} has no assessment on {day}")

    def _plan_start(self, patient_id: str) -> str:
        self._pid(patient_id)
        return self._con.execute("SELECT plan_start FROM patients WHERE patient_id = ?", (str(patient_id),)).fetchone()[0]

    def _log(self, con, table, patient_id, date, action, reason, *, pid=None, field=None, new=None, old=None):
        con.execute(
            "INSERT INTO history (table_name, pid, patient_id, date, field, old_value, new_value, action, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (table, pid, patient_id, date, field, old, new, action, reason),
        )

    # ------------------------------------------------------------------ reads
    def patients(self, patient_id: str | None = None) -> pd.DataFrame:
        """The patients table (the schema's columns and dtypes), in the order they were added."""
        from ._storeio import read_patients

        frame = read_patients(self._con, patient_id)
        if patient_id is not None and frame.empty:
            raise StoreError(f"no patient {patient_id!r} in the store {self.path or ':memory:'}")
        return frame

    def assessments(self, patient_id: str | None = None) -> pd.DataFrame:
        """The assessments table (schema columns and dtypes): patients in the order they were
        added, each patient's assessments by date."""
        from ._storeio import read_assessments

        pid = self._pid(patient_id) if patient_id is not None else None
        return read_assessments(self._con, pid=pid)

    def load_cohort(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(patients, assessments)`` as the tracking code takes them, read in one snapshot."""
        self._con.execute("BEGIN")  # one read snapshot for both tables
        try:
            return self.patients(), self.assessments()
        finally:
            self._con.execute("COMMIT")

    def history(self, patient_id: str | None = None) -> pd.DataFrame:
        """The history, oldest first: ``changed_at``, ``table_name``, ``patient_id``, ``date``,
        ``field``, ``old_value``, ``new_value``, ``action``, ``reason``."""
        sql = ("SELECT changed_at, table_name, patient_id, date, field, old_value, new_value, action, reason "
               "FROM history")
        params: tuple = ()
        if patient_id is not None:
            sql += " WHERE pid = ? OR (pid IS NULL AND patient_id = ?)"
            params = (self._pid(patient_id), str(patient_id))
        cur = self._con.execute(sql + " ORDER BY id", params)
        rows = cur.fetchall()
        return pd.DataFrame(
            {d[0]: pd.Series([r[i] for r in rows], dtype=object) for i, d in enumerate(cur.description)}
        )

    def counts(self) -> dict:
        """Number of patients, assessments and history rows."""
        one = self._con.execute
        return {t: one(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("patients", "assessments", "history")}

    # ------------------------------------------------------------------ bulk
    def import_frames(self, patients: pd.DataFrame, assessments: pd.DataFrame, *, source: str | None = None,
                      skip_conflicts: bool = False, **rows):
        """Add validated tables in one transaction; see :func:`painkit._storeio.import_frames`."""
        from ._storeio import import_frames

        return import_frames(self, patients, assessments, source=source, skip_conflicts=skip_conflicts, **rows)

    def import_file(self, path, *, skip_invalid: bool = False):
        """Import a cohort file (CSV or Excel, the documented long format) in one transaction.

        All or nothing by default: any bad row raises a ``ValidationError`` listing every
        problem and nothing is stored. With ``skip_invalid`` the good rows go in and the
        rejected ones are written beside the input as ``<input>.rejected.csv`` with a
        ``reason`` column. A row identical to a stored one is skipped (so importing a file
        twice adds nothing); a row that conflicts with a stored one (same patient and date,
        other values) is an error, or rejected with ``skip_invalid``.

        Returns
        -------
        ImportResult
        """
        from ._storeio import import_file

        return import_file(self, path, skip_invalid=skip_invalid)
