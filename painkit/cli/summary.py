"""``painkit summary`` (where each patient stands) and ``painkit plan`` (the dated 8-step plan)."""

from __future__ import annotations

from . import command, to_json
from ._common import add_source_options, load_source

_SHOWN = ["patient_id", "plan", "latest_date", "baseline_nrs", "latest_nrs", "weeks_on_plan", "change_pct",
          "category", "reversal", "position", "stalled", "n_alerts", "next_due"]


def _records(table) -> list[dict]:
    import pandas as pd

    out = []
    for row in table.astype(object).where(table.notna(), None).to_dict(orient="records"):
        out.append({k: (v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v) for k, v in row.items()})
    return out


def _summary_options(parser):
    add_source_options(parser)
    parser.add_argument("--as-of", metavar="DATE", help="read the cohort as on this date (default: today)")
    parser.add_argument("--combine", choices=["best", "independent", "damped"],
                        help="how several treatments combine in the expected band (a named assumption)")
    parser.add_argument("--json", action="store_true", help="print JSON (summary and alerts) instead of a table")


@command("summary", help="Per-patient progress summary: change, category, reversal, band, stall, alerts, next due.")
def summary_command(args) -> int:
    import pandas as pd

    from .. import DISCLAIMER
    from ..tracking import alerts, load_tracking_rules, summarize_cohort

    patients, assessments = load_source(args)
    rules = load_tracking_rules()
    table = summarize_cohort(patients, assessments, as_of=args.as_of, rules=rules, combine=args.combine)
    found = alerts(patients, assessments, as_of=args.as_of, rules=rules)
    as_of = str(pd.Timestamp(args.as_of).date()) if args.as_of else str(pd.Timestamp.today().date())
    if args.json:
        print(to_json({"as_of": as_of, "disclaimer": DISCLAIMER, "summary": _records(table),
                       "alerts": _records(found)}))
        return 0
    print(DISCLAIMER + "\n")
    urgent = found[found["level"] == "urgent"]
    if len(urgent):
        print(f"URGENT: {len(urgent)} red-flag alert(s): seek urgent care")
        for row in urgent.itertuples(index=False):
            print(f"  {row.patient_id}: {row.message} ({row.reason})")
        print()
    shown = table[_SHOWN].copy()
    for col in ("latest_date", "next_due"):
        shown[col] = shown[col].dt.strftime("%Y-%m-%d")
    with pd.option_context("display.width", 220, "display.max_rows", 500, "display.max_columns", 30):
        print(f"Summary of {len(table)} patient(s) as of {as_of}:")
        print(shown.round(1).to_string(index=False))
    rest = found[found["level"] != "urgent"]
    if len(rest):
        print(f"\nOther alerts ({len(rest)}):")
        for row in rest.itertuples(index=False):
            print(f"  [{row.level}] {row.patient_id}: {row.message} ({row.reason})")
    print(f"\nRules: data/evidence/tracking_rules.csv (band tolerance {rules.band_tolerance_points:g} point, "
          f"stall: < {rules.stall_min_points:g} point over {rules.stall_window_weeks:g} weeks; assumptions marked there).")
    return 0


summary_command.configure = _summary_options


def _plan_options(parser):
    parser.add_argument("--plan", action="append", required=True, metavar="ARM",
                        help="a treatment of the plan (repeat, or join with '+'; 'painkit evidence' lists them)")
    parser.add_argument("--start", required=True, metavar="DATE", help="the plan's first day (YYYY-MM-DD)")
    parser.add_argument("--weeks", type=int, default=26, help="how far the schedule runs (default 26)")
    parser.add_argument("--starting-load", type=float, metavar="MINUTES",
                        help="week-1 graded exercise, minutes of low-impact activity per week (default 60, an assumption)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


@command("plan", help="The article's 8-step personal plan as a dated schedule from a start date.")
def plan_command(args) -> int:
    import pandas as pd

    from .. import DISCLAIMER
    from ..plan import personal_plan

    arms = [part for value in args.plan for part in value.split("+")]
    table = personal_plan(arms, args.start, weeks=args.weeks, starting_load=args.starting_load)
    if args.json:
        print(to_json({"disclaimer": DISCLAIMER, "schedule": _records(table)}))
        return 0
    print(DISCLAIMER + "\n")
    shown = table.assign(date=table["date"].dt.strftime("%Y-%m-%d"), load=table["load"].round(1))
    with pd.option_context("display.width", 250, "display.max_colwidth", 160, "display.max_rows", 1000):
        print(shown.to_string(index=False, na_rep=""))
    return 0


plan_command.configure = _plan_options
