"""The contributions section: each level's share of the weighted loss, against the config.

The shares come from the context (``shares``: which curves they are taken from, the
weights, the recent window); this section shows them over steps and beside the configured
shares w_i / sum_j w_j (None when the weights are unknown: said so), with the observed /
configured ratios. Each level's share is judged against its own share in the first
window after early training (pooled levels' losses are smaller by construction, so a
fixed share says nothing): the derived quantity ``derived.contribution_fall`` is the
smallest recent / post-early-training ratio over the levels with a weight, judged with
its catalogue rule as a light. A level with weight 0 is not trained, as configured: a
note, never an alert. Only runs with two or more levels have a hierarchy to balance.
"""

import numpy as np

from ..catalog import schema
from . import lights
from .context import Context
from .derived import CONTRIBUTION_FALL
from .downsample import bucket_means, to_json_number
from .shares import MANIFEST, share_matrix

SHARE_POINTS = 200  # shares over steps are downsampled to at most this many steps


def evaluate(ctx: Context) -> dict:
    """The ``contributions`` object of ``health``."""
    levels = list(ctx.levels)
    found = ctx.shares
    weights = found.weights
    out = {
        "levels": levels,
        "steps": [],
        "shares": [],
        "recent": None,
        "ratios": None,
        "weights": weights,
        "weights_source": found.weights_source,
        "expected": found.expected,
        "source": None,
        "status": schema.UNKNOWN,
        "checks": [],
        "note": None,
    }
    if len(levels) < 2:
        out["note"] = "the run has %s: there is no hierarchy to balance" % (
            "one level" if ctx.levels_known else "no known levels"
        )
        return out
    notes = []
    if weights is None:
        notes.append(
            "hierarchy weights unknown (no run manifest): the shares cannot be compared "
            "with configured ones"
        )
    elif found.weights_source != MANIFEST:
        notes.append("weights " + found.weights_source)
    steps = found.steps
    if steps is not None and steps.size:
        out["source"] = found.source
        notes.insert(0, found.text)
        # Shares over steps: shares of the bucket means of each level's part.
        buckets = [bucket_means(steps, p, SHARE_POINTS) for p in found.parts]
        spark = share_matrix(np.vstack([means for _, means in buckets]))
        out["steps"] = [int(s) for s in buckets[0][0].tolist()]
        out["shares"] = [[to_json_number(v) for v in row] for row in spark.tolist()]
        recent = found.recent
        out["recent"] = [to_json_number(v) for v in recent.tolist()]
        unweighted = [
            levels[i] for i in range(len(levels)) if weights is not None and weights[i] == 0
        ]
        if unweighted:
            notes.append(
                "level(s) %s have weight 0: not trained, as configured"
                % ", ".join(map(str, unweighted))
            )
        if found.expected is not None and np.all(np.isfinite(recent)):
            out["ratios"] = [
                to_json_number(float(recent[i]) / found.expected[i]) if weights[i] > 0 else None
                for i in range(len(levels))
            ]
    elif steps is not None:
        notes.insert(0, "the level curves share no step")
    else:
        notes = [found.text] + [n for n in notes if not n.startswith("hierarchy weights unknown")]
    out["checks"] = [lights.light_of(ctx, CONTRIBUTION_FALL, None)[0]]
    statuses = [c["status"] for c in out["checks"] if c["status"] != schema.UNKNOWN]
    if statuses:
        out["status"] = max(statuses, key=schema.severity)
    out["note"] = "; ".join(notes) if notes else None
    return out
