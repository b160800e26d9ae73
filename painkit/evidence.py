"""The evidence base: the article's numbers, each with its source, loaded through a schema.

Four tables live under ``data/evidence/`` (see its README):

``treatments.csv``
    The article's treatment comparison table, one row per modality.
``arms.csv``
    Every plan element the estimator can use (an *arm*): its benefit range at its reference
    time, time course, aliases and source. Arms refine the table (MBSR 8 or 24 weeks,
    education paired with exercise, the two kinds of medication).
``claims.csv``
    Every other quantitative claim the article makes (time course, plan timings, ...).
``assumptions.csv``
    The named modelling assumptions and their default values (see :class:`Assumptions`).

Each table is checked by a declared pandera schema when loaded; a malformed table raises
:class:`~painkit.errors.EvidenceError` naming the file, row, column and value.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import EmptyPlanError, EvidenceError, UnknownModalityError

__all__ = [
    "EVIDENCE_DIR",
    "Assumptions",
    "Evidence",
    "load_evidence",
    "parse_plan",
    "plan_label",
]

EVIDENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "evidence"
LEVELS = ["high", "moderate-high", "moderate", "meta-analysis", "pilot", "guideline"]
TIME_COURSES = ["build", "build_wane", "none"]
COMBINATION_RULES = ("best", "independent", "damped")
TABLES = ("treatments", "arms", "claims", "assumptions")
PLAN_SEPARATOR = "+"


def _schemas():
    # pandera takes about a second to import: only pay for it when evidence is loaded.
    import pandera.pandas as pa

    text = pa.Column(str, pa.Check.str_length(min_value=1))
    opt_text = pa.Column(str, nullable=True)
    pct = pa.Column(float, pa.Check.in_range(0, 100), coerce=True)
    ident = pa.Column(str, pa.Check.str_matches(r"^[a-z][a-z0-9_]*$"), unique=True)
    return {
        "treatments": pa.DataFrameSchema(
            {
                "modality": ident,
                "label": text,
                "mechanism": text,
                "benefit_low_pct": pct,
                "benefit_high_pct": pct,
                "benefit_note": opt_text,
                "evidence_level": pa.Column(str, pa.Check.isin(LEVELS)),
                "evidence_basis": opt_text,
                "source": text,
                "quote": text,
            },
            checks=pa.Check(
                lambda d: d["benefit_low_pct"] <= d["benefit_high_pct"],
                error="benefit_low_pct must not exceed benefit_high_pct",
            ),
            strict=True,
        ),
        "arms": pa.DataFrameSchema(
            {
                "arm": ident,
                "label": text,
                "modality": opt_text,
                "kind": text,
                "low_pct": pct,
                "high_pct": pct,
                "reference_weeks": pa.Column(float, pa.Check.in_range(1, 520), coerce=True),
                "time_course": pa.Column(str, pa.Check.isin(TIME_COURSES)),
                "evidence_level": pa.Column(str, pa.Check.isin(LEVELS)),
                "aliases": opt_text,
                "source": text,
                "quote": text,
                "assumptions": opt_text,
            },
            checks=pa.Check(
                lambda d: d["low_pct"] <= d["high_pct"], error="low_pct must not exceed high_pct"
            ),
            strict=True,
        ),
        "claims": pa.DataFrameSchema(
            {
                "claim": ident,
                "topic": text,
                "value": pa.Column(float, coerce=True),
                "value_high": pa.Column(float, nullable=True, coerce=True),
                "unit": text,
                "statement": text,
                "source": text,
            },
            strict=True,
        ),
        "assumptions": pa.DataFrameSchema(
            {
                "name": ident,
                "value": text,
                "unit": text,
                "description": text,
                "rationale": text,
            },
            strict=True,
        ),
    }


def _read_table(path: Path, schema) -> pd.DataFrame:
    import pandera.pandas as pa

    if not path.is_file():
        raise EvidenceError(f"{path}: evidence table not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: cannot be read as CSV ({exc})") from None
    missing = [c for c in schema.columns if c not in raw.columns]
    extra = [c for c in raw.columns if c not in schema.columns]
    if missing or extra:
        parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
        parts += [f"unexpected column(s) {', '.join(extra)}"] if extra else []
        raise EvidenceError(
            f"{path}: {'; '.join(parts)} (expected: {', '.join(schema.columns)})"
        )
    try:
        return schema.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise EvidenceError(_describe_failures(path, raw, exc.failure_cases)) from None


def _describe_failures(path: Path, raw: pd.DataFrame, cases: pd.DataFrame) -> str:
    messages = []
    for case in cases.itertuples(index=False):
        index = case.index
        row = f"row {int(index) + 2}" if pd.notna(index) else "table"
        column = case.column if isinstance(case.column, str) and case.column in raw else None
        value = raw.at[int(index), column] if column and pd.notna(index) else case.failure_case
        check = str(case.check)
        if check.startswith("coerce_dtype"):
            check = "not a number"
        where = f"{row}, column {column!r}" if column else row
        messages.append(f"{where}: value {value!r} fails {check}")
    more = f" (and {len(messages) - 5} more)" if len(messages) > 5 else ""
    return f"{path}: " + "; ".join(messages[:5]) + more


@dataclass(frozen=True)
class Assumptions:
    """The named modelling assumptions, with defaults from ``data/evidence/assumptions.csv``.

    Every field is documented, with its rationale, in that file. Make a variant with
    :func:`dataclasses.replace` or :meth:`with_`, e.g. ``assumptions.with_(combination_rule="independent")``.

    Attributes
    ----------
    combination_rule : {'best', 'independent', 'damped'}
        How the benefits of several arms in one plan combine.
    damped_weight : float
        Share of the extra benefit of 'independent' over 'best' that 'damped' keeps.
    individual_sd_pct : float
        Between-patient SD of the percent reduction (normal model of individual response).
    shared_time_course : float
        Reference time divided by the time constant of the build-up curve.
    gabapentinoid_waning_halflife_weeks : float
        Half-life of a gabapentinoid's benefit after it starts to wane.
    mbsr24_high_pct, pne_reference_weeks, vr_sessions_per_week, opioid_reversal_effect_pct
        Values that fill gaps in the article's figures for single arms.
    """

    combination_rule: str = "best"
    damped_weight: float = 0.5
    individual_sd_pct: float = 39.5
    shared_time_course: float = 3.0
    gabapentinoid_waning_halflife_weeks: float = 26.0
    mbsr_table_is_8wk: float = 1.0
    mbsr24_high_pct: float = 55.0
    pne_reference_weeks: float = 26.0
    vr_sessions_per_week: float = 1.0
    opioid_reversal_effect_pct: float = 0.0

    def __post_init__(self):
        if self.combination_rule not in COMBINATION_RULES:
            from .errors import InputError

            raise InputError(
                f"unknown combination rule {self.combination_rule!r}; "
                f"allowed: {', '.join(COMBINATION_RULES)}"
            )

    def with_(self, **changes) -> "Assumptions":
        """A copy with some assumptions changed."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_table(cls, table: pd.DataFrame, path: Path | str = "assumptions.csv") -> "Assumptions":
        values = {}
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        for row in table.itertuples(index=False):
            if row.name not in fields:
                raise EvidenceError(f"{path}: unknown assumption {row.name!r}")
            if row.name == "combination_rule":
                values[row.name] = row.value
            else:
                try:
                    values[row.name] = float(row.value)
                except ValueError:
                    raise EvidenceError(
                        f"{path}: assumption {row.name!r} has value {row.value!r}, not a number"
                    ) from None
        missing = set(fields) - set(values)
        if missing:
            raise EvidenceError(f"{path}: missing assumption(s) {', '.join(sorted(missing))}")
        return cls(**values)


