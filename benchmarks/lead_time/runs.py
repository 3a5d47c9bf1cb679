"""Train the benchmark's runs with the real ``hjepa-train`` (one torch thread each).

Layout under the logdir: ``<recipe>/_base`` (the base run, trained to K and
checkpointed), ``<recipe>/<case>`` (one run per case; a mid-run case starts as a copy of
the base run and resumes). Each run directory keeps ``outcome.json``: the trainer's exit
status, wall time and the online alerts it printed.
"""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

from .plan import RECIPE_BY_NAME, Case, Recipe

BASE = "_base"
OUTCOME = "outcome.json"
_ALERT = re.compile(r"^hjepa-health: step (\d+): (\w+)(.*)$")


def run_dir(logdir: str, recipe: str, name: str) -> str:
    return os.path.join(logdir, recipe, name)


def _train(logdir: str, recipe: Recipe, name: str, sets, *, resume=False, max_steps=None) -> dict:
    """One ``hjepa-train`` process; returns the outcome saved beside its logs."""
    prepared = recipe.prepare(logdir) if recipe.prepare is not None else ()
    cmd = [sys.executable, "-m", "hjepa_trainer", "--no-progress"]
    cmd += ["--logdir", os.path.join(logdir, recipe.name)]
    for item in recipe.common() + prepared + tuple(sets) + ("logging.experiment_name=%s" % name,):
        cmd += ["--set", item]
    if resume:
        cmd.append("--resume")
    if max_steps is not None:
        cmd += ["--max-steps", str(max_steps)]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.time()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    alerts = []
    for line in proc.stdout.splitlines():
        match = _ALERT.match(line.strip())
        if match:
            alerts.append({"step": int(match.group(1)), "status": match.group(2).lower()})
    outcome = {
        "returncode": proc.returncode,
        "seconds": round(time.time() - start, 1),
        "alerts": alerts,
        "output": proc.stdout[-3000:],
    }
    with open(os.path.join(run_dir(logdir, recipe.name, name), OUTCOME), "w") as f:
        json.dump(outcome, f, indent=1)
    return outcome


def train_base(logdir: str, recipe: Recipe) -> dict:
    """The recipe's healthy run, trained to its onset step K and checkpointed there."""
    path = run_dir(logdir, recipe.name, BASE)
    if os.path.isdir(path):
        shutil.rmtree(path)
    return _train(logdir, recipe, BASE, (), max_steps=recipe.onset)


def train_case(logdir: str, case: Case) -> dict:
    recipe = RECIPE_BY_NAME[case.recipe]
    path = run_dir(logdir, case.recipe, case.name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    if case.resumed:
        base = run_dir(logdir, case.recipe, BASE)
        shutil.copytree(base, path, ignore=shutil.ignore_patterns(OUTCOME))
        return _train(logdir, recipe, case.name, case.sets, resume=True)
    return _train(logdir, recipe, case.name, case.sets)


def read_outcome(path: str) -> Optional[dict]:
    """The outcome saved in a run directory, or None."""
    try:
        with open(os.path.join(path, OUTCOME)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def train_all(logdir: str, cases: Sequence[Case], *, jobs: int = 2, log=print) -> Dict[str, dict]:
    """Train the base runs the cases need, then every case, ``jobs`` at a time."""
    outcomes: Dict[str, dict] = {}
    recipes = sorted({c.recipe for c in cases if c.resumed})
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:

        def report(key: str, outcome: dict) -> None:
            outcomes[key] = outcome
            log(
                "trained %-32s exit %d in %4.0fs, %d online alert(s)"
                % (key, outcome["returncode"], outcome["seconds"], len(outcome["alerts"]))
            )
            if outcome["returncode"] not in (0, 3):
                log(outcome["output"][-1500:])

        # Runs from step 0 start beside the base runs; resumed ones wait for their base.
        pending: List[concurrent.futures.Future] = []
        names = {}
        for recipe in recipes:
            future = pool.submit(train_base, logdir, RECIPE_BY_NAME[recipe])
            names[future] = "%s/%s" % (recipe, BASE)
            pending.append(future)
        for case in cases:
            if not case.resumed:
                future = pool.submit(train_case, logdir, case)
                names[future] = "%s/%s" % (case.recipe, case.name)
                pending.append(future)
        bases_done = set()
        waiting = [c for c in cases if c.resumed]
        while pending:
            done, _ = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in done:
                pending.remove(future)
                key = names[future]
                report(key, future.result())
                recipe, name = key.split("/")
                if name == BASE:
                    bases_done.add(recipe)
            for case in [c for c in waiting if c.recipe in bases_done]:
                waiting.remove(case)
                future = pool.submit(train_case, logdir, case)
                names[future] = "%s/%s" % (case.recipe, case.name)
                pending.append(future)
    return outcomes
