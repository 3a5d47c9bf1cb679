"""The reference §11 diagnostic flowchart, evaluated from the catalogue's branches.

Every branch is reported with every trigger and check evaluated (value and result),
so the user sees why a branch fired or not. A branch fires when it is applicable
(all ``applies_when`` checks fire) and any trigger fires. Firing branches are reported,
never turned into a status: the lights carry the verdict.
"""

from typing import List

from .. import catalog
from . import checks
from .context import Context
from .rules import correction_json


def evaluate_branch(ctx: Context, branch) -> dict:
    """One branch's result object (http_api.md ``health.flowchart[]``)."""
    preconditions = [checks.evaluate(ctx, c) for c in branch.applies_when]
    applicable = all(p["fired"] is True for p in preconditions)
    triggers = [checks.evaluate(ctx, c) for c in branch.triggers]
    results = [checks.evaluate(ctx, c) for c in branch.checks]
    fired = applicable and any(t["fired"] is True for t in triggers)
    return {
        "id": branch.id,
        "question": branch.question,
        "applicable": applicable,
        "fired": fired,
        "applies_when": preconditions,
        "triggers": triggers,
        "checks": results,
        "actions": list(branch.actions),
        "correction": correction_json(branch.correction),
    }


def evaluate(ctx: Context) -> List[dict]:
    """Every branch of the flowchart, in the reference's order."""
    return [evaluate_branch(ctx, b) for b in catalog.branches()]