@dataclass(frozen=True, eq=False)
class Evidence:
    """The loaded, validated evidence base.

    Attributes
    ----------
    treatments, arms, claims, assumption_table : pandas.DataFrame
        The four tables, as validated.
    assumptions : Assumptions
        The default assumptions.
    directory : pathlib.Path
        Where the tables were read from.
    """

    treatments: pd.DataFrame
    arms: pd.DataFrame
    claims: pd.DataFrame
    assumption_table: pd.DataFrame
    assumptions: Assumptions
    directory: Path

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        names = {}
        for row in self.arms.itertuples(index=False):
            names[row.arm] = row.arm
            for alias in (row.aliases or "").split("|") if isinstance(row.aliases, str) else []:
                if alias:
                    names[alias] = row.arm
        return names

    @functools.cached_property
    def arm_info(self) -> dict[str, dict]:
        """Per arm id, its row as a dict, plus ``assumption_names`` (a list)."""
        info = {}
        for row in self.arms.to_dict(orient="records"):
            raw = row["assumptions"] if isinstance(row["assumptions"], str) else ""
            row["assumption_names"] = [n for n in raw.split("|") if n]
            info[row["arm"]] = row
        return info

    @functools.cached_property
    def assumption_descriptions(self) -> dict[str, str]:
        return dict(zip(self.assumption_table["name"], self.assumption_table["description"]))

    @property
    def arm_ids(self) -> list[str]:
        return list(self.arms["arm"])

    def claim(self, name: str) -> float:
        """The value of one claim from ``claims.csv``."""
        hit = self.claims.loc[self.claims["claim"] == name, "value"]
        if hit.empty:
            raise EvidenceError(f"{self.directory / 'claims.csv'}: no claim named {name!r}")
        return float(hit.iloc[0])

    def resolve(self, name: str) -> str:
        """The arm id for a name or alias (case and spaces ignored).

        Raises
        ------
        UnknownModalityError
            With the nearest known names as suggestions.
        """
        key = str(name).strip().lower().replace(" ", "_").replace("-", "_")
        if key in self._names:
            return self._names[key]
        close = difflib.get_close_matches(key, list(self._names), n=3, cutoff=0.5)
        suggestions = list(dict.fromkeys(close))
        raise UnknownModalityError(str(name), suggestions, self.arm_ids)

    def label(self, arm: str) -> str:
        return str(self.arm_info[arm]["label"])


