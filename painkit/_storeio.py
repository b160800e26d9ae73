"""Moving rows between pandas and the SQLite store (used by :mod:`painkit.store`).

Reading a cohort fast: the store keeps packed copies of the small columns (scores, yes/no
answers, the day number, exercise counts, the walk in decimetres) as two STORED generated
columns; SQLite
aggregates each needed column into one string (``group_concat``) in a single pass over the
table in primary-key order, and numpy parses and unpacks them. No Python object is made per
row. Text columns (``therapies``, ``notes``) are sparse and read through a partial index,
then placed by key.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import StoreError, ValidationError
from .schema import ASSESSMENT_FIELDS, PATIENT_FIELDS, validate_assessments, validate_patients

__all__ = ["ImportResult", "patient_row", "assessment_row", "iso_date", "read_patients", "read_assessments",
           "import_frames", "import_file", "sql_records"]

_PFIELDS = {f.name: f for f in PATIENT_FIELDS}
_AFIELDS = {f.name: f for f in ASSESSMENT_FIELDS}
_FLAG_NAMES = {"weakness": "rf_weakness", "bladder": "rf_bladder", "weight_loss": "rf_weight_loss",
               "weight-loss": "rf_weight_loss", "fever": "rf_fever"}


@dataclass
class ImportResult:
    """What an import did."""

    source: str | None
    patients_added: int = 0
    assessments_added: int = 0
    patients_skipped: int = 0
    assessments_skipped: int = 0
    rejected: int = 0
    rejected_path: str | None = None
    problems: pd.DataFrame | None = field(default=None, repr=False)

    def summary(self) -> str:
        text = (f"{self.source or 'import'}: added {self.patients_added} patient(s) and "
                f"{self.assessments_added} assessment(s); skipped {self.patients_skipped} patient(s) and "
                f"{self.assessments_skipped} assessment(s) already stored")
        if self.rejected:
            text += f"; rejected {self.rejected} row(s), listed in {self.rejected_path}"
        return text


def iso_date(value, where: str) -> str:
    """A date as ``YYYY-MM-DD``; :class:`ValidationError` naming ``where`` otherwise."""
    try:
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            raise ValueError
    except (ValueError, TypeError):
        raise ValidationError(f"{where}: value {value!r} is not a date; allowed: YYYY-MM-DD") from None
    return stamp.strftime("%Y-%m-%d")


def _sql_values(s: pd.Series) -> np.ndarray:
    """One column of a validated frame as an object array of values SQLite takes."""
    mask = s.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        arr = np.datetime_as_string(s.to_numpy().astype("datetime64[D]")).astype(object)
    elif pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        arr = np.array(s.astype("Int64").fillna(0).astype("int64").to_numpy().tolist(), dtype=object)
    elif pd.api.types.is_float_dtype(s.dtype):
        arr = np.array(s.fillna(0).astype("float64").to_numpy().tolist(), dtype=object)
    else:
        arr = s.to_numpy(dtype=object, na_value=None)
    if mask.any():
        arr = arr.copy()
        arr[mask] = None
    return arr


def _sql_value(s: pd.Series):
    """The value of a one-row column as :func:`_sql_values` gives it, without array work."""
    value = s.array[0]
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        return int(value)
    if pd.api.types.is_float_dtype(dtype):
        return float(value)
    return value


def sql_records(frame: pd.DataFrame, columns: list[str], *, lead=None) -> list[tuple]:
    """Rows of a validated frame as tuples of Python values SQLite takes (ISO dates, 0/1, None),
    after the values of ``lead`` (one per row) when given."""
    if lead is None and len(frame) == 1:  # one row (a form's update): value by value
        return [tuple(_sql_value(frame[col]) for col in columns)]
    out = [] if lead is None else [lead]
    out += [_sql_values(frame[col]) for col in columns]
    return list(zip(*out)) if out else []


def _one_row(values: dict, fields: dict, what: str) -> pd.DataFrame:
    unknown = [k for k in values if k not in fields]
    if unknown:
        raise StoreError(f"unknown {what} field(s) {', '.join(map(repr, unknown))}; known: {', '.join(fields)}")
    columns = {}
    for k, v in values.items():
        columns[k] = cell = np.empty(1, dtype=object)
        cell[0] = v
    return pd.DataFrame(columns, dtype=object)  # as given: validation does the typing


def _one_line(err: ValidationError, where: str) -> ValidationError:
    problems = err.problems
    if problems is None or not len(problems):
        return ValidationError(f"{where}: {err}", problems=problems)
    text = "; ".join(f"column {p.column!r}, value {p.value!r}: {p.reason}" for p in problems.itertuples())
    return ValidationError(f"{where}: {text}", problems=problems)


def patient_row(values: dict) -> dict:
    """Validate one patient (a dict of fields) and return it ready for SQL."""
    try:
        table = validate_patients(_one_row(values, _PFIELDS, "patient"))
    except ValidationError as err:
        raise _one_line(err, f"patient {values.get('patient_id')!r}") from None
    cols = [c for c in _PFIELDS if c in values]
    return dict(zip(cols, sql_records(table, cols)[0]))


def assessment_row(values: dict, *, plan_start: str) -> dict:
    """Validate one assessment (``red_flags=[...]`` accepted) and return it ready for SQL."""
    values = dict(values)
    flags = values.pop("red_flags", None) or []
    for flag in [flags] if isinstance(flags, str) else flags:
        name = _FLAG_NAMES.get(str(flag).lower(), str(flag) if str(flag) in _AFIELDS else None)
        if name is None or not name.startswith("rf_"):
            raise ValidationError(f"patient {values.get('patient_id')!r}: unknown red flag {flag!r}; "
                                  f"allowed: {', '.join(sorted(set(_FLAG_NAMES) - {'weight-loss'}))}")
        values[name] = True
    for name in ("rf_weakness", "rf_bladder", "rf_weight_loss", "rf_fever"):
        if flags and values.get(name) is None:
            values[name] = False
    pid = values.get("patient_id")
    try:
        table = validate_assessments(_one_row(values, _AFIELDS, "assessment"))
    except ValidationError as err:
        raise _one_line(err, f"patient {pid!r}, {values.get('date')}") from None
    day = table["date"].iloc[0]
    if day < pd.Timestamp(plan_start):
        problems = pd.DataFrame([{"row": 1, "patient_id": pid, "date": day, "column": "date",
                                  "value": day.strftime("%Y-%m-%d"), "reason": "before the patient's baseline (plan_start)"}])
        raise ValidationError(
            f"patient {pid!r}: date {day:%Y-%m-%d} is before the plan start (baseline) {plan_start}",
            problems=problems,
        )
    cols = [c for c in _AFIELDS if c in values and c != "patient_id"]
    return dict(zip(cols, sql_records(table, cols)[0]))


# ---------------------------------------------------------------------------- reading
def _typed(raw: pd.Series, kind: str) -> pd.Series:
    if kind in ("int", "score"):
        return raw.astype("Int64")
    if kind == "float":
        return raw.astype("Float64")
    if kind == "bool":
        return raw.astype("Int64").astype("boolean")
    if kind == "date":
        return pd.to_datetime(raw, format="%Y-%m-%d").astype("datetime64[ns]")
    return raw.astype("string")


def read_patients(con, patient_id=None) -> pd.DataFrame:
    cols = [f.name for f in PATIENT_FIELDS]
    sql = f"SELECT {', '.join(cols)} FROM patients"
    params: tuple = ()
    if patient_id is not None:
        sql, params = sql + " WHERE patient_id = ?", (str(patient_id),)
    frame = pd.read_sql_query(sql + " ORDER BY id", con, params=params, dtype=object)
    return pd.DataFrame({f.name: _typed(frame[f.name], f.kind) for f in PATIENT_FIELDS})


_FIELD = {f.name: f for f in ASSESSMENT_FIELDS}
_TEXTS = [f.name for f in ASSESSMENT_FIELDS if f.kind in ("text", "therapies")]


def _parse(text, dtype) -> np.ndarray:
    if not text:
        return np.zeros(0, dtype=dtype)
    return np.fromstring(text, sep=",", dtype=dtype)


def _strings(values: np.ndarray) -> pd.arrays.StringArray:
    """A pandas string array from an object array of str/None, without a per-row check."""
    values = values.copy()
    values[pd.isna(values)] = pd.NA
    return pd.arrays.StringArray(values)


def read_assessments(con, pid=None) -> pd.DataFrame:
    """The assessments (all, or of one internal patient id), in (pid, date) order.

    One pass of SQLite over the table, in primary-key order, aggregates the two packed columns
    (:data:`painkit.store.PACKS`) into one string each, which numpy parses and unpacks; the
    patient of each row comes from a per-patient count; text columns, and walks that do not
    pack, come from partial indexes of the few rows that have them.
    """
    from .store import DAY_BIAS, PACKS, TEXT_WHERE, WALK_WHERE

    where, params = ("WHERE pid = ?", (pid,)) if pid is not None else ("", ())
    own = not con.in_transaction
    if own:
        con.execute("BEGIN")  # one snapshot for the queries below
    try:
        per = con.execute(f"SELECT pid, count(*) FROM assessments {where} GROUP BY pid ORDER BY pid", params).fetchall()
        exprs = ", ".join(f"group_concat({p}, ',')" for p in PACKS)
        row = con.execute(f"SELECT count(*), {exprs} FROM (SELECT {', '.join(PACKS)} FROM assessments {where} "
                          "ORDER BY pid, date)", params).fetchone()
        sparse = con.execute(f"SELECT pid, CAST(julianday(date) - 2440587.5 AS INTEGER), {', '.join(_TEXTS)} "
                             f"FROM assessments {where + ' AND' if where else 'WHERE'} {TEXT_WHERE}", params).fetchall()
        walks = con.execute(f"SELECT pid, CAST(julianday(date) - 2440587.5 AS INTEGER), walk_m "
                            f"FROM assessments {where + ' AND' if where else 'WHERE'} {WALK_WHERE}", params).fetchall()
        names = dict(con.execute("SELECT id, patient_id FROM patients"))
    finally:
        if own:
            con.execute("COMMIT")
    n, values = row[0], list(row[1:])
    counts = np.array([c for _, c in per], dtype=np.int64)
    pids = np.repeat(np.array([p for p, _ in per], dtype=np.int64), counts)
    packs = {name: _parse(values.pop(0), np.int64) for name in PACKS}
    if len(pids) != n or any(len(v) != n for v in packs.values()):
        raise StoreError("the store returned columns of unequal length; please report this")
    out: dict[str, object] = {}
    days = np.zeros(n, dtype=np.int64)
    for name, layout in PACKS.items():
        packed, offset = packs[name], 0
        for field_name, bits in layout:
            full = (1 << bits) - 1
            slot = (packed >> offset) & full
            offset += bits
            if field_name == "_day":
                days = slot - DAY_BIAS
                continue
            if field_name == "_walk_dm":
                walk, walk_mask = slot / 10.0, slot == full
                continue
            mask = slot == full
            if _FIELD[field_name].kind == "bool":
                out[field_name] = pd.arrays.BooleanArray(slot == 1, mask)
            else:
                out[field_name] = pd.arrays.IntegerArray(np.where(mask, 0, slot), mask)
    key = pids * 1_000_000 + days
    if n and not (np.diff(key) > 0).all():
        raise StoreError("the store returned rows out of order; please report this")

    def place(rows):
        return np.searchsorted(key, np.array([r[0] * 1_000_000 + r[1] for r in rows], dtype=np.int64))

    if walks:
        at = place(walks)
        walk[at] = [r[2] for r in walks]
    out["walk_m"] = pd.arrays.FloatingArray(np.where(walk_mask, 0.0, walk), walk_mask)
    uniq, codes = np.unique(pids, return_inverse=True)
    labels = np.array([names[int(u)] for u in uniq], dtype=object)
    out["patient_id"] = _strings(labels[codes] if n else np.zeros(0, dtype=object))
    out["date"] = days.astype("datetime64[D]").astype("datetime64[ns]")
    at = place(sparse) if sparse else None
    for j, name in enumerate(_TEXTS):
        col = np.full(n, None, dtype=object)
        if sparse:
            col[at] = [r[2 + j] for r in sparse]
        out[name] = _strings(col)
    return pd.DataFrame({f.name: out[f.name] for f in ASSESSMENT_FIELDS}, copy=False)


# ---------------------------------------------------------------------------- importing
def _same(a: pd.DataFrame, b: pd.DataFrame, cols) -> pd.DataFrame:
    """Per column, True where the two aligned frames hold the same value (both missing counts)."""
    return pd.DataFrame({c: ((a[c] == b[c]).fillna(False) | (a[c].isna() & b[c].isna())).to_numpy() for c in cols})


def _conflicts(new: pd.DataFrame, old: pd.DataFrame, keys, cols, rows) -> tuple[np.ndarray, np.ndarray, list]:
    """Rows of ``new`` already stored identically, rows in conflict, and the conflict problems."""
    merged = new[keys].reset_index().merge(old.reset_index(), on=keys, how="inner", suffixes=("", "_old"))
    if merged.empty:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), []
    pos = merged["index"].to_numpy()
    left = new.iloc[pos].reset_index(drop=True)
    right = old.iloc[merged["index_old"].to_numpy()].reset_index(drop=True)
    same = _same(left, right, cols)
    equal = same.all(axis=1).to_numpy()
    problems = []
    for i in np.flatnonzero(~equal):
        for c in [c for c in cols if not same.at[i, c]]:
            problems.append({"row": rows[pos[i]], "patient_id": left.at[i, "patient_id"],
                             "date": left.at[i, "date"] if "date" in left else None, "column": c,
                             "value": left.at[i, c],
                             "reason": f"differs from the stored value {right.at[i, c]!r} (correct it with 'painkit update correct' or 'painkit patient edit')"})
    return pos[equal], pos[~equal], problems


_WORD_BITS = 62  # packed parameters stay positive 64-bit integers


def _slot_bits(field) -> int | None:
    """Bits of a field's slot in the packed parameters of :func:`_insert_rows` (None: bound as is)."""
    if field.kind == "bool":
        return 2
    if field.kind in ("score", "int") and field.min is not None and field.min >= 0 and field.max is not None:
        return (int(field.max) + 1).bit_length()  # all-ones (missing) lies above the maximum
    return None


