"""The data contract: the columns of the patients and assessments tables, and their rules.

painkit's core works on two long-format tables:

``patients``
    One row per patient: ``patient_id``, ``sex``, ``birth_year``, ``height_cm``,
    ``weight_kg``, ``condition``, ``pain_duration_months``, ``plan`` (arm ids joined by
    ``+``) and ``plan_start`` (the baseline date).
``assessments``
    One row per patient and date: the NRS, BPI and PEG items, the six-minute walk distance,
    the therapies active that day, exercise sessions, the mood flag, the four red-flag answers
    and free-text notes.

The baseline of a patient is the assessment dated ``plan_start``; an assessment before it is
an error, as is a patient without one (checked by :func:`validate_assessments` when the
patients table is given).

Every field is declared once in :data:`PATIENT_FIELDS` and :data:`ASSESSMENT_FIELDS`. The
declarations drive the pandera schemas that validate tables here and the SQLite CHECK
constraints of the store, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputError, PainkitError, UnknownModalityError, ValidationError

__all__ = [
    "Field",
    "PATIENT_FIELDS",
    "ASSESSMENT_FIELDS",
    "RED_FLAGS",
    "BPI_SEVERITY",
    "BPI_INTERFERENCE",
    "PEG_ITEMS",
    "patient_columns",
    "assessment_columns",
    "validate_patients",
    "validate_assessments",
    "empty_patients",
    "empty_assessments",
]


@dataclass(frozen=True)
class Field:
    """One column of a painkit table.

    ``kind`` is one of ``id``, ``text``, ``int``, ``score`` (whole number 0-10), ``float``,
    ``bool``, ``date``, ``category``, ``plan`` (arm ids joined by ``+``, at least one) and
    ``therapies`` (the same, may be empty).
    """

    name: str
    kind: str
    description: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None


def _score(name, description):
    return Field(name, "score", description, min=0, max=10)


RED_FLAGS = {
    "rf_weakness": "sudden weakness",
    "rf_bladder": "loss of bladder control",
    "rf_weight_loss": "unexplained weight loss",
    "rf_fever": "fever with pain",
}
BPI_SEVERITY = ("bpi_worst", "bpi_least", "bpi_average", "bpi_now")
BPI_INTERFERENCE = (
    "bpi_activity",
    "bpi_mood",
    "bpi_walking",
    "bpi_work",
    "bpi_relations",
    "bpi_sleep",
    "bpi_enjoyment",
)
PEG_ITEMS = ("peg_pain", "peg_enjoyment", "peg_activity")

PATIENT_FIELDS: tuple[Field, ...] = (
    Field("patient_id", "id", "Patient identifier (1-64 characters)", required=True),
    Field("sex", "category", "Sex, for the six-minute walk equations", choices=("female", "male")),
    Field("birth_year", "int", "Year of birth", min=1900, max=2100),
    Field("height_cm", "float", "Height in centimetres", min=50, max=250),
    Field("weight_kg", "float", "Weight in kilograms", min=20, max=350),
    Field("condition", "text", "Pain condition, free text"),
    Field("pain_duration_months", "float", "Months the pain has lasted at plan start", min=0, max=1200),
    Field("plan", "plan", "Planned treatments: arm ids joined by '+'", required=True),
    Field("plan_start", "date", "Date the plan starts; the baseline assessment is on this date", required=True),
)

ASSESSMENT_FIELDS: tuple[Field, ...] = (
    Field("patient_id", "id", "Patient identifier", required=True),
    Field("date", "date", "Date of the assessment", required=True),
    Field("nrs", "score", "Pain intensity, 0-10 Numeric Rating Scale (whole numbers)", required=True, min=0, max=10),
    _score("bpi_worst", "BPI: worst pain in the last 24 hours"),
    _score("bpi_least", "BPI: least pain in the last 24 hours"),
    _score("bpi_average", "BPI: average pain"),
    _score("bpi_now", "BPI: pain right now"),
    _score("bpi_activity", "BPI interference: general activity"),
    _score("bpi_mood", "BPI interference: mood"),
    _score("bpi_walking", "BPI interference: walking ability"),
    _score("bpi_work", "BPI interference: normal work"),
    _score("bpi_relations", "BPI interference: relations with other people"),
    _score("bpi_sleep", "BPI interference: sleep"),
    _score("bpi_enjoyment", "BPI interference: enjoyment of life"),
    _score("peg_pain", "PEG: average pain in the past week"),
    _score("peg_enjoyment", "PEG: interference with enjoyment of life"),
    _score("peg_activity", "PEG: interference with general activity"),
    Field("walk_m", "float", "Six-minute walk distance in metres", min=0, max=1500),
    Field("therapies", "therapies", "Therapies active at this date (arm ids joined by '+'); empty means the plan"),
    Field("exercise_sessions_planned", "int", "Exercise sessions planned since the last assessment", min=0, max=500),
    Field("exercise_sessions_done", "int", "Exercise sessions done since the last assessment", min=0, max=500),
    Field("mood_flag", "bool", "Depression or anxiety flagged"),
    Field("qst_normal", "bool", "Quantitative sensory testing normal (recorded, not computed)"),
    *(Field(name, "bool", f"Red flag: {label}") for name, label in RED_FLAGS.items()),
    Field("notes", "text", "Free-text notes"),
)

_PANDAS_TYPES = {
    "id": "string",
    "text": "string",
    "category": "string",
    "plan": "string",
    "therapies": "string",
    "int": "Int64",
    "score": "Int64",
    "float": "Float64",
    "bool": "boolean",
    "date": "datetime64[ns]",
}


def patient_columns() -> list[str]:
    return [f.name for f in PATIENT_FIELDS]


def assessment_columns() -> list[str]:
    return [f.name for f in ASSESSMENT_FIELDS]


def _empty(fields) -> pd.DataFrame:
    return pd.DataFrame({f.name: pd.Series(dtype=_PANDAS_TYPES[f.kind]) for f in fields})


def empty_patients() -> pd.DataFrame:
    """A patients table with no rows and the declared dtypes."""
    return _empty(PATIENT_FIELDS)


def empty_assessments() -> pd.DataFrame:
    """An assessments table with no rows and the declared dtypes."""
    return _empty(ASSESSMENT_FIELDS)


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_SEX = {"f": "female", "female": "female", "woman": "female", "m": "male", "male": "male", "man": "male"}


class _Problems:
    """Collects problems as arrays; builds the problems table once at the end."""

    def __init__(self, data: pd.DataFrame, row_offset: int):
        self.data, self.offset, self.parts = data, row_offset, []
        self.codes = {}  # id column -> (codes, stripped uniques), reused to match patients

    def add(self, positions, column: str, values, reason: str):
        positions = np.asarray(positions, dtype=np.intp)
        if len(positions):
            self.parts.append((positions, column, np.asarray(values, dtype=object), reason))

    def table(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=["row", "patient_id", "date", "column", "value", "reason"])
        pos = np.concatenate([p[0] for p in self.parts])
        frame = pd.DataFrame(
            {
                "position": pos,
                "column": np.concatenate([[p[1]] * len(p[0]) for p in self.parts]),
                "value": np.concatenate([p[2] for p in self.parts]),
                "reason": np.concatenate([[p[3]] * len(p[0]) for p in self.parts]),
            }
        )
        frame["row"] = frame["position"] + self.offset
        for col in ("patient_id", "date"):
            if col in self.data:
                frame[col] = self.data[col].to_numpy(dtype=object)[frame["position"]]
            else:
                frame[col] = None
        frame = frame.sort_values(["position", "column"], kind="stable")
        return frame[["row", "patient_id", "date", "column", "value", "reason"]].reset_index(drop=True)


def _describe(kind: str, f: Field) -> str:
    if kind == "score" or (f.min is not None and f.max is not None and kind == "int"):
        return f"a whole number from {f.min:g} to {f.max:g}"
    if kind == "float":
        return f"a number from {f.min:g} to {f.max:g}"
    return kind


def _unique_text(raw: pd.Series):
    """Factorize a text column: codes per row (-1 for missing) and stripped unique strings.

    String work happens once per distinct value, which keeps a million rows fast. The
    uniques array ends with a sentinel (None) so that ``uniques[codes]`` maps -1 to None.
    """
    codes, text, _ = _unique_text_same(raw)
    return codes, text


def _as_text(uniques) -> list:
    """The unique values as strings, exactly as ``Series.astype(str)`` makes them.

    Plain ``str``/``int``/``float``/``bool`` values (all a table of typed cells holds) are
    converted here without building a Series; anything else goes through pandas.
    """
    uniques = np.asarray(uniques, dtype=object)  # a StringArray iterates slowly; its object array does not
    out = []
    for u in uniques.tolist():
        t = type(u)
        if t is str:
            out.append(u)
        elif t is int or t is bool or t is float:
            out.append(str(u))  # float: str(x) == f"{x}", what astype(str) uses
        else:
            return pd.Series(uniques, dtype=object).astype(str).tolist()
    return out


def _unique_text_same(raw: pd.Series):
    """As :func:`_unique_text`, plus whether every value was already stripped and non-empty."""
    values = raw.array if isinstance(raw.dtype, pd.api.extensions.ExtensionDtype) else raw.to_numpy()
    missing = np.asarray(pd.isna(values), dtype=bool)
    if 2 * missing.sum() > len(missing):  # a sparse column (therapies, notes): hash only the values present
        present_codes, uniques = pd.factorize(values[~missing], use_na_sentinel=True)
        codes = np.full(len(values), -1, dtype=np.intp)
        codes[~missing] = present_codes
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    original = _as_text(uniques)
    stripped = [u.strip() for u in original]
    same = stripped == original
    text = np.empty(len(stripped) + 1, dtype=object)
    text[:-1] = stripped  # the sentinel (None) stays last
    if "" in stripped:
        empty = np.append(text[:-1] == "", True)
        same = False
        codes = np.where(empty[codes], -1, codes)
    return codes, text, same


def _take(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return values[codes]  # codes -1 picks the sentinel at the end


def _floats(values) -> np.ndarray:
    """``pd.to_numeric(values, errors="coerce")`` as a writable float array (NaN for missing)."""
    num = pd.to_numeric(values, errors="coerce")
    if isinstance(num, np.ndarray) and num.dtype.kind in "iuf":
        return num.astype(float)  # always a copy
    return pd.Series(num).to_numpy(dtype=float, na_value=np.nan, copy=True)


_STRING = pd.StringDtype("python", na_value=pd.NA)


def _coerce_column(raw: pd.Series, f: Field, problems: _Problems, evidence):
    """Coerce one column to its declared dtype (an array), recording every value that breaks a rule."""
    kind = f.kind
    is_text = raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype)
    same = False
    if is_text:
        codes, uniq, same = _unique_text_same(raw)
        present = codes >= 0
    else:
        codes, uniq = None, None
        present = np.asarray(raw.notna().to_numpy(), dtype=bool).copy()
    objects = None

    def original(mask):
        nonlocal objects
        if objects is None:
            objects = raw.to_numpy(dtype=object)
        return objects[mask]

    def flag(mask, reason):
        problems.add(np.flatnonzero(mask), f.name, original(mask), reason)

    if f.required and not present.all():
        flag(~present, "required, missing")
    if kind in ("score", "int", "float"):
        rule = _describe(kind, f)
        if is_text:
            uvals = _floats(uniq[:-1])
            values = _take(np.append(uvals, np.nan), codes)
        else:
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
        bad_type = present & np.isnan(values)
        if bad_type.any():
            flag(bad_type, f"not a number; allowed: {rule}")
        ok = present & ~bad_type
        with np.errstate(invalid="ignore"):
            bad = ok & ((values < f.min) | (values > f.max))
            if kind != "float":
                bad |= ok & (np.floor(values) != values)
        if bad.any():
            flag(bad, f"allowed: {rule}")
        mask = ~ok | bad
        values[mask] = np.nan
        if kind == "float":
            return pd.arrays.FloatingArray(values, mask)
        values[mask] = 0  # whole numbers within the declared range: exact as int64
        return pd.arrays.IntegerArray(values.astype(np.int64), mask)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(raw.dtype):
            return raw.astype("boolean").array
        if not is_text:
            codes, uniq = _unique_text(raw.astype(object))
        lowered = [str(u).lower() if u is not None else "" for u in uniq]
        truth = np.array([1 if u in _TRUE else 0 if u in _FALSE else -1 for u in lowered], dtype=np.int64)
        truth[-1] = -2  # missing
        per_row = _take(truth, codes)
        bad = per_row == -1
        if bad.any():
            flag(bad, "allowed: yes/no, true/false or 1/0")
        return pd.arrays.BooleanArray(per_row == 1, per_row < 0)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw.dtype):
            values = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) else raw
            return values.dt.normalize().astype("datetime64[ns]").to_numpy()
        if not is_text:
            codes, uniq = _unique_text(raw.astype(object))
        udates = pd.to_datetime(pd.Series(uniq[:-1], dtype=object), errors="coerce", format="mixed")
        udates = udates.dt.tz_localize(None) if getattr(udates.dt, "tz", None) else udates
        uvals = np.append(udates.dt.normalize().to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        values = _take(uvals, codes)
        bad = present & np.isnat(values)
        if bad.any():
            flag(bad, "not a date; allowed: YYYY-MM-DD")
        return values.astype("datetime64[ns]", copy=False)
    # text kinds
    if not is_text:
        codes, uniq = _unique_text(raw.astype(object))
    if kind == "id":
        problems.codes[f.name] = (codes, uniq)
        ustr = uniq[:-1]
        # Fast path: one C-level pass shows the common case (all short and printable).
        clean = not len(ustr) or (max(map(len, ustr)) <= 64 and "".join(ustr).isprintable())
    if kind == "id" and not clean:
        lengths = np.fromiter((len(u) for u in ustr), dtype=np.intp, count=len(ustr))
        control = np.fromiter((not u.isprintable() for u in ustr), dtype=bool, count=len(ustr))
        for mask, reason in ((lengths > 64, "longer than 64 characters"), (control, "contains non-printable characters")):
            rows = _take(np.append(mask, False), codes)
            if rows.any():
                flag(rows, reason)
    if kind == "category":
        mapped = np.array([_SEX.get(str(u).lower()) if u is not None else None for u in uniq], dtype=object)
        bad = present & (_take(mapped, codes) == None)  # noqa: E711 (elementwise)
        if bad.any():
            flag(bad, f"allowed: {', '.join(f.choices)}")
        uniq = mapped
    elif kind in ("plan", "therapies"):
        canonical = _canonical_arms(uniq, codes, f, problems, evidence)
        same = same and bool((canonical[:-1] == uniq[:-1]).all())
        uniq = canonical
    if same and kind != "category" and raw.dtype == _STRING:
        # Nothing changed: keep the input array rather than rebuild a million strings.
        return raw.array
    return pd.array(_take(uniq, codes), dtype="string")


def _canonical_arms(uniq: np.ndarray, codes: np.ndarray, f: Field, problems: _Problems, evidence) -> np.ndarray:
    """Canonical plan labels for the unique values; problems recorded against their rows."""
    from .evidence import load_evidence, parse_plan, plan_label

    evidence = evidence or load_evidence()
    canonical = []
    for code, raw in enumerate(uniq[:-1]):
        try:
            canonical.append(plan_label(parse_plan(raw, evidence)))
            continue
        except UnknownModalityError as exc:
            hint = f" (did you mean {', '.join(exc.suggestions)}?)" if exc.suggestions else ""
            reason = f"unknown treatment {exc.name!r}{hint}; allowed: {', '.join(exc.known)}"
        except InputError as exc:
            reason = str(exc)
        pos = np.flatnonzero(codes == code)
        problems.add(pos, f.name, [raw] * len(pos), reason)
        canonical.append(None)
    return np.array(canonical + [None], dtype=object)


def _validate(data: pd.DataFrame, fields, *, source, row_offset, evidence, what) -> tuple[pd.DataFrame, _Problems]:
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, not {type(data).__name__}")
    names = [f.name for f in fields]
    required = [f.name for f in fields if f.required]
    missing = [c for c in required if c not in data.columns]
    where = f"{source}: " if source else ""
    if missing:
        raise ValidationError(
            f"{where}{what} table lacks required column(s) {', '.join(missing)} "
            f"(columns: {', '.join(names)})",
            source=source,
        )
    if not isinstance(data.index, pd.RangeIndex) or data.index.start != 0 or data.index.step != 1:
        data = data.reset_index(drop=True)
    problems = _Problems(data, row_offset)
    out = {}
    present = set(data.columns)
    for f in fields:
        if f.name in present:
            out[f.name] = _coerce_column(data[f.name], f, problems, evidence)
        else:
            out[f.name] = _all_missing(f.kind, len(data))
    # One frame from the column arrays (no per-column Series, no index alignment).
    return pd.DataFrame(out, index=data.index, copy=False), problems


def _all_missing(kind: str, n: int):
    """An absent optional column: all missing, in its declared dtype (built without a scan)."""
    dtype = _PANDAS_TYPES[kind]
    mask = np.ones(n, dtype=bool)
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), mask)
    if dtype == "Float64":
        return pd.arrays.FloatingArray(np.zeros(n, dtype=np.float64), mask)
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), mask)
    if kind == "date":
        return np.full(n, np.datetime64("NaT", "ns"))
    return pd.arrays.StringArray(np.full(n, pd.NA, dtype=object))


def _raise(problems: pd.DataFrame, *, source, what) -> None:
    where = f"{source}: " if source else ""
    first = problems.iloc[0]
    at = f"row {first.row}"
    if isinstance(first.patient_id, str):
        at += f" (patient {first.patient_id!r}"
        if isinstance(first.date, str) and first.date.strip():
            at += f", {first.date.strip()})"  # the date as written in the input
        else:
            at += f", {pd.Timestamp(first.date).date()})" if pd.notna(first.date) and not isinstance(first.date, str) else ")"
    more = f"; {len(problems) - 1} more problem(s) in {problems.row.nunique()} row(s)" if len(problems) > 1 else ""
    raise ValidationError(
        f"{where}{what}: {at}, column {first.column!r}, value {first.value!r}: {first.reason}{more}",
        problems=problems,
        source=source,
    )


def validate_patients(
    patients: pd.DataFrame, *, source: str | None = None, row_offset: int = 1, evidence=None
) -> pd.DataFrame:
    """Check and coerce a patients table.

    Parameters
    ----------
    patients : pandas.DataFrame
        Columns as in :data:`PATIENT_FIELDS`; missing optional columns are added empty.
    source : str, optional
        The file the table came from, named in messages.
    row_offset : int, default 1
        Number given to the first row in messages (2 for a CSV file with its header line 1).

    Returns
    -------
    pandas.DataFrame
        The declared columns with the declared dtypes, plans in canonical form.

    Raises
    ------
    ValidationError
        Listing every problem in ``.problems`` (row, patient_id, date, column, value, reason).
    """
    table, problems = _validate(patients, PATIENT_FIELDS, source=source, row_offset=row_offset, evidence=evidence, what="patients")
    dup = table["patient_id"].duplicated(keep="first").to_numpy() & table["patient_id"].notna().to_numpy()
    problems.add(np.flatnonzero(dup), "patient_id", table["patient_id"].to_numpy(dtype=object)[dup], "patient listed twice")
    if problems.parts:
        _raise(problems.table(), source=source, what="patients")
    return table


def _iso(dates: pd.Series) -> np.ndarray:
    return dates.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)


def validate_assessments(
    assessments: pd.DataFrame,
    *,
    patients: pd.DataFrame | None = None,
    source: str | None = None,
    row_offset: int = 1,
    evidence=None,
) -> pd.DataFrame:
    """Check and coerce an assessments table.

    Checks every field's rule, two assessments of one patient on one date, done exercise
    sessions above those planned and, when ``patients`` (already validated) is given, unknown
    patients, assessments dated before the patient's baseline (``plan_start``) and patients
    with no baseline assessment.

    Returns
    -------
    pandas.DataFrame
        The declared columns with the declared dtypes, in the input's row order.

    Raises
    ------
    ValidationError
        Listing every problem in ``.problems`` (row, patient_id, date, column, value, reason).
    """
    table, problems = _validate(
        assessments, ASSESSMENT_FIELDS, source=source, row_offset=row_offset, evidence=evidence, what="assessments"
    )
    # One hash pass over the ids: codes against the patients table when given (unknown ids
    # numbered after it), else a factorization.
    pid = table["patient_id"]
    pid_codes, uniq = problems.codes["patient_id"]  # -1 for a missing id
    present = pid_codes >= 0
    if patients is not None:
        pidx = np.append(pd.Index(patients["patient_id"]).get_indexer(uniq[:-1]), -1)[pid_codes]
        stray = present & (pidx < 0)
        pid_codes = np.where(stray, len(patients) + pid_codes, pidx).astype(np.int64)
    day = table["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    known = (pid_codes >= 0) & ~np.isnat(table["date"].to_numpy())
    key = pid_codes.astype(np.int64) * 10_000_000 + day
    if known.all() and bool(np.all(key[1:] > key[:-1])):
        dup = np.zeros(len(key), dtype=bool)  # sorted by patient and date (as stores keep them): no hashing
    else:
        dup = pd.Series(key).duplicated(keep="first").to_numpy() & known
    if dup.any():
        problems.add(np.flatnonzero(dup), "date", _iso(table["date"])[dup], "second assessment of this patient on this date")
    done, planned = table["exercise_sessions_done"], table["exercise_sessions_planned"]
    with np.errstate(invalid="ignore"):  # missing (NaN) compares False
        over = done.to_numpy(dtype=float, na_value=np.nan) > planned.to_numpy(dtype=float, na_value=np.nan)
    problems.add(np.flatnonzero(over), "exercise_sessions_done", done.to_numpy(dtype=object)[over], "more sessions done than planned")
    if patients is not None:
        plan_start = np.append(patients["plan_start"].to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
        start = plan_start[pidx]  # -1 (unknown or missing id) picks NaT
        dates = table["date"].to_numpy(dtype="datetime64[ns]")
        unknown = present & (pidx < 0)
        problems.add(np.flatnonzero(unknown), "patient_id", pid.to_numpy(dtype=object)[unknown], "no such patient")
        early = dates < start  # NaT compares False
        if early.any():
            problems.add(
                np.flatnonzero(early), "date", _iso(table["date"])[early],
                "before the patient's baseline (plan_start)",
            )
        has_base = np.zeros(len(patients), dtype=bool)
        has_base[pidx[dates == start]] = True
        lacking = not has_base.all()
        if lacking:
            lacking_rows = patients.index[~has_base]
            frame = problems.table()
            extra = pd.DataFrame(
                {
                    "row": None,
                    "patient_id": patients.loc[lacking_rows, "patient_id"].to_numpy(dtype=object),
                    "date": patients.loc[lacking_rows, "plan_start"].to_numpy(dtype=object),
                    "column": "date",
                    "value": None,
                    "reason": "no baseline assessment on the plan start date",
                }
            )
            found = pd.concat([frame, extra], ignore_index=True) if len(frame) else extra
            _raise(found, source=source, what="assessments")
    if problems.parts:
        _raise(problems.table(), source=source, what="assessments")
    return table


def problems_text(error: PainkitError, limit: int = 20) -> str:
    """Every problem of a :class:`ValidationError`, one per line (at most ``limit``)."""
    problems = getattr(error, "problems", None)
    if problems is None or not len(problems):
        return str(error)
    lines = []
    for p in problems.head(limit).itertuples(index=False):
        date = pd.Timestamp(p.date).date() if pd.notna(p.date) and not isinstance(p.date, str) else p.date
        row = f"row {p.row}" if pd.notna(p.row) else "patient"
        lines.append(f"{row}: patient {p.patient_id!r}, date {date}, column {p.column!r}, value {p.value!r}: {p.reason}")
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return "\n".join(lines)
