"""Clinical instruments: scoring rules, each with its source, and a registry.

Every instrument is one function over a table (the assessments of :mod:`painkit.schema`, with
the patient's sex, age, height and weight joined in where an instrument needs them) that
returns its score columns, registered with one line::

    @register_instrument("peg", columns=("peg_score",), source="Krebs et al. 2009")
    def peg(data, *, rules): ...

:func:`score_instruments` runs every registered instrument over a whole table at once
(vectorised). The rules and their sources:

NRS
    0-10 Numeric Rating Scale, whole numbers only (the article; IMMPACT).
BPI short form (Cleeland)
    Severity = mean of worst, least, average and now, scored when at least
    ``bpi_severity_min_items`` (default 3) of the 4 are answered. *This missing-item rule is an
    assumption*: no rule was found in the sources checked; change it in
    ``data/evidence/tracking_rules.csv`` or pass ``rules``. Interference = mean of the answered
    items of the seven, scored only when at least 4 are answered (BPI user guide; ePPOC).
ePPOC severity bands
    0-4 mild, 5-6 moderate, 7-10 severe, applied to the severity mean as: mild below 5,
    moderate from 5 to below 7, severe from 7 (means between two integer bands go to the lower).
PEG-3 (Krebs et al., J Gen Intern Med 2009;24:733-738)
    Mean of its three items, scored when at least ``peg_min_items`` (default 3, i.e. all) are
    answered; the missing-item rule is an assumption.
Six-minute walk (Enright & Sherrill, Am J Respir Crit Care Med 1998;158:1384)
    Men: 7.57 x height(cm) - 5.02 x age - 1.76 x weight(kg) - 309 m; women: 2.11 x height(cm)
    - 2.29 x weight(kg) - 5.78 x age + 667 m. Lower limit of normal: predicted - 153 m (men),
    - 139 m (women) (seen in secondary sources only). Derived in healthy adults aged 40-80: a
    note says so outside that range. Age is the calendar year of the assessment minus the
    birth year (the tables hold no birth date).

The BPI is copyrighted: painkit scores recorded answers; it does not reproduce the questionnaire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .errors import InputError
from .schema import BPI_INTERFERENCE, BPI_SEVERITY, PEG_ITEMS

__all__ = [
    "Instrument",
    "INSTRUMENTS",
    "register_instrument",
    "score_instruments",
    "nrs_score",
    "bpi_severity",
    "bpi_interference",
    "severity_band",
    "peg_score",
    "six_minute_walk",
    "SEVERITY_BANDS",
]

SEVERITY_BANDS = ("mild", "moderate", "severe")


@dataclass(frozen=True)
class Instrument:
    """A registered instrument: its scoring function and what it produces.

    Attributes
    ----------
    name : str
        Registry key.
    func : callable
        ``func(data, *, rules) -> DataFrame`` with exactly ``columns``, same index as ``data``.
    columns : tuple of str
        The columns it adds.
    source : str
        Where its scoring rule comes from.
    needs_patient : bool
        Whether it needs ``sex``, ``age``, ``height_cm`` and ``weight_kg`` joined in.
    """

    name: str
    func: Callable
    columns: tuple
    source: str
    needs_patient: bool = False


class InstrumentRegistry(dict):
    """Name -> :class:`Instrument`, in registration order."""

    def register(self, name: str, *, columns, source: str, needs_patient: bool = False):
        """Decorator registering ``func`` under ``name`` (replacing any earlier one)."""

        def wrap(func):
            self[name] = Instrument(name, func, tuple(columns), source, needs_patient)
            return func

        return wrap


#: Every registered instrument; :func:`score_instruments` runs them in this order.
INSTRUMENTS = InstrumentRegistry()
register_instrument = INSTRUMENTS.register


def _rules(rules):
    from .rules import load_tracking_rules

    return rules if rules is not None else load_tracking_rules()


def _floats(data: pd.DataFrame, col: str) -> np.ndarray:
    """One column as floats, NaN for missing or not a number (NaN throughout when absent)."""
    if col not in data:
        return np.full(len(data), np.nan)
    values = data[col]
    if not pd.api.types.is_numeric_dtype(values.dtype):  # numbers as they came, e.g. text
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _items(data: pd.DataFrame, columns) -> np.ndarray:
    """The item columns as a float matrix (NaN for unanswered); missing columns are unanswered."""
    out = np.empty((len(data), len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = _floats(data, col)
    return out


def _mean_if(items: np.ndarray, min_items: float) -> np.ndarray:
    answered = (~np.isnan(items)).sum(axis=1)
    total = np.nansum(items, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / answered
    return np.where(answered >= min_items, mean, np.nan)


def nrs_score(value) -> int:
    """Check one NRS answer: a whole number from 0 to 10.

    >>> nrs_score(7)
    7
    >>> nrs_score(7.5)
    Traceback (most recent call last):
    ...
    painkit.errors.InputError: NRS 7.5 is not a whole number from 0 to 10
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"NRS {value!r} is not a whole number from 0 to 10") from None
    if isinstance(value, bool) or not (0 <= number <= 10) or number != int(number):
        raise InputError(f"NRS {value!r} is not a whole number from 0 to 10")
    return int(number)


