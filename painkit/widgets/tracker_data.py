"""The tracker's per-patient tables, read and computed once per state of the store.

Choosing a patient shows that patient's scored assessments, progress against the expected
band, alerts (red flags first), next re-measure date and plan schedule. Computing them for one
patient costs tens of milliseconds of fixed pandas overhead, whatever the patient's size; for a
whole store of a few hundred patients, painkit's vectorised core takes about the same. So
:class:`PatientTables` computes them for every stored patient in one pass (when the store holds
at most :data:`BULK_LIMIT` assessments), keeps the results and hands out one patient's slice
per choice. Every table is the one the per-patient path gives (tested): the same core
functions on the same rows.

The cache follows the store: :attr:`painkit.store.Store.data_version` changes on any commit,
by another connection (everything is dropped and read again) or through this one. A write made
through :meth:`PatientTables.writing` drops only the patient written to, which is then
computed alone on its next use. ``as_of`` and the combination rule are part of every key.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BULK_LIMIT", "KEEP_OUTPUTS", "LEVEL_ORDER", "PatientOutputs", "PatientTables", "patient_outputs"]

#: Stores with at most this many assessments are scored and tracked as a whole on first use
#: (about 0.1 s per 5,000 assessments here); larger ones one patient at a time.
BULK_LIMIT = 20_000
#: How many patients' outputs, and how many whole-store passes (one per ``as_of`` and rule),
#: are kept; the oldest go first.
KEEP_OUTPUTS = 512
KEEP_BULK = 4
#: Alert levels, most pressing first: red flags (urgent) always lead.
LEVEL_ORDER = ("urgent", "discuss", "review", "advice")


@dataclass(frozen=True)
class PatientOutputs:
    """What the tracker shows for one patient. The tables are the cached ones (pandas copy-on-write
    keeps the cache intact when a caller modifies one).

    Attributes
    ----------
    patient : pandas.DataFrame
        The patient's one-row patients table.
    assessments : pandas.DataFrame
        Assessments by date, scored (:func:`painkit.instruments.score_instruments`).
    progress : pandas.DataFrame
        ``assessments`` joined with :func:`painkit.tracking.track`'s columns on patient and date.
    alerts : pandas.DataFrame
        :func:`painkit.alerts.alerts`, ordered by :data:`LEVEL_ORDER` then newest first.
    due : dict
        The patient's row of :func:`painkit.tracking.next_due` (``{}`` when there is none).
    schedule : pandas.DataFrame
        :func:`painkit.plan.personal_plan` for the patient's plan and start (shared, read-only).
    """

    patient: pd.DataFrame
    assessments: pd.DataFrame
    progress: pd.DataFrame
    alerts: pd.DataFrame
    due: dict
    schedule: pd.DataFrame


#: The date a plan's cached schedule is built from (a Monday; any date gives the same rows).
_EPOCH = pd.Timestamp("2000-01-03")


@functools.lru_cache(maxsize=64)
def _plan_template(plan: str) -> pd.DataFrame:
    from ..plan import personal_plan

    return personal_plan(plan, _EPOCH)


@functools.lru_cache(maxsize=256)
def _schedule(plan: str, start: str) -> pd.DataFrame:
    """:func:`painkit.plan.personal_plan` with the default rules for ``plan`` from ``start``.

    Every row of that schedule sits a whole number of days after the start, so the table for
    one start is the table for another with its dates shifted: built once per plan, shifted per
    start (tested equal to calling ``personal_plan``).
    """
    template = _plan_template(plan)
    return template.assign(date=template["date"] + (pd.Timestamp(start) - _EPOCH))


def _join_tracked(scored: pd.DataFrame, tracked: pd.DataFrame) -> pd.DataFrame:
    """``scored`` with ``tracked``'s other columns alongside, matched on patient and date.

    ``tracked`` holds a subset of ``scored``'s (patient, date) rows, in the same order (the
    assessments up to ``as_of``); rows it lacks get missing values. ``scored``'s columns keep
    their dtypes (a merge would re-type the keys).
    """
    extra = tracked.drop(columns=["patient_id", "date"]).reset_index(drop=True)
    same = (len(scored) == len(tracked)
            and (scored["date"].to_numpy() == tracked["date"].to_numpy()).all()
            and (scored["patient_id"].to_numpy() == tracked["patient_id"].to_numpy()).all())
    if not same:
        def keys(frame):
            return pd.MultiIndex.from_arrays([frame["patient_id"].to_numpy(dtype=object), frame["date"].to_numpy()])

        extra = extra.reindex(keys(tracked).get_indexer(keys(scored))).reset_index(drop=True)
    return pd.concat([scored.reset_index(drop=True), extra], axis=1)


def _progress(scored: pd.DataFrame, tracked: pd.DataFrame) -> pd.DataFrame:
    """The scored assessments with the tracking columns they lack, joined on patient and date."""
    keep = ["patient_id", "date", *(c for c in tracked.columns if c not in scored.columns)]
    return _join_tracked(scored, tracked[keep])


def _assemble(patient: pd.DataFrame, scored: pd.DataFrame, progress: pd.DataFrame, found: pd.DataFrame,
              due: pd.DataFrame) -> PatientOutputs:
    """One patient's outputs from the core's tables restricted to that patient."""
    if len(found) > 1:  # most pressing level first, then newest first; stable otherwise
        rank = {level: i for i, level in enumerate(LEVEL_ORDER)}
        level = np.array([rank.get(v, len(rank)) for v in found["level"].to_numpy(dtype=object)])
        day = found["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        order = np.lexsort((-day, level))
        if (order != np.arange(len(order))).any():
            found = found.take(order).reset_index(drop=True)
    row = patient.iloc[0]
    return PatientOutputs(
        patient=patient,
        assessments=scored,
        progress=progress,
        alerts=found,
        due=due.iloc[0].to_dict() if len(due) else {},
        schedule=_schedule(str(row["plan"]), pd.Timestamp(row["plan_start"]).date().isoformat()),
    )


def patient_outputs(patient: pd.DataFrame, assessments: pd.DataFrame, *, as_of, combine=None) -> PatientOutputs:
    """One patient's outputs computed alone (the reference the cached slices equal).

    Parameters
    ----------
    patient : pandas.DataFrame
        The one-row patients table, as the store returns it (validated).
    assessments : pandas.DataFrame
        That patient's assessments, as the store returns them.
    as_of : pandas.Timestamp
        The date the tables are read at.
    combine : str, optional
        Combination rule of the expected band.
    """
    from ..instruments import score_instruments
    from ..tracking import track_all

    assessments = assessments.sort_values("date", kind="stable").reset_index(drop=True)
    # the store hands out validated tables: no second validation
    scored = score_instruments(assessments, patients=patient, validate=False)
    tracked, found, due = track_all(patient, assessments, as_of=as_of, combine=combine, validate=False)
    return _assemble(patient, scored, _progress(scored, tracked), found, due)


class _Bulk:
    """The core's tables for every patient of one store state, sliced per patient on demand."""

    def __init__(self, patients, assessments, *, as_of, combine):
        from ..instruments import score_instruments
        from ..tracking import track_all

        self.patients = patients
        self.scored = score_instruments(assessments, patients=patients, validate=False)
        tracked, self.found, self.due = track_all(patients, assessments, as_of=as_of, combine=combine,
                                                  validate=False)
        self.progress = _progress(self.scored, tracked)  # one join for everybody
        self._rows = {}
        for name in ("patients", "scored", "progress", "found", "due"):
            table = getattr(self, name)
            self._rows[name] = table.groupby("patient_id", sort=False, observed=True).indices if len(table) else {}

    def _slice(self, name, patient_id):
        table = getattr(self, name)
        rows = self._rows[name].get(patient_id)
        if rows is None:
            return table.iloc[:0].reset_index(drop=True)
        if rows[-1] - rows[0] + 1 == len(rows):  # one patient's rows are contiguous: a cheap slice
            return table.iloc[rows[0]:rows[-1] + 1].reset_index(drop=True)
        return table.iloc[rows].reset_index(drop=True)

    def get(self, patient_id: str) -> PatientOutputs | None:
        patient = self._slice("patients", patient_id)
        if patient.empty:
            return None
        return _assemble(patient, self._slice("scored", patient_id), self._slice("progress", patient_id),
                         self._slice("found", patient_id), self._slice("due", patient_id))


