"""Import and export of cohorts: the painkit long format (CSV or Excel) and a de-identified export.

The long format (documented in ``data/sample/README.md``) has one row per assessment. The
patient columns (``sex``, ``birth_year``, ``height_cm``, ``weight_kg``, ``condition``,
``pain_duration_months``, ``plan``, ``plan_start``) are repeated on each row or given on the
patient's first row only; where given twice they must agree. Leading lines starting with ``#``
(such as ``# SYNTHETIC ...``) are comments and skipped; row numbers in messages are the line
numbers a spreadsheet shows (the header is row 1 when there is no comment). A row with a
patient's columns but no date and no scores registers a patient who has no assessment yet.

FHIR export lives in :mod:`painkit.fhir`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError, ValidationError
from .schema import ASSESSMENT_FIELDS, PATIENT_FIELDS, validate_assessments, validate_patients

__all__ = [
    "COLUMNS",
    "read_cohort",
    "read_cohort_lenient",
    "read_cohort_rows",
    "write_rejected",
    "cohort_frame",
    "write_cohort",
    "deidentify",
    "write_deidentified",
    "secret_salt",
]

PATIENT_COLUMNS = [f.name for f in PATIENT_FIELDS if f.name != "patient_id"]
MEASURE_COLUMNS = [f.name for f in ASSESSMENT_FIELDS if f.name not in ("patient_id", "date")]
#: The columns of the long format, in the order painkit writes them.
COLUMNS = ["patient_id", "date", *PATIENT_COLUMNS, *MEASURE_COLUMNS]
_PROBLEM_COLUMNS = ["row", "patient_id", "date", "column", "value", "reason"]


# ------------------------------------------------------------------------------ reading
def _read_raw(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The file's data rows as text, and each row's number as a spreadsheet shows it."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=object, engine="openpyxl")
            first = frame.columns[0] if len(frame.columns) else ""
            skip = 0
            while str(first).startswith("#") and len(frame) > skip:
                first = frame.iloc[skip, 0]
                skip += 1
            if skip:  # comment rows at the top: the header is the next row
                frame = pd.read_excel(path, dtype=object, engine="openpyxl", skiprows=skip)
            frame = frame.map(lambda v: v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v)
            frame = frame.astype(object).where(frame.notna(), None)
        elif suffix in (".csv", ".txt", ".tsv"):
            skip = 0
            with open(path, encoding="utf-8-sig") as handle:
                for line in handle:
                    if not line.startswith("#"):
                        break
                    skip += 1
            frame = pd.read_csv(path, dtype=str, skiprows=skip, keep_default_na=False, na_values=[""],
                                encoding="utf-8-sig", sep="\t" if suffix == ".tsv" else ",")
        else:
            raise InputError(f"{path}: unknown file type {suffix!r}; allowed: .csv, .tsv, .txt, .xlsx")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot read the file: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if unknown:
        raise ValidationError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(COLUMNS)}",
            problems=pd.DataFrame([{"row": skip + 1, "patient_id": None, "date": None, "column": c, "value": c,
                                    "reason": "unknown column"} for c in unknown], columns=_PROBLEM_COLUMNS),
            source=str(path))
    rows = np.arange(len(frame)) + skip + 2
    return frame.reset_index(drop=True), rows


def _problems(items) -> pd.DataFrame:
    return pd.DataFrame(items, columns=_PROBLEM_COLUMNS) if items else pd.DataFrame(columns=_PROBLEM_COLUMNS)


def _remap(err: ValidationError, rows_of) -> pd.DataFrame:
    problems = err.problems.copy() if err.problems is not None else _problems([{"reason": str(err)}])
    problems["row"] = [rows_of(r, c) if pd.notna(r) else None for r, c in zip(problems["row"], problems["column"])]
    return problems


def _stripped(values: pd.Series) -> pd.Series:
    """Values as stripped text (None where missing), each distinct value handled once."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    text = np.array([str(u).strip() for u in uniq] + [None], dtype=object)
    return pd.Series(text[codes], index=values.index, dtype=object)