@functools.lru_cache(maxsize=8)
def _load(directory: str, stamp: tuple) -> Evidence:
    path = Path(directory)
    schemas = _schemas()
    tables = {name: _read_table(path / f"{name}.csv", schema) for name, schema in schemas.items()}
    unknown = set(tables["arms"]["modality"].dropna()) - set(tables["treatments"]["modality"])
    if unknown:
        row = tables["arms"].index[tables["arms"]["modality"].isin(unknown)][0]
        raise EvidenceError(
            f"{path / 'arms.csv'}: row {row + 2}, column 'modality': value "
            f"{tables['arms'].at[row, 'modality']!r} is not a modality of treatments.csv"
        )
    assumptions = Assumptions.from_table(tables["assumptions"], path / "assumptions.csv")
    return Evidence(
        treatments=tables["treatments"],
        arms=tables["arms"],
        claims=tables["claims"],
        assumption_table=tables["assumptions"],
        assumptions=assumptions,
        directory=path,
    )


def load_evidence(directory: str | os.PathLike | None = None) -> Evidence:
    """Load and validate the evidence base (cached until a file changes).

    Parameters
    ----------
    directory : path, optional
        A folder with the four tables; default ``data/evidence`` (or ``$PAINKIT_EVIDENCE``).

    Returns
    -------
    Evidence

    Raises
    ------
    EvidenceError
        If a table is missing or breaks its schema; the message names file, row and column.

    Examples
    --------
    >>> from painkit import load_evidence
    >>> ev = load_evidence()
    >>> ev.treatments.loc[ev.treatments.modality == "cbt", ["benefit_low_pct", "benefit_high_pct"]].values.tolist()
    [[30.0, 50.0]]
    >>> ev.resolve("duloxetine")
    'antidepressant'
    """
    directory = Path(directory or os.environ.get("PAINKIT_EVIDENCE") or EVIDENCE_DIR).resolve()
    stamp = []
    for name in TABLES:
        try:
            st = os.stat(directory / f"{name}.csv")
            stamp.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamp.append(None)
    stamp = tuple(stamp)
    return _load(str(directory), stamp)


def parse_plan(plan, evidence: Evidence | None = None) -> tuple[str, ...]:
    """Canonical form of a plan: sorted, unique arm ids.

    Parameters
    ----------
    plan : str or iterable of str
        Arm ids or aliases, as a list or joined by ``+`` (``"cbt+pt"``) or commas.

    Raises
    ------
    EmptyPlanError, UnknownModalityError

    Examples
    --------
    >>> parse_plan("PT + duloxetine")
    ('antidepressant', 'pt')
    """
    evidence = evidence or load_evidence()
    if plan is None or (isinstance(plan, float) and plan != plan):
        raise EmptyPlanError("the plan is empty: name at least one treatment")
    if isinstance(plan, str):
        names = plan.replace(",", PLAN_SEPARATOR).split(PLAN_SEPARATOR)
    else:
        names = list(plan)
    names = [str(n).strip() for n in names if str(n).strip()]
    if not names:
        raise EmptyPlanError(
            f"the plan is empty: name at least one treatment (known: {', '.join(evidence.arm_ids)})"
        )
    return tuple(sorted({evidence.resolve(n) for n in names}))


def plan_label(plan: tuple[str, ...] | str) -> str:
    """The ``+``-joined string form of a canonical plan."""
    return plan if isinstance(plan, str) else PLAN_SEPARATOR.join(plan)
