"""``painkit demo``: the main job, run by ``make demo``."""

from __future__ import annotations

from . import command


def _options(parser):
    parser.add_argument("--baseline", type=float, default=7, help="baseline NRS for the walk-through (default 7)")


@command("demo", help="Run the main job: an estimator walk-through over the article's treatments.")
def demo_command(args) -> int:
    import pandas as pd

    from .. import DISCLAIMER
    from ..evidence import load_evidence
    from ..expectations import estimate, estimate_cohort, expectations_text

    evidence = load_evidence()
    print(DISCLAIMER + "\n")
    example = estimate(args.baseline, "cbt")
    print("The article's example:", example.headline())
    print(expectations_text() + "\n")
    plans = pd.DataFrame({"plan": evidence.arm_ids + ["pt+cbt", "pt+pne_exercise+mbsr_8wk"]})
    plans["baseline"] = args.baseline
    table = estimate_cohort(plans)[["plan_arms", "expected", "low", "high", "reduction_pct", "p30", "p50"]]
    print(f"Every plan arm at baseline {args.baseline:g} (combination rule: {table.combine.iloc[0] if 'combine' in table else 'best'}):")
    print(table.round(2).to_string(index=False))
    return 0


demo_command.configure = _options
