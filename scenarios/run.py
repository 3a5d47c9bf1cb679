"""Run the scenarios, diagnose them with ``hjepa-doctor --json`` and print the table.

    python -m scenarios                       # all scenarios, 2 at a time
    python -m scenarios --fast                # healthy + collapse (what CI runs)
    python -m scenarios --only lr_low,clip_low --steps 200 --logdir runs/scenarios
    python -m scenarios --list

Each scenario is one real ``hjepa-train`` run of the tiny CPU demo with a few
``--set`` overrides (scenarios/definitions.py), written to LOGDIR/<scenario>; torch
uses one thread per run so two runs share 2 cores. Exit status 0 when every scenario's
diagnosis matches its expectation, 1 on a mismatch, 2 on a usage error.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

from .definitions import BY_NAME, SCENARIOS, Scenario

# Half the demo's batch: two runs share 2 loaded cores and still finish in minutes.
BATCH_SIZE = 32

OUTCOME = "scenario_outcome.json"
_KNN = re.compile(r"kNN top-1 ([0-9.]+)(?: \(random-init encoder ([0-9.]+)\))?")


def train_command(scenario: Scenario, logdir: str, steps: Optional[int] = None) -> List[str]:
    steps = steps or scenario.steps
    prepared = scenario.prepare(logdir) if scenario.prepare is not None else ()
    sets = (
        [
            "training.threads=1",
            "training.total_steps=%d" % steps,
            "training.warmup_steps=%d" % max(1, steps // 10),  # the demo's 10% warmup
            "training.batch_size=%d" % BATCH_SIZE,
            "logging.log_frequency=10",  # "every 100 steps" metrics every 10: curves to judge
            # Stability and clipping windows: the demo's 100 of 1500 steps, scaled to the run.
            "metrics.window=%d" % max(10, steps // 10),
            "eval.interval=0",  # probe once, at the end
            "training.checkpoint_every=%d" % steps,
            "logging.experiment_name=%s" % scenario.name,
        ]
        + list(prepared)
        + list(scenario.sets)
    )
    cmd = [sys.executable, "-m", "hjepa_trainer", "--logdir", logdir, "--no-progress"]
    for item in sets:
        cmd += ["--set", item]
    return cmd


def run_one(scenario: Scenario, logdir: str, steps: Optional[int] = None) -> dict:
    """Train one scenario into LOGDIR/<name>; returns the trainer's outcome."""
    run_dir = os.path.join(logdir, scenario.name)
    if os.path.isdir(run_dir):
        shutil.rmtree(run_dir)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.time()
    proc = subprocess.run(
        train_command(scenario, logdir, steps),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = {
        "returncode": proc.returncode,
        "seconds": time.time() - start,
        "output": proc.stdout[-4000:],
    }
    match = _KNN.search(proc.stdout)
    if match:
        out["knn_top1"] = float(match.group(1))
        if match.group(2):
            out["knn_top1_random_init"] = float(match.group(2))
    if os.path.isdir(run_dir):  # kept beside the logs, so --diagnose-only can re-judge them
        with open(os.path.join(run_dir, OUTCOME), "w") as f:
            json.dump(out, f)
    return out


def read_outcome(scenario: Scenario, logdir: str) -> dict:
    """The trainer outcome a previous run saved (for --diagnose-only)."""
    try:
        with open(os.path.join(logdir, scenario.name, OUTCOME)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def doctor(logdir: str) -> Dict[str, dict]:
    """``hjepa-doctor LOGDIR --json``: the product's verdict of every run."""
    proc = subprocess.run(
        [sys.executable, "-m", "tensorboard_plugin_hjepa.doctor", logdir, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError("hjepa-doctor failed (%d): %s" % (proc.returncode, proc.stderr))
    return json.loads(proc.stdout)["runs"]


def evaluate(scenarios, trained: Dict[str, dict], verdicts: Dict[str, dict]) -> List[dict]:
    rows = []
    for scenario in scenarios:
        health = verdicts.get(scenario.name)
        outcome = trained.get(scenario.name, {})
        if health is None:
            ok, text = False, "no verdict (trainer exit %s)" % outcome.get("returncode")
        else:
            ok, text = scenario.expect(health, outcome)
        rows.append(
            {
                "scenario": scenario.name,
                "expected": scenario.expected,
                "product": text,
                "do_first": ((health or {}).get("first_action") or {}).get("action", ""),
                "timeline": (health or {}).get("timeline"),
                "match": bool(ok),
                "trainer_exit": outcome.get("returncode"),
                "seconds": round(outcome.get("seconds", 0.0), 1),
            }
        )
    return rows


def table(rows: List[dict]) -> str:
    lines = [
        "| scenario | expected diagnosis | product's diagnosis (hjepa-doctor) | match |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            "| %s | %s | %s | %s |"
            % (
                row["scenario"],
                row["expected"],
                row["product"].replace("|", "/"),
                "yes" if row["match"] else "**NO**",
            )
        )
    return "\n".join(lines)


def when_table(rows: List[dict], logdir: str) -> str:
    """Per scenario: what hjepa-doctor says to do first, when its timeline left healthy,
    and the step its probe failed at (the lead-time benchmark's failure clock, from 0)."""
    from benchmarks.lead_time.detectors import probe_failure  # pylint: disable=import-outside-toplevel
    from tensorboard_plugin_hjepa.doctor import read_logdir  # pylint: disable=import-outside-toplevel

    runs = read_logdir(logdir)
    lines = [
        "| scenario | do first (hjepa-doctor) | when (its timeline) | probe failed at |",
        "|---|---|---|---|",
    ]
    for row in rows:
        step, how = (
            (None, "") if row["scenario"] not in runs else probe_failure(runs[row["scenario"]], 0)
        )
        lines.append(
            "| %s | %s | %s | %s |"
            % (
                row["scenario"],
                (row.get("do_first") or "-").split(":")[0].replace("|", "/"),
                ((row.get("timeline") or {}).get("summary") or "-").replace("|", "/"),
                "-" if step is None else "%d (%s)" % (step, how),
            )
        )
    return "\n".join(lines)


def run(
    scenarios,
    logdir: str,
    steps: Optional[int] = None,
    jobs: int = 2,
    log=print,
    train: bool = True,
) -> List[dict]:
    os.makedirs(logdir, exist_ok=True)
    if not train:
        trained = {s.name: read_outcome(s, logdir) for s in scenarios}
        return evaluate(scenarios, trained, doctor(logdir))
    trained = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_one, s, logdir, steps): s for s in scenarios}
        for future in concurrent.futures.as_completed(futures):
            scenario = futures[future]
            trained[scenario.name] = future.result()
            outcome = trained[scenario.name]
            log(
                "trained %-16s exit %d in %.0fs"
                % (scenario.name, outcome["returncode"], outcome["seconds"])
            )
            if outcome["returncode"] != 0:
                log(outcome["output"][-1500:])
    verdicts = doctor(logdir)
    return evaluate(scenarios, trained, verdicts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios", description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="only the fast subset (CI)")
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--steps", type=int, help="override every scenario's run length")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--logdir", help="where the runs go (default: a new temp dir)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--diagnose-only",
        action="store_true",
        help="no training: re-diagnose the runs already in --logdir",
    )
    args = parser.parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            print(
                "%-16s %4d steps  %s%s"
                % (s.name, s.steps, " ".join(s.sets) or "(tiny demo)", "  [fast]" if s.fast else "")
            )
        return 0
    chosen = [s for s in SCENARIOS if s.fast] if args.fast else list(SCENARIOS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            parser.error(
                "unknown scenario(s): %s (known: %s)" % (", ".join(unknown), ", ".join(BY_NAME))
            )
        chosen = [BY_NAME[n] for n in names]
    if args.diagnose_only and not args.logdir:
        parser.error("--diagnose-only needs --logdir")
    logdir = args.logdir or tempfile.mkdtemp(prefix="hjepa-scenarios-")
    start = time.time()
    rows = run(
        chosen,
        logdir,
        args.steps,
        args.jobs,
        log=lambda m: print(m, file=sys.stderr),
        train=not args.diagnose_only,
    )
    print(table(rows))
    print("\nWhat to do first and when each run left healthy:\n")
    print(when_table(rows, logdir))
    notes = [(s.name, s.note) for s in chosen if s.note]
    if notes:
        print("\nnotes:")
        for name, note in notes:
            print("- %s: %s" % (name, note))
    print(
        "\n%d/%d match; logdir %s; %.0fs wall"
        % (sum(r["match"] for r in rows), len(rows), logdir, time.time() - start)
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if all(r["match"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
