"""Store commands: ``painkit patient``, ``update``, ``history``, ``import``, ``export``,
``sample`` and ``load-sample``. Every one takes ``--db PATH`` (default ``$PAINKIT_DB`` or
``data/painkit.db``)."""

from __future__ import annotations

import sys

from ..schema import ASSESSMENT_FIELDS, PATIENT_FIELDS, RED_FLAGS
from . import command, to_json
from ._common import add_db_option, add_source_options, load_source, open_store

_FLAGS = {name.removeprefix("rf_"): name for name in RED_FLAGS}


def _opt(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_options(parser, fields, skip=()) -> None:
    for f in fields:
        if f.name in skip:
            continue
        hint = "yes/no" if f.kind == "bool" else ("YYYY-MM-DD" if f.kind == "date" else None)
        parser.add_argument(_opt(f.name), dest=f.name, metavar=hint or f.name.upper(), help=f.description)


def _given(args, fields, skip=()) -> dict:
    return {f.name: getattr(args, f.name) for f in fields if f.name not in skip and getattr(args, f.name, None) is not None}


def _print_table(frame, as_json: bool) -> None:
    if as_json:
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        print(to_json(records))
        return
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 40):
        print(frame.to_string(index=False) if len(frame) else "(none)")


# ---------------------------------------------------------------------------- patient
def _patient_options(parser) -> None:
    subs = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = subs.add_parser("add", help="add a patient")
    add.add_argument("patient_id", metavar="PATIENT")
    _field_options(add, PATIENT_FIELDS, skip=("patient_id",))
    edit = subs.add_parser("edit", help="change a patient's fields (old values kept in the history)")
    edit.add_argument("patient_id", metavar="PATIENT")
    _field_options(edit, PATIENT_FIELDS, skip=("patient_id",))
    edit.add_argument("--reason", help="why (kept in the history)")
    lst = subs.add_parser("list", help="list the patients")
    lst.add_argument("--json", action="store_true", help="print JSON")
    for sub in (add, edit, lst):
        add_db_option(sub)


@command("patient", help="Add, edit or list patients in the store.")
def patient_command(args) -> int:
    store = open_store(args)
    if args.action == "list":
        _print_table(store.patients(), args.json)
        return 0
    fields = _given(args, PATIENT_FIELDS, skip=("patient_id",))
    if args.action == "add":
        from ..errors import InputError

        missing = [_opt(n) for n in ("plan", "plan_start") if n not in fields]
        if missing:
            raise InputError(f"patient add: {' and '.join(missing)} required")
        store.add_patient(args.patient_id, **fields)
        print(f"added patient {args.patient_id} to {store.path}")
    else:
        store.edit_patient(args.patient_id, reason=args.reason, **fields)
        print(f"updated patient {args.patient_id}: {', '.join(fields) or 'nothing changed'}")
    return 0


patient_command.configure = _patient_options


# ---------------------------------------------------------------------------- update
_UPDATE_SKIP = ("patient_id", "date", *RED_FLAGS)


def _update_options(parser) -> None:
    subs = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = subs.add_parser("add", help="add a progress update (an assessment on a date)")
    correct = subs.add_parser("correct", help="correct a stored update (old values kept in the history)")
    delete = subs.add_parser("delete", help="delete a stored update (its values kept in the history)")
    lst = subs.add_parser("list", help="list the stored updates")
    for sub in (add, correct, delete):
        sub.add_argument("patient_id", metavar="PATIENT")
        sub.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="date of the assessment")
    for sub in (add, correct):
        _field_options(sub, ASSESSMENT_FIELDS, skip=_UPDATE_SKIP)
        sub.add_argument("--red-flag", action="append", choices=sorted(_FLAGS), dest="red_flags",
                         help="a red flag reported (repeat for several); the others are recorded as no")
    for sub in (correct, delete):
        sub.add_argument("--reason", help="why (kept in the history)")
    lst.add_argument("patient_id", metavar="PATIENT", nargs="?")
    lst.add_argument("--json", action="store_true", help="print JSON")
    for sub in (add, correct, delete, lst):
        add_db_option(sub)