@register_instrument("bpi", columns=("bpi_severity", "bpi_interference", "bpi_severity_band"),
                     source="BPI short form (Cleeland; BPI user guide); ePPOC severity bands")
def _bpi(data: pd.DataFrame, *, rules) -> pd.DataFrame:
    severity = _mean_if(_items(data, BPI_SEVERITY), rules.bpi_severity_min_items)
    interference = _mean_if(_items(data, BPI_INTERFERENCE), rules.bpi_interference_min_items)
    return pd.DataFrame(
        {
            "bpi_severity": severity,
            "bpi_interference": interference,
            "bpi_severity_band": severity_band(severity, rules=rules),
        },
        index=data.index,
    )


@register_instrument("peg", columns=("peg_score",), source="Krebs et al., J Gen Intern Med 2009;24:733-738")
def _peg(data: pd.DataFrame, *, rules) -> pd.DataFrame:
    return pd.DataFrame({"peg_score": _mean_if(_items(data, PEG_ITEMS), rules.peg_min_items)}, index=data.index)


@register_instrument(
    "six_minute_walk",
    columns=("walk_predicted_m", "walk_lln_m", "walk_pct_predicted", "walk_note"),
    source="Enright & Sherrill, Am J Respir Crit Care Med 1998;158:1384",
    needs_patient=True,
)
def _walk(data: pd.DataFrame, *, rules) -> pd.DataFrame:
    n = len(data)
    sex = data["sex"].astype("string").to_numpy(dtype=object, na_value=None) if "sex" in data else np.full(n, None)
    num = {c: _floats(data, c) for c in ("age", "height_cm", "weight_kg", "walk_m")}
    age, height, weight, walk = num["age"], num["height_cm"], num["weight_kg"], num["walk_m"]
    male, female = sex == "male", sex == "female"
    predicted = np.where(
        male, 7.57 * height - 5.02 * age - 1.76 * weight - 309,
        np.where(female, 2.11 * height - 2.29 * weight - 5.78 * age + 667, np.nan),
    )
    lln = predicted - np.where(male, rules.walk_lln_men_m, rules.walk_lln_women_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(predicted > 0, 100 * walk / predicted, np.nan)
    note = np.full(n, "", dtype=object)
    inputs_missing = ~(male | female) | np.isnan(age) | np.isnan(height) | np.isnan(weight)
    note[inputs_missing] = "no prediction: sex, age, height or weight missing"
    outside = ~inputs_missing & ((age < rules.walk_age_min) | (age > rules.walk_age_max))
    if outside.any():
        ages = pd.Series(age[outside]).map(lambda a: f"{a:g}")
        note[outside] = (
            "age " + ages + f" is outside {rules.walk_age_min:g}-{rules.walk_age_max:g}, the ages the "
            "Enright-Sherrill equations were derived in: interpret with caution"
        ).to_numpy(dtype=object)
    return pd.DataFrame(
        {"walk_predicted_m": predicted, "walk_lln_m": lln, "walk_pct_predicted": pct,
         "walk_note": pd.array(note, dtype="string")},
        index=data.index,
    )


def severity_band(severity, *, rules=None) -> pd.Categorical:
    """ePPOC band of BPI severity scores: mild (<5), moderate (5 to <7), severe (>=7).

    >>> list(severity_band([0, 4, 4.75, 5, 6.5, 7, 10, float("nan")]))
    ['mild', 'mild', 'mild', 'moderate', 'moderate', 'severe', 'severe', nan]
    """
    rules = _rules(rules)
    s = np.asarray(severity, dtype=float)
    codes = np.where(np.isnan(s), -1, (s >= rules.eppoc_moderate_min).astype(int) + (s >= rules.eppoc_severe_min))
    return pd.Categorical.from_codes(codes, categories=list(SEVERITY_BANDS), ordered=True)


def _one(name: str, values: dict, rules) -> dict:
    frame = pd.DataFrame({k: [v] for k, v in values.items()})
    for col, value in values.items():
        if col in (*BPI_SEVERITY, *BPI_INTERFERENCE, *PEG_ITEMS) and value is not None and not pd.isna(value):
            number = float(value)
            if not (0 <= number <= 10) or number != int(number):
                raise InputError(f"{col} {value!r} is not a whole number from 0 to 10")
    return INSTRUMENTS[name].func(frame, rules=_rules(rules)).iloc[0].to_dict()


def bpi_severity(worst=None, least=None, average=None, now=None, *, rules=None) -> float:
    """BPI severity: mean of the answered items, NaN with fewer than ``bpi_severity_min_items``.

    >>> bpi_severity(8, 4, 6, 5)
    5.75
    >>> bpi_severity(8, None, 6, 4)   # 3 of 4 answered: scored under the default rule
    6.0
    >>> bpi_severity(8, None, None, 4)
    nan
    """
    values = dict(zip(BPI_SEVERITY, (worst, least, average, now)))
    return float(_one("bpi", values, rules)["bpi_severity"])


def bpi_interference(*items, rules=None) -> float:
    """BPI interference: mean of the answered items of the seven, NaN with fewer than 4.

    >>> bpi_interference(6, 5, 7, None, None, 4, None)
    5.5
    >>> bpi_interference(6, 5, 7)
    nan
    """
    if len(items) > 7:
        raise InputError(f"BPI interference has 7 items, not {len(items)}")
    values = dict(zip(BPI_INTERFERENCE, items))
    return float(_one("bpi", values, rules)["bpi_interference"])


def peg_score(pain=None, enjoyment=None, activity=None, *, rules=None) -> float:
    """PEG-3: mean of average pain, interference with enjoyment and with general activity.

    >>> peg_score(7, 6, 5)
    6.0
    >>> peg_score(7, None, 5)     # all three required by default (an assumption)
    nan
    """
    return float(_one("peg", dict(zip(PEG_ITEMS, (pain, enjoyment, activity))), rules)["peg_score"])


def six_minute_walk(distance_m, *, sex, age, height_cm, weight_kg, rules=None) -> dict:
    """Predicted distance, lower limit of normal and percent predicted (Enright & Sherrill 1998).

    Returns a dict with ``walk_predicted_m``, ``walk_lln_m``, ``walk_pct_predicted`` and
    ``walk_note`` (empty unless the age is outside 40-80 or an input is missing).

    >>> r = six_minute_walk(480, sex="male", age=60, height_cm=175, weight_kg=80)
    >>> round(r["walk_predicted_m"], 2), round(r["walk_lln_m"], 2), round(r["walk_pct_predicted"], 1)
    (573.75, 420.75, 83.7)
    >>> r = six_minute_walk(400, sex="female", age=35, height_cm=165, weight_kg=60)
    >>> round(r["walk_predicted_m"], 2), r["walk_note"][:30]
    (675.45, 'age 35 is outside 40-80, the a')
    """
    if sex not in ("male", "female"):
        raise InputError(f"sex {sex!r} is not allowed; allowed: female, male")
    frame = pd.DataFrame({"sex": [sex], "age": [age], "height_cm": [height_cm], "weight_kg": [weight_kg],
                          "walk_m": [distance_m]})
    out = INSTRUMENTS["six_minute_walk"].func(frame, rules=_rules(rules)).iloc[0].to_dict()
    out["walk_note"] = str(out["walk_note"])
    return {k: (float(v) if k != "walk_note" else v) for k, v in out.items()}


def _with_patient(table: pd.DataFrame, patients: pd.DataFrame | None) -> pd.DataFrame:
    """Join sex, height, weight and age (year of the assessment minus birth year)."""
    n = len(table)
    if patients is None:
        return table.assign(sex=pd.array([pd.NA] * n, dtype="string"), age=np.nan, height_cm=np.nan, weight_kg=np.nan)
    codes = pd.Index(patients["patient_id"]).get_indexer(table["patient_id"])
    def take(col, dtype):
        values = patients[col].to_numpy(dtype=dtype, na_value=np.nan if dtype is float else None)
        values = np.append(values, np.nan if dtype is float else None)
        return values[codes]
    year = table["date"].dt.year.to_numpy(dtype=float, na_value=np.nan)
    return table.assign(
        sex=pd.array(take("sex", object), dtype="string"),
        age=year - take("birth_year", float),
        height_cm=take("height_cm", float),
        weight_kg=take("weight_kg", float),
    )


def score_instruments(assessments: pd.DataFrame, *, patients: pd.DataFrame | None = None, rules=None,
                      validate: bool = True) -> pd.DataFrame:
    """Score every registered instrument for every assessment (vectorised).

    Parameters
    ----------
    assessments : pandas.DataFrame
        An assessments table (:data:`painkit.schema.ASSESSMENT_FIELDS`).
    patients : pandas.DataFrame, optional
        The patients table; without it the six-minute walk has no prediction.
    rules : TrackingRules, optional
        Missing-item rules, bands and walk limits; default from ``tracking_rules.csv``.
    validate : bool, default True
        Validate (and coerce) both tables with :mod:`painkit.schema` first.

    Returns
    -------
    pandas.DataFrame
        The (validated) assessments, same rows and order, followed by ``bpi_severity``,
        ``bpi_interference``, ``bpi_severity_band``, ``peg_score``, ``walk_predicted_m``,
        ``walk_lln_m``, ``walk_pct_predicted`` and ``walk_note`` (and the columns of any
        instrument registered later).

    Raises
    ------
    ValidationError
        An item out of range or not whole, naming patient, date, field and value.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"patient_id": ["p1"], "date": ["2026-01-05"], "nrs": [6], "bpi_worst": [8],
    ...                   "bpi_least": [4], "bpi_average": [6], "bpi_now": [5], "walk_m": [480]})
    >>> p = pd.DataFrame({"patient_id": ["p1"], "sex": ["male"], "birth_year": [1966], "height_cm": [175],
    ...                   "weight_kg": [80], "plan": ["pt"], "plan_start": ["2026-01-05"]})
    >>> s = score_instruments(a, patients=p)
    >>> s[["bpi_severity", "bpi_severity_band", "walk_predicted_m"]].round(2)
       bpi_severity bpi_severity_band  walk_predicted_m
    0          5.75          moderate            573.75
    """
    from .schema import validate_assessments, validate_patients

    rules = _rules(rules)
    if validate:
        if patients is not None:
            patients = validate_patients(patients)
        assessments = validate_assessments(assessments)
    data = assessments
    joined = None
    parts = []
    for inst in INSTRUMENTS.values():
        source = data
        if inst.needs_patient:
            joined = joined if joined is not None else _with_patient(data, patients)
            source = joined
        result = inst.func(source, rules=rules)
        columns = list(inst.columns)
        parts.append(result if list(result.columns) == columns else result[columns])
    return pd.concat([data, *parts], axis=1)