def _check(frame: pd.DataFrame, rows: np.ndarray, source: str, evidence):
    """Validate a raw long-format table; returns (patients, assessments, problems)."""
    found = []
    if "patient_id" not in frame or "date" not in frame:
        raise ValidationError(f"{source}: the file needs the columns patient_id and date (and nrs)", source=source)
    pid = frame["patient_id"].astype(object).where(frame["patient_id"].notna(), None)
    pid = _stripped(pid)
    frame = frame.assign(patient_id=pid)
    pcodes, order = pd.factorize(pid, use_na_sentinel=True)  # patients in order of first appearance
    order = np.asarray(order, dtype=object)
    n_pat = len(order)
    home = np.zeros(n_pat, dtype=object)
    keyed_idx = np.flatnonzero(pcodes >= 0)
    _, first_pos = np.unique(pcodes[keyed_idx], return_index=True)
    home[:] = rows[keyed_idx[first_pos]] if n_pat else home
    pdata, prows = {"patient_id": order}, {}
    for col in PATIENT_COLUMNS:
        if col not in frame:
            continue
        vcodes, uniq = pd.factorize(frame[col], use_na_sentinel=True)
        stripped = np.array([str(u).strip() for u in uniq], dtype=object)
        scodes, suniq = pd.factorize(stripped)  # values equal once stripped share a code
        vcodes = np.where(vcodes >= 0, scodes[vcodes] if len(scodes) else -1, -1)
        idx = np.flatnonzero((vcodes >= 0) & (pcodes >= 0))
        pc = pcodes[idx]
        seen, first_at = np.unique(pc, return_index=True)
        first_val = np.full(n_pat, -1, dtype=np.int64)
        first_val[seen] = vcodes[idx[first_at]]
        first_row = np.full(n_pat, None, dtype=object)
        first_row[seen] = rows[idx[first_at]]
        suniq = np.append(np.asarray(suniq, dtype=object), None)
        for i in idx[vcodes[idx] != first_val[pc]]:
            p = pcodes[i]
            found.append({"row": rows[i], "patient_id": order[p], "date": frame.at[i, "date"], "column": col,
                          "value": frame.at[i, col],
                          "reason": f"disagrees with {suniq[first_val[p]]!r} given on row {first_row[p]} for this patient"})
        pdata[col] = suniq[first_val]
        prows[col] = first_row
    patients_raw = pd.DataFrame(pdata)
    try:
        patients = validate_patients(patients_raw, source=source, row_offset=0, evidence=evidence)
    except ValidationError as err:
        def where(r, c):
            given = prows[c][int(r)] if c in prows else None
            return given if given is not None and pd.notna(given) else home[int(r)]

        found += _remap(err, where).to_dict("records")
        patients = None
    measures = [c for c in MEASURE_COLUMNS if c in frame]
    undated = np.flatnonzero(frame["date"].isna().to_numpy())  # only these can be patient-only rows
    is_assessment = np.ones(len(frame), dtype=bool)
    if len(undated):
        part = frame.iloc[undated]
        is_assessment[undated] = ~(part[measures].isna().all(axis=1) & part["patient_id"].notna()).to_numpy()
    araw = frame.loc[is_assessment, ["patient_id", "date", *measures]].reset_index(drop=True)
    arows = rows[is_assessment]
    with_visits = None
    if patients is not None:
        with_visits = patients[patients["patient_id"].isin(araw["patient_id"])].reset_index(drop=True)
    try:
        assessments = validate_assessments(araw, patients=with_visits, source=source, row_offset=0, evidence=evidence)
    except ValidationError as err:
        found += _remap(err, lambda r, c: arows[int(r)]).to_dict("records")
        assessments = None
    return patients, assessments, _problems(found), home, arows


def _raise(problems: pd.DataFrame, source: str):
    first = problems.iloc[0]
    at = f"row {first.row}" if pd.notna(first.row) else f"patient {first.patient_id!r}"
    more = f"; {len(problems)} problem(s) in all (every one is listed in .problems)" if len(problems) > 1 else ""
    raise ValidationError(f"{source}: {at}, column {first.column!r}, value {first.value!r}: {first.reason}{more}",
                          problems=problems, source=source)


