"""Speed of the estimator (issue: foundation).

Targets: 1,000,000 (baseline, plan) rows through ``estimate_cohort`` in under 1 s; one patient's
full estimate with trajectory (the widget's hot path) in under 5 ms. Both are compared with a
plain Python loop over the rows that computes the same numbers one row at a time.

Run: ``make bench`` or ``.venv/bin/python bench/bench_expectations.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import best_of, header, verdict  # noqa: E402

from painkit import estimate, estimate_cohort, load_evidence, parse_plan  # noqa: E402

PLANS = ["cbt", "pt", "pt+cbt", "mbsr", "scs", "duloxetine+pt", "gabapentin", "pt+education+mbsr24", "vr", "opioid+pt"]


def python_loop(baselines, plans):
    """The same numbers, one row at a time, in plain Python (the 'best' rule at 26 weeks)."""
    ev = load_evidence()
    info = ev.arm_info
    sd = ev.assumptions.individual_sd_pct
    out = []
    for baseline, plan in zip(baselines, plans):
        arms = parse_plan(plan, ev)
        low = max(info[a]["low_pct"] for a in arms) / 100
        high = max(info[a]["high_pct"] for a in arms) / 100
        mid = max((info[a]["low_pct"] + info[a]["high_pct"]) / 2 for a in arms) / 100
        p30 = 0.5 * (1 + math.erf((mid * 100 - 30) / sd / math.sqrt(2)))
        p50 = 0.5 * (1 + math.erf((mid * 100 - 50) / sd / math.sqrt(2)))
        out.append((baseline * (1 - mid), baseline * (1 - high), baseline * (1 - low), p30, p50))
    return out


def python_single(baseline, plan, horizon=26):
    """One full estimate with trajectory in plain Python ('best' rule), for comparison."""
    ev = load_evidence()
    info, a = ev.arm_info, ev.assumptions
    arms = parse_plan(plan, ev)
    rows = []
    for week in range(horizon + 1):
        levels = []
        for key in ("low", "mid", "high"):
            best = 0.0
            for arm in arms:
                lo, hi, ref = info[arm]["low_pct"], info[arm]["high_pct"], info[arm]["reference_weeks"]
                value = {"low": lo, "high": hi, "mid": (lo + hi) / 2}[key] / 100
                tau = ref / a.shared_time_course
                share = 1.0 if week >= ref else (1 - math.exp(-week / tau)) / (1 - math.exp(-ref / tau))
                best = max(best, value * share)
            levels.append(best)
        rows.append((week, baseline * (1 - levels[1]), baseline * (1 - levels[2]), baseline * (1 - levels[0])))
    return rows


def main(rows: int, loop_rows: int) -> None:
    header("estimator")
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"baseline": rng.integers(0, 11, rows).astype(float), "plan": rng.choice(PLANS, rows)})
    estimate_cohort(data.head(1000))  # warm the caches (evidence load)

    vec, result = best_of(lambda: estimate_cohort(data), repeat=3)
    sample = data.head(loop_rows)
    loop, ref = best_of(lambda: python_loop(sample["baseline"].tolist(), sample["plan"].tolist()), repeat=1)
    check = result.head(loop_rows)
    assert np.allclose(check["expected"], [r[0] for r in ref]) and np.allclose(check["p30"].fillna(0), [r[3] if b else 0 for r, b in zip(ref, sample["baseline"])])
    loop_full = loop * rows / loop_rows
    print(f"cohort estimate, {rows:,} rows: {vec:.3f} s  {verdict(vec, 1.0)}")
    print(f"plain Python loop: {loop:.3f} s for {loop_rows:,} rows -> {loop_full:.2f} s for {rows:,} (extrapolated linearly)")
    print(f"ratio, loop / vectorised: {loop_full / vec:.0f}x")

    estimate(7, "pt+cbt")
    n = 300
    start = time.perf_counter()
    for _ in range(n):
        estimate(7, "pt+cbt", horizon_weeks=26)
    single = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for _ in range(n):
        python_single(7, "pt+cbt")
    plain = (time.perf_counter() - start) / n
    print(f"one full estimate with 26-week trajectory: {single * 1e3:.2f} ms  {verdict(single * 1e3, 5.0, 'ms')}")
    print(f"  plain Python loop over the weeks (trajectory only, no sensitivity or notes): {plain * 1e3:.2f} ms; "
          f"ratio painkit / loop = {single / plain:.1f}x (painkit's single estimate also builds the "
          f"DataFrame, the sensitivity table and the notes)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--loop-rows", type=int, default=200_000)
    args = parser.parse_args()
    main(args.rows, args.loop_rows)
