"""``painkit report PATIENT`` (one report) and ``painkit batch`` (every report, resumable).

Examples::

    painkit report P0001 --out reports/ --as-of 2026-06-30 --pdf
    painkit batch --db data/painkit.db --out reports/ --workers 2
    painkit batch --cohort data/sample/cohort.csv --out reports/ --scheduler tcp://127.0.0.1:8786

Both read the cohort from ``--cohort FILE`` or ``--db PATH`` (default store otherwise) and write
HTML without code (PDF with ``--pdf``, printed by headless Chromium) into ``--out``, readable by
the owner only. ``batch`` prints where the cohort report and the manifest are and exits 1 when
any report failed (each failure is in the manifest with its error).
"""

from __future__ import annotations

import sys

from . import command, to_json
from ._common import add_source_options, load_source


def _date(text):
    import argparse

    import pandas as pd

    try:
        return pd.Timestamp(text).date().isoformat()
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (use YYYY-MM-DD)") from None


def _common(parser, default_out: str) -> None:
    add_source_options(parser)
    parser.add_argument("--out", metavar="DIR", default=default_out, help=f"output folder (default {default_out})")
    parser.add_argument("--as-of", metavar="DATE", type=_date, help="report date YYYY-MM-DD (default today)")
    parser.add_argument("--pdf", action="store_true", help="also print each report to PDF (headless Chromium)")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")


def _report_options(parser) -> None:
    parser.add_argument("patient_id", metavar="PATIENT", help="the patient's id")
    _common(parser, "reports")


@command("report", help="Render one patient's report (HTML without code; PDF with --pdf).")
def report_command(args) -> int:
    from ..batch import run_batch
    from ..errors import ReportError

    patients, assessments = load_source(args)
    mine = patients[patients["patient_id"].astype(str) == args.patient_id]
    if not len(mine):
        raise ReportError(f"patient {args.patient_id!r} is not in the cohort ({len(patients)} patients)")
    theirs = assessments[assessments["patient_id"].astype(str) == args.patient_id]
    result = run_batch(mine, theirs, out=args.out, as_of=args.as_of, workers=1, pdf=args.pdf, cohort=False,
                       progress=False, manifest=False)
    return _finish(result, args, single=True)


def _batch_options(parser) -> None:
    _common(parser, "reports")
    parser.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: CPU count)")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed scheduler (tcp://host:port)")
    parser.add_argument("--plans", metavar="LIST", help="cohort report: only these plans (comma-separated)")
    parser.add_argument("--conditions", metavar="LIST", help="cohort report: only these conditions (comma-separated)")
    parser.add_argument("--group-by", default="plan", choices=["plan", "sex", "condition"],
                        help="cohort report grouping (default plan)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


@command("batch", help="Render every patient's report plus the cohort report; resumable, parallel or on Dask.")
def batch_command(args) -> int:
    from ..batch import run_batch

    patients, assessments = load_source(args)
    options = {"plans": args.plans, "conditions": args.conditions, "group_by": args.group_by}
    result = run_batch(patients, assessments, out=args.out, as_of=args.as_of, workers=args.workers,
                       scheduler=args.scheduler, pdf=args.pdf, cohort_options=options,
                       progress=not args.no_progress)
    return _finish(result, args)


def _finish(result, args, *, single: bool = False) -> int:
    manifest = result.manifest
    if args.json:
        print(to_json(manifest.to_dict(orient="records")))
    counts = manifest["status"].value_counts().to_dict()
    summary = ", ".join(f"{counts[k]} {k}" for k in ("ok", "unchanged", "failed") if k in counts)
    stream = sys.stderr if args.json else sys.stdout
    print(f"{len(manifest)} report(s): {summary}", file=stream)
    for row in manifest.itertuples(index=False):
        if row.status == "failed":
            print(f"FAILED {row.report} {row.patient_id!r}: {row.error}", file=sys.stderr)
    if single:
        row = manifest.iloc[0]
        if row["status"] != "failed":
            print(f"Report: {result.out / row['html']}", file=stream)
            if row["pdf"]:
                print(f"PDF: {result.out / row['pdf']}", file=stream)
    else:
        if result.cohort_html is not None and result.cohort_html.exists():
            print(f"Cohort report: {result.cohort_html}", file=stream)
        print(f"Manifest: {result.manifest_csv} (and {result.manifest_json.name})", file=stream)
    return 1 if result.failed else 0


report_command.configure = _report_options
batch_command.configure = _batch_options