def _packable(s: pd.Series, full: int) -> np.ndarray | None:
    """The column as int64 with ``full`` for missing, or None if a value would not survive packing."""
    if not (pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype)):
        return None
    try:
        values = s.astype("Int64").to_numpy(dtype="int64", na_value=full)
    except (TypeError, ValueError, OverflowError):
        return None
    known = s.notna().to_numpy()
    return values if ((values[known] >= 0) & (values[known] < full)).all() else None


def _insert_rows(frame: pd.DataFrame, pid: list, cols: list[str]) -> tuple[str, list[tuple]]:
    """The INSERT of assessments (``pid``, then ``cols``) and its parameter tuples, few per row.

    Binding a parameter costs the sqlite3 module more than SQLite spends unpacking one (binding
    ``None`` far more), so whole numbers and yes/no answers travel bit-packed in a few 62-bit
    integers (all-ones: missing) that the statement unpacks into the real columns, and a missing
    text or walk travels as a sentinel (``''``, ``-1.0``) that the statement turns back into
    NULL. This is transport only: the stored columns, and the CHECK constraints that judge
    them, are unchanged. A column whose values would not survive it (outside its slot, not
    whole, or equal to the sentinel: possible only for unvalidated input) is bound value by
    value, so the store still sees, and refuses, exactly that value.
    """
    params: list[list] = [pid]
    exprs: list[str] = ["?1"]
    words: list[np.ndarray] = []
    word, used = 0, _WORD_BITS
    for col in cols:
        field = _AFIELDS[col]
        bits = _slot_bits(field)
        values = _packable(frame[col], (1 << bits) - 1) if bits else None
        if values is not None:
            if used + bits > _WORD_BITS:
                words.append(np.zeros(len(frame), dtype=np.int64))
                params.append(None)  # filled below
                word, used = len(params), 0
            full = (1 << bits) - 1
            words[-1] |= values << used
            exprs.append(f"nullif((?{word} >> {used}) & {full}, {full})")
            used += bits
            continue
        arr = _sql_values(frame[col])
        missing = np.equal(arr, None)
        present = arr[~missing]
        sentinel = None
        if missing.any() and len(present):
            kinds = {type(v) for v in present}
            sentinel = "" if kinds == {str} else -1.0 if kinds == {float} else None
            if sentinel is not None and any(v == sentinel for v in present):
                sentinel = None
        elif missing.any():
            sentinel = -1.0 if field.kind == "float" else ""
        if sentinel is not None:
            arr = arr.copy()
            arr[missing] = sentinel
            params.append(arr.tolist())
            exprs.append(f"nullif(?{len(params)}, {sentinel!r})")
        else:
            params.append(arr.tolist())
            exprs.append(f"?{len(params)}")
    it = iter(words)
    params = [next(it).tolist() if p is None else p for p in params]
    sql = f"INSERT INTO assessments (pid, {', '.join(cols)}) VALUES ({', '.join(exprs)})"
    return sql, list(zip(*params))