def read_cohort(path, *, evidence=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and validate a cohort file in the painkit long format (CSV, TSV or Excel).

    Returns
    -------
    (patients, assessments) : tuple of pandas.DataFrame
        The :mod:`painkit.schema` tables, in file order.

    Raises
    ------
    ValidationError
        Listing every problem (row as a spreadsheet shows it, column, value, reason) in
        ``.problems``; nothing is returned if any row is bad.
    InputError
        The file is missing or unreadable.

    Examples
    --------
    >>> from painkit.sample import SAMPLE_COHORT
    >>> patients, assessments = read_cohort(SAMPLE_COHORT)
    >>> len(patients), bool(assessments["nrs"].between(0, 10).all())
    (200, True)
    """
    return read_cohort_rows(path, evidence=evidence)[:2]


def read_cohort_rows(path, *, evidence=None):
    """:func:`read_cohort` plus each patient's and each assessment's row number in the file."""
    path = Path(path)
    frame, rows = _read_raw(path)
    patients, assessments, problems, prows, arows = _check(frame, rows, str(path), evidence)
    if len(problems):
        problems = problems.sort_values("row", kind="stable", na_position="last").reset_index(drop=True)
        _raise(problems, str(path))
    return patients, assessments, prows, arows


def read_cohort_lenient(path, *, evidence=None):
    """Like :func:`read_cohort`, but keep the good rows.

    A row with a bad value is rejected; a patient whose own columns are bad, or whose baseline
    row is rejected, is rejected with all of their rows.

    Returns
    -------
    (patients, assessments, rejected, patient_rows, assessment_rows)
        ``rejected`` lists each problem: ``row``, ``patient_id``, ``date``, ``column``,
        ``value``, ``reason``.
    """
    path = Path(path)
    frame, rows = _read_raw(path)
    found = []
    for _ in range(10):
        patients, assessments, problems, prows, arows = _check(frame, rows, str(path), evidence)
        if not len(problems):
            break
        found.append(problems)
        bad_rows = set(problems["row"].dropna().astype(int))
        whole = problems[problems["row"].isna() | problems["column"].isin(PATIENT_COLUMNS)]["patient_id"].dropna()
        drop = np.isin(rows, list(bad_rows)) | frame["patient_id"].isin(set(whole)).to_numpy()
        if not drop.any():
            _raise(problems, str(path))
        frame, rows = frame[~drop].reset_index(drop=True), rows[~drop]
    rejected = pd.concat(found, ignore_index=True) if found else _problems([])
    return patients, assessments, rejected, prows, arows


def write_rejected(path, rejected: pd.DataFrame) -> Path:
    """Write the rejected rows of ``path`` beside it as ``<path>.rejected.csv``.

    Each rejected input row is copied as read, with ``row`` (its row number in the input)
    and ``reason`` (every problem found in it, ``column=value: reason``, joined by ``; ``).
    """
    path = Path(path)
    frame, rows = _read_raw(path)
    reasons = rejected.assign(text=[f"{c}={v!r}: {r}" for c, v, r in zip(rejected["column"], rejected["value"], rejected["reason"])])
    whole = reasons[reasons["row"].isna()]
    by_row = reasons.dropna(subset=["row"]).groupby(reasons["row"].dropna().astype(int))["text"].agg("; ".join)
    by_patient = whole.groupby("patient_id")["text"].agg("; ".join)
    out = frame.copy()
    out.insert(0, "row", rows)
    text = pd.Series(rows).map(by_row)
    extra = frame["patient_id"].map(by_patient)
    rejected_patients = set(rejected.loc[rejected["column"].isin(PATIENT_COLUMNS) | rejected["row"].isna(), "patient_id"].dropna())
    whole_patient = frame["patient_id"].isin(rejected_patients).to_numpy()
    text = text.where(text.notna(), extra.where(extra.notna(), None))
    text = text.where(text.notna() | ~whole_patient, "another row of this patient was rejected (the patient's data)")
    out["reason"] = text.to_numpy()
    target = path.with_name(path.name + ".rejected.csv")
    out[out["reason"].notna()].to_csv(target, index=False)
    return target


# ------------------------------------------------------------------------------ writing
def cohort_frame(patients: pd.DataFrame, assessments: pd.DataFrame) -> pd.DataFrame:
    """The long-format table: one row per assessment with its patient's columns repeated.

    A patient with no assessment gets one row with the patient's columns only.
    """
    merged = assessments.merge(patients, on="patient_id", how="left", validate="many_to_one")
    alone = patients[~patients["patient_id"].isin(assessments["patient_id"])]
    if len(alone):
        merged = pd.concat([merged, alone], ignore_index=True)
    missing = set(assessments["patient_id"].dropna()) - set(patients["patient_id"])
    if missing:
        raise InputError(f"assessments name patient(s) not in the patients table: {', '.join(sorted(missing)[:5])}")
    return merged.reindex(columns=COLUMNS)


def _text_table(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[col] = s.map({True: "true", False: "false"}).astype(object)
        elif pd.api.types.is_float_dtype(s.dtype):
            codes, uniq = pd.factorize(s, use_na_sentinel=True)  # format each distinct value once
            text = np.array([repr(float(v)).removesuffix(".0") for v in uniq] + [None], dtype=object)
            out[col] = pd.Series(text[codes], index=s.index)
        else:
            out[col] = s.astype(object)
        out[col] = out[col].where(pd.notna(out[col]), None)
    return pd.DataFrame(out)


def write_cohort(patients, assessments, path, *, comment: str | None = None) -> Path:
    """Write a cohort in the long format (``.csv`` or ``.xlsx``); it reads back as the same data.

    ``comment`` lines are written first, each prefixed with ``# `` (CSV only).
    """
    path = Path(path)
    table = _text_table(cohort_frame(patients, assessments))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        table.to_excel(path, index=False, engine="openpyxl")
        return path
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for line in (comment or "").splitlines():
            handle.write(f"# {line}\n")
        table.to_csv(handle, index=False, lineterminator="\n")
    return path


# ------------------------------------------------------------------------------ de-identified
#: Age bands of the de-identified export (age at plan start, years).
AGE_BANDS = [(18, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, 79), (80, 89)]
SHIFT_DAYS = 182


def secret_salt(path=None) -> str:
    """The salt of de-identification, from ``path`` (default ``data/user/deid_salt``).

    Created on first use with 32 random bytes and mode 0600; ``data/user/`` is never
    committed. Keep it secret: with it, hashed ids can be recomputed from real ids.
    """
    path = Path(path or Path(__file__).resolve().parent.parent / "data" / "user" / "deid_salt")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


def _age_band(age) -> str | None:
    if pd.isna(age):
        return None
    if age < 18:
        return "<18"
    for lo, hi in AGE_BANDS:
        if lo <= age <= hi:
            return f"{lo}-{hi}"
    return "90+"


def deidentify(patients: pd.DataFrame, assessments: pd.DataFrame, *, salt: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A research copy of a cohort that names no one.

    * ``patient_id`` becomes ``subject``: the first 16 hex digits of HMAC-SHA256(salt, id).
    * Every date of a patient moves by the same offset (-182 to +182 days, drawn from
      HMAC(salt, id)), so intervals are kept and calendar dates are not.
    * ``birth_year`` becomes ``age_band`` (age at plan start in ten-year bands, ``90+``, ``<18``).
    * ``condition`` and ``notes`` (free text) are dropped.

    Examples
    --------
    >>> p = pd.DataFrame({"patient_id": ["A"], "birth_year": [1960], "plan": ["pt"],
    ...                   "plan_start": pd.to_datetime(["2024-01-01"]), "condition": ["back"]})
    >>> a = pd.DataFrame({"patient_id": ["A", "A"], "date": pd.to_datetime(["2024-01-01", "2024-01-29"]),
    ...                   "nrs": [7, 5], "notes": ["x", None]})
    >>> dp, da = deidentify(p, a, salt="s")
    >>> list(dp.columns), dp["age_band"].iloc[0], int(da["date"].diff().dt.days.iloc[1])
    (['subject', 'age_band', 'plan', 'plan_start'], '60-69', 28)
    """
    if not salt:
        raise InputError("de-identification needs a non-empty salt")
    key = salt.encode()
    ids = pd.unique(pd.concat([patients["patient_id"], assessments["patient_id"]]).dropna())
    digest = {p: hmac.new(key, str(p).encode(), hashlib.sha256).hexdigest() for p in ids}
    subject = {p: d[:16] for p, d in digest.items()}
    shift = {p: pd.Timedelta(days=int(d[16:24], 16) % (2 * SHIFT_DAYS + 1) - SHIFT_DAYS) for p, d in digest.items()}
    dp = patients.drop(columns=[c for c in ("condition",) if c in patients])
    if "birth_year" in dp:
        age = dp["plan_start"].dt.year - dp["birth_year"].astype("Float64")
        dp = dp.assign(age_band=[_age_band(a) for a in age]).drop(columns="birth_year")
    offsets = dp["patient_id"].map(shift)
    dp = dp.assign(plan_start=dp["plan_start"] + pd.to_timedelta(offsets))
    da = assessments.drop(columns=[c for c in ("notes",) if c in assessments])
    da = da.assign(date=da["date"] + pd.to_timedelta(da["patient_id"].map(shift)))
    dp.insert(0, "subject", dp.pop("patient_id").map(subject))
    da.insert(0, "subject", da.pop("patient_id").map(subject))
    first = ["subject", "age_band"]
    dp = dp[[c for c in first if c in dp] + [c for c in dp.columns if c not in first]]
    return dp.reset_index(drop=True), da.reset_index(drop=True)


def write_deidentified(patients, assessments, path, *, salt: str | None = None) -> Path:
    """Write the de-identified cohort as one long CSV (``subject`` and shifted ``date`` first)."""
    dp, da = deidentify(patients, assessments, salt=salt or secret_salt())
    table = da.merge(dp, on="subject", how="left")
    front = ["subject", "date", *[c for c in dp.columns if c != "subject"]]
    table = _text_table(table[front + [c for c in table.columns if c not in front]])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("# DE-IDENTIFIED painkit export: salted-hash subjects, dates shifted per subject, "
                     "free text dropped, age in bands\n")
        table.to_csv(handle, index=False, lineterminator="\n")
    return path
