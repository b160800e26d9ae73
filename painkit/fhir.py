"""Export a cohort as a FHIR R4 Bundle of Patient and Observation resources.

Resources are built as plain dictionaries and validated by the ``fhir.resources`` library
(its R4B models: Patient, Observation and Bundle are the same in R4 and R4B), so an export
that does not validate is never written.

Codes (see ``/work/shared/REFERENCE.md``, "Codes for exchange"):

* NRS: LOINC 72514-3, pain severity 0-10 verbal numeric rating, ``valueInteger``.
* PEG: LOINC 91147-9 (PEG mean score) as ``valueQuantity``, with the panel LOINC 91148-7 as a
  second coding; the three items are components with text-only codes (their LOINC codes are
  not certain).
* BPI interference score (mean of the answered items, at least 4 of 7): LOINC 77565-0, *to be
  verified*, which the Observation's text says; items as text-only components.
* BPI severity items, six-minute walk distance, red-flag answers, mood flag: text-only codes,
  with a text saying no code was certain.

Notes go into ``Observation.note`` of the NRS observation. Exercise sessions and therapies
are not exported to FHIR (they are in the CSV export).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from .errors import InputError
from .schema import BPI_INTERFERENCE, BPI_SEVERITY, PEG_ITEMS, RED_FLAGS

__all__ = ["LOINC", "fhir_bundle", "write_fhir"]

LOINC = "http://loinc.org"
_ID_SYSTEM = "urn:painkit:patient-id"
_SURVEY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                       "code": "survey", "display": "Survey"}]}
_UNCERTAIN = "No code was certain for this value; exported with a text-only code."


def _resource_id(patient_id: str) -> str:
    """A FHIR id ([A-Za-z0-9-.], at most 64) for a patient id; hashed when it would not fit."""
    if re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", patient_id):
        return patient_id
    return "p-" + hashlib.sha256(patient_id.encode()).hexdigest()[:32]


def _patient(row) -> dict:
    res = {
        "resourceType": "Patient",
        "id": _resource_id(row.patient_id),
        "identifier": [{"system": _ID_SYSTEM, "value": row.patient_id}],
    }
    if isinstance(row.sex, str):
        res["gender"] = row.sex
    if pd.notna(row.birth_year):
        res["birthDate"] = f"{int(row.birth_year):04d}"
    return res


def _text_code(text: str) -> dict:
    return {"text": text}


def _obs(pid, day, code, suffix, **value) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"{pid}-{day.replace('-', '')}-{suffix}"[:64],
        "status": "final",
        "category": [_SURVEY],
        "code": code,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": day,
        **value,
    }


def _observations(row, pid: str) -> list[dict]:
    day = row.date.strftime("%Y-%m-%d")
    out = []
    nrs = _obs(pid, day, {"coding": [{"system": LOINC, "code": "72514-3",
                                      "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}],
                          "text": "Pain intensity (NRS 0-10)"}, "nrs", valueInteger=int(row.nrs))
    if isinstance(row.notes, str) and row.notes:
        nrs["note"] = [{"text": row.notes}]
    out.append(nrs)
    peg = [getattr(row, c) for c in PEG_ITEMS]
    if all(pd.notna(v) for v in peg):
        mean = round(sum(int(v) for v in peg) / 3, 2)
        out.append(_obs(pid, day, {"coding": [{"system": LOINC, "code": "91147-9", "display": "PEG mean score"},
                                              {"system": LOINC, "code": "91148-7", "display": "PEG panel"}],
                                   "text": "PEG-3 mean score (item codes uncertain: items carry text-only codes)"},
                        "peg", valueQuantity={"value": mean, "unit": "{score}"},
                        component=[{"code": _text_code(c), "valueInteger": int(v)} for c, v in zip(PEG_ITEMS, peg)]))
    inter = {c: getattr(row, c) for c in BPI_INTERFERENCE if pd.notna(getattr(row, c))}
    if len(inter) >= 4:
        mean = round(sum(int(v) for v in inter.values()) / len(inter), 2)
        out.append(_obs(pid, day, {"coding": [{"system": LOINC, "code": "77565-0",
                                               "display": "Pain interference score (BPI short form)"}],
                                   "text": "BPI interference score, mean of answered items (LOINC code to verify; "
                                           "item codes uncertain, text-only)"},
                        "bpi-interference", valueQuantity={"value": mean, "unit": "{score}"},
                        component=[{"code": _text_code(c), "valueInteger": int(v)} for c, v in inter.items()]))
    sev = {c: getattr(row, c) for c in BPI_SEVERITY if pd.notna(getattr(row, c))}
    if sev:
        out.append(_obs(pid, day, _text_code(f"BPI pain severity items. {_UNCERTAIN}"), "bpi-severity",
                        component=[{"code": _text_code(c), "valueInteger": int(v)} for c, v in sev.items()]))
    if pd.notna(row.walk_m):
        out.append(_obs(pid, day, _text_code(f"Six-minute walk distance. {_UNCERTAIN}"), "walk",
                        valueQuantity={"value": float(row.walk_m), "unit": "m", "system": "http://unitsofmeasure.org",
                                       "code": "m"}))
    flags = {c: getattr(row, c) for c in [*RED_FLAGS, "mood_flag"] if pd.notna(getattr(row, c))}
    if flags:
        out.append(_obs(pid, day, _text_code(f"Red-flag screen and mood flag answers. {_UNCERTAIN}"), "flags",
                        component=[{"code": _text_code(RED_FLAGS.get(c, "depression or anxiety flagged")),
                                    "valueBoolean": bool(v)} for c, v in flags.items()]))
    return out


def fhir_bundle(patients: pd.DataFrame, assessments: pd.DataFrame, *, validate: bool = True) -> dict:
    """A FHIR R4 ``collection`` Bundle (as a dict) of the cohort's Patients and Observations.

    Raises
    ------
    InputError
        If a resource does not validate (the message names the patient and the problem).

    Examples
    --------
    >>> p = pd.DataFrame({"patient_id": ["P1"], "sex": ["female"], "birth_year": [1970]})
    >>> a = pd.DataFrame({"patient_id": ["P1"], "date": pd.to_datetime(["2024-01-08"]), "nrs": [7]})
    >>> b = fhir_bundle(p, a)
    >>> b["entry"][1]["resource"]["code"]["coding"][0]["code"], b["entry"][1]["resource"]["valueInteger"]
    ('72514-3', 7)
    """
    from .schema import empty_assessments, empty_patients

    patients = pd.concat([empty_patients(), patients], ignore_index=True) if len(patients) else empty_patients()
    assessments = pd.concat([empty_assessments(), assessments], ignore_index=True) if len(assessments) else empty_assessments()
    entries = []
    ids = {}
    for row in patients.itertuples(index=False):
        res = _patient(row)
        ids[row.patient_id] = res["id"]
        entries.append(res)
    for row in assessments.itertuples(index=False):
        if row.patient_id not in ids:
            raise InputError(f"assessment of patient {row.patient_id!r} on {row.date:%Y-%m-%d}: no such patient")
        entries.extend(_observations(row, ids[row.patient_id]))
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": f"urn:painkit:{e['resourceType']}/{e['id']}", "resource": e} for e in entries]}
    if validate:
        from fhir.resources.R4B.bundle import Bundle

        try:
            Bundle.model_validate(bundle)
        except Exception as exc:  # pydantic.ValidationError: name the first failing entry
            raise InputError(f"FHIR export does not validate: {str(exc).splitlines()[0:3]}") from exc
    return bundle


def write_fhir(patients, assessments, path) -> Path:
    """Validate and write the FHIR Bundle as JSON."""
    bundle = fhir_bundle(patients, assessments)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, indent=1))
    return path