def _executemany(con, sql: str, rows: list[tuple], *, chunk: int = 32) -> None:
    """``con.executemany(sql, rows)`` for an INSERT with numbered parameters (``?1``, ...), sent
    as multi-row statements of ``chunk`` rows: the sqlite3 module's per-statement overhead is
    paid once per chunk instead of once per row."""
    width = len(rows[0]) if rows else 0
    chunk = max(1, min(chunk, 900 // max(width, 1)))  # within any SQLite's parameter limit
    whole = len(rows) // chunk * chunk
    if chunk > 1 and whole:
        head, values = sql.split(" VALUES ", 1)
        many = head + " VALUES " + ", ".join(
            re.sub(r"\?(\d+)", lambda m, r=r: f"?{int(m.group(1)) + r * width}", values) for r in range(chunk))
        chain = itertools.chain.from_iterable
        con.executemany(many, (tuple(chain(rows[i:i + chunk])) for i in range(0, whole, chunk)))
    con.executemany(sql, rows[whole:])


_GUARD = "assessments_after_baseline_insert"
_BULK = 1000


def _bulk_insert(con, sql: str, rows: list, pids: list) -> None:
    """Insert assessments; for a large batch the per-row baseline trigger is replaced, inside
    the same transaction, by one set-wise check of the patients touched (same guarantee,
    less work per row). A failure or a kill rolls the trigger's removal back too."""
    guard = con.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_GUARD,)).fetchone()
    if len(rows) < _BULK or guard is None:
        _executemany(con, sql, rows)
        return
    con.execute(f"DROP TRIGGER {_GUARD}")
    _executemany(con, sql, rows)
    con.execute(guard[0])
    early = con.execute(
        "SELECT p.patient_id, a.date, p.plan_start FROM assessments AS a JOIN patients AS p ON p.id = a.pid "
        "WHERE a.pid IN (SELECT value FROM json_each(?)) AND a.date < p.plan_start LIMIT 1",
        (json.dumps([int(p) for p in pids]),)).fetchone()
    if early:
        raise StoreError(f"patient {early[0]!r}: assessment dated {early[1]}, before the plan start (baseline) "
                         f"{early[2]}; nothing imported")


