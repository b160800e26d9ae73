"""``painkit demo``: the main job, run by ``make demo``.

Loads the synthetic sample cohort into the embedded default store (safe to repeat: rows already
there are left alone), then batch-runs every patient report and the cohort report into
``reports/`` and prints where the cohort report and the manifest are. A rerun only renders the
reports whose inputs changed.
"""

from __future__ import annotations

from . import command
from ._common import add_db_option


def _options(parser):
    add_db_option(parser)
    parser.add_argument("--out", metavar="DIR", default="reports", help="output folder (default reports)")
    parser.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: CPU count)")
    parser.add_argument("--as-of", metavar="DATE", help="report date YYYY-MM-DD (default today)")
    parser.add_argument("--pdf", action="store_true", help="also print every report to PDF")


@command("demo", help="Run the main job: load the sample cohort into the store, then batch-run every report.")
def demo_command(args) -> int:
    from .. import DISCLAIMER
    from ..batch import run_batch
    from ..sample import SAMPLE_COHORT
    from ..store import Store

    print(DISCLAIMER + "\n")
    store = Store(args.db)
    result = store.import_file(SAMPLE_COHORT)
    print(f"Sample cohort (synthetic) in {store.path}: {result.summary()}")
    patients, assessments = store.load_cohort()
    print(f"Rendering {len(patients)} patient reports and the cohort report into {args.out}/ ...")
    batch = run_batch(patients, assessments, out=args.out, as_of=args.as_of, workers=args.workers, pdf=args.pdf)
    counts = batch.manifest["status"].value_counts().to_dict()
    print(", ".join(f"{counts[k]} {k}" for k in ("ok", "unchanged", "failed") if k in counts))
    for row in batch.manifest[batch.manifest["status"] == "failed"].itertuples(index=False):
        print(f"FAILED {row.report} {row.patient_id!r}: {row.error}")
    print(f"Cohort report: {batch.cohort_html.resolve()}")
    print(f"Manifest: {batch.manifest_csv.resolve()} (and {batch.manifest_json.name})")
    return 1 if batch.failed else 0


demo_command.configure = _options
