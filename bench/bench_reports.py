"""Report speed, side by side in one run (issue 6, item 4).

(a) ``painkit batch``: papermill templates on warm kernels, 2 worker processes, HTML in-process;
(b) the same reports rendered in-process without notebook machinery, same runner, 2 workers;
(c) the loop an analyst writes by hand: ``papermill`` CLI then ``jupyter nbconvert`` CLI per
    patient, run serially on a small sample and extrapolated to the cohort.

Per-report time = wall time / reports, including worker and kernel start-up. Targets:
(a) <= 3 x (b) and (c) >= 20 x (a). Run: ``python bench/bench_reports.py [--patients N] [--hand N]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200, help="patients in the batch (default 200)")
    parser.add_argument("--hand", type=int, default=5, help="patients in the hand-written loop sample (default 5)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from painkit.batch import TEMPLATES, run_batch
    from painkit.exchange import read_cohort, write_cohort
    from painkit.sample import SAMPLE_COHORT

    patients, assessments = read_cohort(SAMPLE_COHORT)
    patients = patients.head(args.patients)
    assessments = assessments[assessments["patient_id"].isin(patients["patient_id"])]
    as_of = "2026-06-30"
    n = len(patients)
    print(f"{n} patients, {len(assessments)} assessments (synthetic sample); {args.workers} workers; "
          f"{os.cpu_count()} CPUs; as of {as_of}")
    figures = {}
    with tempfile.TemporaryDirectory(prefix="painkit-bench-") as tmp:
        tmp = Path(tmp)
        for label, renderer in (("a", "notebook"), ("b", "inprocess")):
            start = time.perf_counter()
            result = run_batch(patients, assessments, out=tmp / renderer, as_of=as_of, workers=args.workers,
                               renderer=renderer, cohort=False, progress=False)
            wall = time.perf_counter() - start
            if result.failed:
                print(f"{renderer}: {result.failed} reports failed: {result.manifest['error'].iloc[0]}")
                return 1
            figures[label] = wall / n
            print(f"({label}) {renderer:9s} batch: {wall:7.1f} s wall for {n} reports")

        csv = write_cohort(patients, assessments, tmp / "cohort.csv")
        sample = patients["patient_id"].head(args.hand).tolist()
        start = time.perf_counter()
        for pid in sample:
            executed = tmp / "hand" / f"{pid}.ipynb"
            executed.parent.mkdir(exist_ok=True)
            subprocess.run([str(BIN / "papermill"), str(TEMPLATES / "patient_report.ipynb"), str(executed),
                            "-k", "python3", "-p", "patient_id", pid, "-p", "source", str(csv), "-p", "as_of", as_of,
                            "--no-progress-bar", "--log-level", "ERROR"], check=True, capture_output=True)
            subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", "--log-level", "ERROR",
                            str(executed)], check=True, capture_output=True)
        wall = time.perf_counter() - start
        figures["c"] = wall / len(sample)
        print(f"(c) hand loop      : {wall:7.1f} s wall for {len(sample)} reports (serial), "
              f"extrapolated to {n}: {figures['c'] * n:.0f} s")

    a, b, c = figures["a"], figures["b"], figures["c"]
    print()
    print(f"per report  (a) painkit batch, warm kernels : {a:6.3f} s")
    print(f"per report  (b) in-process, no notebook     : {b:6.3f} s")
    print(f"per report  (c) papermill + nbconvert CLIs  : {c:6.3f} s  (measured on {len(sample)}, extrapolated)")
    print(f"ratio a/b = {a / b:5.2f}  (target <= 3)   {'OK' if a / b <= 3 else 'MISSED'}")
    print(f"ratio c/a = {c / a:5.1f}  (target >= 20)  {'OK' if c / a >= 20 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
