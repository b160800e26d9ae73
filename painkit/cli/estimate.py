"""``painkit estimate`` and ``painkit evidence``."""

from __future__ import annotations

from . import command, to_json


def _estimate_options(parser):
    parser.add_argument("--baseline", required=True, help="baseline pain, 0-10 NRS")
    parser.add_argument(
        "--plan",
        action="append",
        required=True,
        metavar="ARM",
        help="a treatment of the plan (repeat for several; 'painkit evidence' lists them)",
    )
    parser.add_argument(
        "--combine",
        choices=["best", "independent", "damped"],
        help="how several treatments combine (a named assumption; default from the evidence base)",
    )
    parser.add_argument("--horizon", type=int, default=26, metavar="WEEKS", help="trajectory length (default 26)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


@command("estimate", help="Expected pain at 6 months for a baseline and a plan, from the evidence.")
def estimate_command(args) -> int:
    from .. import DISCLAIMER
    from ..expectations import estimate, expectations_text

    est = estimate(args.baseline, args.plan, horizon_weeks=args.horizon, combine=args.combine)
    if args.json:
        out = est.to_dict()
        out["expectations_text"] = expectations_text(est.plan)
        out["disclaimer"] = DISCLAIMER
        print(to_json(out))
        return 0
    print(est.headline())
    print(f"Plan: {est.plan_label}   combination rule: {est.combine}")
    print(
        f"Expected NRS at 6 months: {est.expected:.1f} (range {est.low:.1f} to {est.high:.1f}); "
        f"reduction {est.reduction_pct:.0f}% (range {est.reduction_low_pct:.0f}-{est.reduction_high_pct:.0f}%)"
    )
    if est.baseline > 0:
        print(f"Chance of >=30% reduction: {est.p30:.0%}   of >=50% reduction: {est.p50:.0%}")
    if len(est.plan) > 1:
        print("\nSensitivity to the combination rule:")
        print(est.sensitivity.round(2).to_string(index=False))
    traj = est.trajectory
    shown = traj[(traj.week % 4 == 0) | (traj.week == traj.week.max())]
    print("\nExpected trajectory (NRS):")
    print(shown.round(2).to_string(index=False))
    print("\n" + expectations_text(est.plan))
    for note in est.notes:
        print(f"- {note}")
    print(f"\n{DISCLAIMER}")
    return 0


estimate_command.configure = _estimate_options


def _evidence_options(parser):
    parser.add_argument(
        "--table",
        choices=["treatments", "arms", "claims", "assumptions"],
        default="arms",
        help="which evidence table (default: arms, the treatments a plan can name)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


@command("evidence", help="Show the evidence base: treatments, plan arms, claims, assumptions.")
def evidence_command(args) -> int:
    from ..evidence import load_evidence

    ev = load_evidence()
    table = {
        "treatments": ev.treatments,
        "arms": ev.arms,
        "claims": ev.claims,
        "assumptions": ev.assumption_table,
    }[args.table]
    if args.json:
        print(to_json(table.to_dict(orient="records")))
        return 0
    columns = {
        "treatments": ["modality", "label", "benefit_low_pct", "benefit_high_pct", "evidence_level"],
        "arms": ["arm", "label", "low_pct", "high_pct", "reference_weeks", "evidence_level", "aliases"],
        "claims": ["claim", "value", "value_high", "unit", "source"],
        "assumptions": ["name", "value", "unit", "description"],
    }[args.table]
    import pandas as pd

    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(table[columns].to_string(index=False))
    print(f"\nSource files: {ev.directory}")
    return 0


evidence_command.configure = _evidence_options