def import_frames(store, patients, assessments, *, source=None, skip_conflicts=False, patient_rows=None,
                  assessment_rows=None) -> ImportResult:
    """Add validated ``patients`` and ``assessments`` in one transaction.

    A row identical to a stored one is skipped; a row with the same key and other values is a
    conflict: ``ValidationError`` (nothing stored), or with ``skip_conflicts`` left out and
    listed in ``result.problems``. ``patient_rows`` and ``assessment_rows`` (file row numbers),
    when given, are used in messages.
    """
    result = ImportResult(source=source)
    prow = np.asarray(patient_rows if patient_rows is not None else np.arange(1, len(patients) + 1))
    arow = np.asarray(assessment_rows if assessment_rows is not None else np.arange(1, len(assessments) + 1))
    pcols = [f.name for f in PATIENT_FIELDS if f.name != "patient_id"]
    acols = [f.name for f in ASSESSMENT_FIELDS if f.name not in ("patient_id", "date")]
    with store._write() as con:
        old_p = store.patients()
        p_same, p_conf, problems = _conflicts(patients, old_p, ["patient_id"], pcols, prow)
        old_a = read_assessments(con) if len(old_p) and patients["patient_id"].isin(old_p["patient_id"]).any() else None
        a_same = a_conf = np.zeros(0, dtype=np.intp)
        if old_a is not None:
            a_same, a_conf, more = _conflicts(assessments, old_a, ["patient_id", "date"], acols, arow)
            problems += more
        bad_patients = set(patients["patient_id"].iloc[p_conf])
        a_conf = np.union1d(a_conf, np.flatnonzero(assessments["patient_id"].isin(bad_patients).to_numpy()))
        if problems:
            table = pd.DataFrame(problems, columns=["row", "patient_id", "date", "column", "value", "reason"])
            if not skip_conflicts:
                first = table.iloc[0]
                raise ValidationError(
                    f"{source or 'import'}: row {first.row} (patient {first.patient_id!r}), column {first.column!r}, "
                    f"value {first.value!r}: {first.reason}; {len(table)} conflicting value(s) in all; nothing imported",
                    problems=table, source=source)
            result.problems = table
        drop_p, drop_a = np.union1d(p_same, p_conf), np.union1d(a_same, a_conf)
        new_p = patients.iloc[np.setdiff1d(np.arange(len(patients)), drop_p)] if len(drop_p) else patients
        cols = ["patient_id", *pcols]
        con.executemany(f"INSERT INTO patients ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                        sql_records(new_p, cols))
        ids = dict(con.execute("SELECT patient_id, id FROM patients").fetchall())
        new_a = assessments.iloc[np.setdiff1d(np.arange(len(assessments)), drop_a)] if len(drop_a) else assessments
        codes, names = pd.factorize(new_a["patient_id"], use_na_sentinel=True)  # each patient looked up once
        pid = np.array([ids.get(name) for name in names] + [None], dtype=object)[codes].tolist()
        insert, rows = _insert_rows(new_a, pid, ["date", *acols])
        _bulk_insert(con, insert, rows, sorted(set(pid)))
        result.patients_added, result.assessments_added = len(new_p), len(new_a)
        result.patients_skipped, result.assessments_skipped = len(p_same), len(a_same)
        result.rejected = len(a_conf)
        if len(new_p) or len(new_a):
            store._log(con, "assessments", None, None, "import", None, field=None,
                       new=f"{len(new_p)} patients, {len(new_a)} assessments from {Path(source).name if source else 'tables'}")
    return result


def import_file(store, path, *, skip_invalid=False) -> ImportResult:
    """Read, validate and import a cohort file (see :meth:`painkit.store.Store.import_file`)."""
    from .exchange import read_cohort_lenient, read_cohort_rows, write_rejected

    if not skip_invalid:
        patients, assessments, prows, arows = read_cohort_rows(path)
        return import_frames(store, patients, assessments, source=str(path), patient_rows=prows, assessment_rows=arows)
    patients, assessments, rejected, prows, arows = read_cohort_lenient(path)
    result = import_frames(store, patients, assessments, source=str(path), skip_conflicts=True,
                           patient_rows=prows, assessment_rows=arows)
    if result.problems is not None and len(result.problems):
        rejected = pd.concat([rejected, result.problems], ignore_index=True)
    result.rejected = int(rejected["row"].nunique()) if len(rejected) else 0
    if len(rejected):
        result.rejected_path = str(write_rejected(path, rejected))
    return result
