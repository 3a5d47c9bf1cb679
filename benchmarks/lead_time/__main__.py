"""``python -m benchmarks.lead_time``: how early the online checks alert, on injected faults.

    python -m benchmarks.lead_time                  # everything, 2 runs at a time (~40 min)
    python -m benchmarks.lead_time --fast           # the CI subset (digits: 4 faults, 1 control)
    python -m benchmarks.lead_time --logdir runs/lead_time --rejudge   # no training

Trains the runs of ``plan.py`` with the real ``hjepa-train`` (a healthy base run per
dataset, checkpointed at step K; each mid-run fault resumes a copy of it with one
setting changed; controls are other seeds, level counts, batch sizes and resumes),
replays the online checks over each run's event files, and prints the fault table, the
control table and every goal with PASS or FAIL. Exit status 0 when every goal is met,
1 otherwise, 2 on a usage error.
"""

import argparse
import json
import sys
import tempfile
import time

from . import report, runs
from .plan import CASES, CHECK_EVERY, FAULT


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lead_time", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--fast", action="store_true", help="only the CI subset")
    parser.add_argument("--only", help="comma-separated case names (recipe/name or name)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--logdir", help="where the runs go (default: a new temp dir)")
    parser.add_argument(
        "--rejudge", action="store_true", help="no training: judge the runs in --logdir again"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the measures as JSON")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if c.fast] if args.fast else list(CASES)
    if args.only:
        names = {n.strip() for n in args.only.split(",") if n.strip()}
        cases = [c for c in cases if c.name in names or "%s/%s" % (c.recipe, c.name) in names]
        if not cases:
            parser.error("no case matches --only %s" % args.only)
    if args.rejudge and not args.logdir:
        parser.error("--rejudge needs --logdir")
    logdir = args.logdir or tempfile.mkdtemp(prefix="hjepa-lead-time-")
    start = time.time()
    if not args.rejudge:
        runs.train_all(logdir, cases, jobs=args.jobs, log=lambda m: print(m, file=sys.stderr))
    rows = [report.measure(logdir, c) for c in cases]
    faults = [r for r in rows if r.case.kind == FAULT]
    controls = [r for r in rows if r.case.kind != FAULT]
    print("Recipes:\n" + report.recipes_text())
    print("\nFaults (alerts of warning or worse; steps; a check every %d steps):\n" % CHECK_EVERY)
    print(report.fault_table(faults))
    print("\nControls:\n")
    print(report.control_table(controls))
    print("\nWhat the tab says at the end, and when its timeline left healthy:\n")
    print(report.timeline_table(faults + controls))
    print("\nGoals:\n")
    results = report.goals(rows)
    for goal in results:
        print("- %s %s: %s" % ("PASS" if goal.met else "FAIL", goal.text, goal.figure))
    print("\nlogdir %s; %.0fs wall" % (logdir, time.time() - start))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                [
                    {
                        "recipe": r.case.recipe,
                        "case": r.case.name,
                        "kind": r.case.kind,
                        "onset": r.onset,
                        "alerts": [vars(a) for a in r.alerts],
                        "zscore": len(r.zscore),
                        "floor": len(r.floor),
                        "offline": r.offline_status,
                        "probe_step": r.probe_step,
                        "failure": r.failure,
                        "lead": r.lead,
                        "offline_action": r.offline_action,
                        "timeline": r.timeline,
                    }
                    for r in rows
                ],
                f,
                indent=1,
            )
    return 0 if all(g.met for g in results) else 1


if __name__ == "__main__":
    sys.exit(main())