@command("update", help="Add, correct, delete or list progress updates (assessments).")
def update_command(args) -> int:
    store = open_store(args)
    if args.action == "list":
        _print_table(store.assessments(args.patient_id).dropna(axis=1, how="all"), args.json)
        return 0
    if args.action == "delete":
        store.delete_update(args.patient_id, args.date, reason=args.reason)
        print(f"deleted the update of {args.patient_id} on {args.date} (kept in the history)")
        return 0
    fields = _given(args, ASSESSMENT_FIELDS, skip=_UPDATE_SKIP)
    if args.red_flags:
        fields["red_flags"] = [_FLAGS[f] for f in args.red_flags]
    if args.action == "add":
        from ..errors import InputError

        nrs = fields.pop("nrs", None)
        if nrs is None:
            raise InputError("update add: --nrs required (pain now, 0-10)")
        store.add_update(args.patient_id, args.date, nrs=nrs, **fields)
        print(f"added the update of {args.patient_id} on {args.date}")
        if args.red_flags:
            print(f"RED FLAG reported ({', '.join(args.red_flags)}): seek urgent medical review.", file=sys.stderr)
    else:
        store.correct_update(args.patient_id, args.date, reason=args.reason, **fields)
        print(f"corrected the update of {args.patient_id} on {args.date} (old values kept in the history)")
    return 0


update_command.configure = _update_options


# ---------------------------------------------------------------------------- history, import
def _history_options(parser) -> None:
    parser.add_argument("patient_id", metavar="PATIENT", nargs="?", help="only this patient")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_db_option(parser)


@command("history", help="Show the store's history: every change, with old and new values.")
def history_command(args) -> int:
    _print_table(open_store(args).history(args.patient_id), args.json)
    return 0


history_command.configure = _history_options


def _import_options(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="CSV or Excel file in the painkit long format")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="import the good rows; write the rejected ones to FILE.rejected.csv")
    add_db_option(parser)


@command("import", help="Import a cohort file (all or nothing unless --skip-invalid).")
def import_command(args) -> int:
    result = open_store(args).import_file(args.file, skip_invalid=args.skip_invalid)
    print(result.summary())
    return 0


import_command.configure = _import_options


# ---------------------------------------------------------------------------- export, sample
def _export_options(parser) -> None:
    parser.add_argument("--format", choices=["csv", "xlsx", "fhir", "deidentified"], default="csv",
                        help="csv/xlsx: the import format; fhir: FHIR R4 Bundle JSON; deidentified: research CSV")
    parser.add_argument("--out", required=True, metavar="PATH", help="file to write")
    parser.add_argument("--salt", help="salt for the de-identified export (default: a secret in data/user/deid_salt)")
    add_source_options(parser)


@command("export", help="Export the cohort: CSV/Excel, FHIR R4 Bundle or de-identified CSV.")
def export_command(args) -> int:
    from ..exchange import write_cohort, write_deidentified
    from ..fhir import write_fhir

    patients, assessments = load_source(args)
    if args.format in ("csv", "xlsx"):
        out = write_cohort(patients, assessments, args.out)
    elif args.format == "fhir":
        out = write_fhir(patients, assessments, args.out)
    else:
        out = write_deidentified(patients, assessments, args.out, salt=args.salt)
    print(f"wrote {len(patients)} patient(s), {len(assessments)} assessment(s) as {args.format} to {out}")
    return 0


export_command.configure = _export_options


def _sample_options(parser) -> None:
    parser.add_argument("--out", metavar="FILE", help="where to write (default data/sample/cohort.csv)")
    parser.add_argument("--seed", type=int, help="random seed (default: the committed sample's)")
    parser.add_argument("--patients", type=int, default=200, help="number of patients (default 200)")


@command("sample", help="Generate the SYNTHETIC sample cohort as a CSV file.")
def sample_command(args) -> int:
    from ..errors import InputError
    from ..sample import SAMPLE_SEED, write_sample

    if args.patients < 1:
        raise InputError(f"--patients must be at least 1, not {args.patients}")
    out = write_sample(args.out, seed=SAMPLE_SEED if args.seed is None else args.seed, n_patients=args.patients)
    print(f"wrote a synthetic cohort of {args.patients} patients to {out}")
    return 0


sample_command.configure = _sample_options


def _load_sample_options(parser) -> None:
    add_db_option(parser)


@command("load-sample", help="Load the synthetic sample cohort into the store (safe to repeat).")
def load_sample_command(args) -> int:
    from ..sample import SAMPLE_COHORT

    result = open_store(args).import_file(SAMPLE_COHORT)
    print(result.summary())
    return 0


load_sample_command.configure = _load_sample_options