class PatientTables:
    """Patients and per-patient outputs of a store, kept while the store is unchanged.

    Parameters
    ----------
    store : painkit.store.Store
        A store offering ``data_version`` caches; any other object with ``patients()`` and
        ``assessments(patient_id)`` is read on every call.
    bulk_limit : int, optional
        Largest number of stored assessments computed as a whole (default :data:`BULK_LIMIT`).

    Examples
    --------
    >>> import tempfile, os
    >>> from painkit.store import Store
    >>> store = Store(os.path.join(tempfile.mkdtemp(), "t.db"))
    >>> store.add_patient("P1", plan="cbt", plan_start="2026-01-05")
    >>> store.add_update("P1", "2026-01-05", nrs=7)
    >>> tables = PatientTables(store)
    >>> out = tables.outputs("P1", as_of="2026-02-01")
    >>> list(out.progress["category"]), out.due["next_due"].date().isoformat()
    (['no change'], '2026-02-02')
    >>> with tables.writing("P1"):
    ...     store.add_update("P1", "2026-01-30", nrs=5)
    >>> list(tables.outputs("P1", as_of="2026-02-01").progress["category"])
    ['no change', 'minimal']
    """

    def __init__(self, store, *, bulk_limit: int = BULK_LIMIT):
        self.store = store
        self.bulk_limit = bulk_limit
        self._token = None
        self._patients = None
        self._positions = None     # (patients table, patient id -> row)
        self._outputs: OrderedDict = OrderedDict()  # (patient_id, as_of, combine) -> PatientOutputs
        self._bulk: OrderedDict = OrderedDict()     # (as_of, combine) -> _Bulk, or None when too large
        self._stale: set = set()   # patients written to since the bulk tables were computed

    # ------------------------------------------------------------------ state of the store
    def _version(self):
        return getattr(self.store, "data_version", None)

    def clear(self) -> None:
        """Forget everything read or computed."""
        self._token, self._patients = None, None
        self._outputs.clear()
        self._bulk.clear()
        self._stale.clear()

    def _sync(self) -> None:
        version = self._version()
        if version is None or version != self._token:
            self.clear()
            self._token = version

    @contextmanager
    def writing(self, patient_id: str, *, patients_changed: bool = False):
        """Wrap a write through this store's connection that touches ``patient_id`` only.

        When nothing else changed the store since the last read, everything cached stays valid
        except that patient's outputs (and the patients table when ``patients_changed``);
        otherwise everything is dropped.
        """
        self._sync()
        before = self._token
        try:
            yield
        finally:
            after = self._version()
            if before is not None and after is not None and after[0] == before[0]:
                self._token = after  # only this connection committed in between
                for key in [k for k in self._outputs if k[0] == patient_id]:
                    del self._outputs[key]
                self._stale.add(patient_id)
                if patients_changed:
                    self._patients = None
            else:
                self.clear()

    # ------------------------------------------------------------------ reads
    def patients(self) -> pd.DataFrame:
        """The stored patients table (re-read only when the store changed)."""
        self._sync()
        if self._patients is None:
            self._patients = self.store.patients()
        return self._patients

    def patient(self, patient_id: str) -> pd.DataFrame:
        """One patient's row as a one-row table; the store's StoreError when unknown."""
        patients = self.patients()
        if self._positions is None or self._positions[0] is not patients:
            self._positions = (patients, {p: i for i, p in enumerate(patients["patient_id"].tolist())})
        at = self._positions[1].get(patient_id)
        if at is None:  # let the store say it, in its words
            return self.store.patients(patient_id).reset_index(drop=True)
        return patients.iloc[at:at + 1].reset_index(drop=True)

    def outputs(self, patient_id: str, *, as_of, combine=None, bulk: bool = True) -> PatientOutputs:
        """One patient's :class:`PatientOutputs` at ``as_of`` under ``combine``.

        With ``bulk`` (the default) a first call for this ``as_of`` and rule computes every
        stored patient at once when the store is small enough; ``bulk=False`` computes only
        this patient when it is not cached (for a change that concerns one patient).
        """
        self._sync()
        as_of = pd.Timestamp(as_of)
        key = (patient_id, as_of, combine)
        cached = self._outputs.get(key)
        if cached is not None:
            self._outputs.move_to_end(key)
            return cached
        out = None
        if patient_id not in self._stale and self._version() is not None:
            table = self._bulk.get((as_of, combine), False)
            if table is False and bulk:
                table = self._keep(self._bulk, (as_of, combine), self._compute_bulk(as_of, combine), KEEP_BULK)
            if table:
                out = table.get(patient_id)
        if out is None:
            patient = self.patient(patient_id)
            out = patient_outputs(patient, self.store.assessments(patient_id), as_of=as_of, combine=combine)
        if self._version() is not None:
            self._keep(self._outputs, key, out, KEEP_OUTPUTS)
        return out

    def prefetch(self, *, as_of, combine=None) -> bool:
        """Compute every patient's outputs at ``as_of`` under ``combine`` now, when the store
        holds at most :attr:`bulk_limit` assessments; returns whether they were."""
        self._sync()
        if self._version() is None:
            return False
        key = (pd.Timestamp(as_of), combine)
        if key not in self._bulk:
            self._keep(self._bulk, key, self._compute_bulk(*key), KEEP_BULK)
        return self._bulk[key] is not None

    @staticmethod
    def _keep(cache: OrderedDict, key, value, limit: int):
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)
        return value

    def _compute_bulk(self, as_of, combine):
        """The whole-store pass, or None (too large, or it failed: then each patient is computed
        alone, so one bad patient or a locked store fails only the patient asked for)."""
        counts = getattr(self.store, "counts", None)
        try:
            if counts is None or counts()["assessments"] > self.bulk_limit:
                return None
            patients, assessments = self.store.load_cohort()
            bulk = _Bulk(patients, assessments, as_of=as_of, combine=combine)
        except Exception:  # noqa: BLE001 - an optimisation only: the per-patient path reports it
            return None
        self._patients = patients
        return bulk
