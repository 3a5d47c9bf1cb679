"""What changed between two diagnoses of one run, and the one-line alert that says it.

Used by the trainer's online checks (``hjepa_trainer.health``: alert on a *new*
problem) and by ``hjepa-doctor --watch`` (reprint only what changed). Pure: works on
the ``health`` dicts of ``diagnose`` and on ``snapshot``s of them.

A snapshot keeps only what a change is judged on: the overall status, the status of
every light and contribution check, and the ids of the firing flowchart branches and
detected patterns. A light is *worse* when its status ranks above the one it had
(``unknown`` ranks lowest, so unknown -> warning is worse and healthy -> unknown is not).
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

from ..catalog import schema
from ..formatting import fmt

ItemId = Tuple[str, Optional[int]]  # (light key, level or None)


rank = schema.severity  # unknown < healthy < warning < collapse < critical


def _items(health: dict) -> List[dict]:
    contributions = health.get("contributions") or {}
    return list(health.get("lights") or []) + list(contributions.get("checks") or [])


@dataclasses.dataclass
class Snapshot:
    """The parts of a ``health`` dict that changes are judged on."""

    status: str
    items: Dict[ItemId, str]
    branches: Dict[str, str]  # firing branch id -> question
    patterns: Dict[str, str]  # detected pattern id -> name


def snapshot(health: dict) -> Snapshot:
    return Snapshot(
        status=health.get("status") or schema.UNKNOWN,
        items={(item["key"], item.get("level")): item["status"] for item in _items(health)},
        branches={b["id"]: b["question"] for b in health.get("flowchart") or [] if b["fired"]},
        patterns={p["id"]: p["name"] for p in health.get("patterns") or [] if p["detected"]},
    )


def merge(before: Optional[Snapshot], after: Snapshot) -> Snapshot:
    """The worst of two snapshots: per item the worse status, the union of firings.

    The online checks diff against the merge of everything already reported, so a
    light that flaps between healthy and warning is reported once, not at every check.
    """
    if before is None:
        return after
    items = dict(before.items)
    for slot, status in after.items.items():
        if rank(status) > rank(items.get(slot, schema.UNKNOWN)):
            items[slot] = status
    worst = after.status if rank(after.status) > rank(before.status) else before.status
    return Snapshot(
        status=worst,
        items=items,
        branches={**before.branches, **after.branches},
        patterns={**before.patterns, **after.patterns},
    )


@dataclasses.dataclass
class Change:
    """How a run's diagnosis differs from an earlier one.

    Attributes:
      status, previous: overall status now and before (previous None: first diagnosis).
      worse_items: lights / contribution checks now warning or worse whose status got
        worse, worst first (the light dicts of the new diagnosis).
      better_items: lights / contribution checks whose status improved (ids).
      new_branches, new_patterns: firing branches / detected patterns that were not
        before (dicts of the new diagnosis).
      cleared_branches, cleared_patterns: ids that fired before and no longer do.
    """

    status: str
    previous: Optional[str]
    worse_items: List[dict]
    better_items: List[ItemId]
    new_branches: List[dict]
    new_patterns: List[dict]
    cleared_branches: List[str]
    cleared_patterns: List[str]

    @property
    def status_changed(self) -> bool:
        return self.previous != self.status

    @property
    def status_worse(self) -> bool:
        return rank(self.status) > rank(self.previous or schema.UNKNOWN)

    @property
    def new_problem(self) -> bool:
        """A new warning/collapse/critical: the status, a light, a branch or a pattern."""
        return bool(
            (self.status_worse and rank(self.status) >= rank(schema.WARNING))
            or self.worse_items
            or self.new_branches
            or self.new_patterns
        )

    @property
    def any(self) -> bool:
        """Anything to report at all (for ``--watch``)."""
        return bool(
            self.status_changed
            or self.worse_items
            or self.better_items
            or self.new_branches
            or self.new_patterns
            or self.cleared_branches
            or self.cleared_patterns
        )


def diff(before: Optional[Snapshot], health: dict) -> Change:
    """The change from ``before`` (None: nothing known yet) to the diagnosis ``health``."""
    now = snapshot(health)
    old_items = before.items if before is not None else {}
    worse, better = [], []
    for item in _items(health):
        slot = (item["key"], item.get("level"))
        was = old_items.get(slot, schema.UNKNOWN)
        if rank(item["status"]) > rank(was) and rank(item["status"]) >= rank(schema.WARNING):
            worse.append(item)
        elif (
            before is not None
            and slot in old_items
            and rank(item["status"]) < rank(was)
            and item["status"] != schema.UNKNOWN
        ):
            better.append(slot)
    worse.sort(key=lambda item: -rank(item["status"]))  # stable: catalogue order kept
    old_branches = before.branches if before is not None else {}
    old_patterns = before.patterns if before is not None else {}
    return Change(
        status=now.status,
        previous=before.status if before is not None else None,
        worse_items=worse,
        better_items=better,
        new_branches=[
            b for b in health.get("flowchart") or [] if b["fired"] and b["id"] not in old_branches
        ],
        new_patterns=[
            p for p in health.get("patterns") or [] if p["detected"] and p["id"] not in old_patterns
        ],
        cleared_branches=[i for i in old_branches if i not in now.branches],
        cleared_patterns=[i for i in old_patterns if i not in now.patterns],
    )


# ------------------------------------------------------------------------ wording
def _num(value) -> str:
    """A number as every text of the plugin writes it (strings: "NaN"/"Infinity" from JSON)."""
    if value is None:
        return "-"
    return value if isinstance(value, str) else fmt(value)


def item_text(item: dict) -> str:
    """'collapse.mean_std_per_dim level 0 COLLAPSE (0.0055, judged 0.031 < 0.28)'."""
    where = "" if item.get("level") is None else " level %d" % item["level"]
    evidence = _num(item.get("value"))
    threshold = item.get("threshold") or {}
    if item.get("judged_value") is not None and item.get("normalise") not in (None, "none"):
        evidence += ", judged %s" % _num(item["judged_value"])
    if threshold.get("op") and threshold.get("bound") is not None:
        bound = threshold["bound"]
        bound = (
            "[%s, %s]" % (_num(bound[0]), _num(bound[1]))
            if isinstance(bound, list)
            else _num(bound)
        )
        evidence += " %s %s" % (threshold["op"], bound)
    return "%s%s %s (%s)" % (item["key"], where, item["status"].upper(), evidence)


def alert_line(
    change: Change, health: dict, *, step: Optional[int] = None, prefix: str = "hjepa-health"
) -> str:
    """One line: the status, what to do first (the action of the strongest evidence, with
    that evidence), the new problems, the firing branches with their general actions.

    The branches named are the newly firing ones, else every firing one; without any, the
    worst new light's explanation stands in.
    """
    head = "%s:%s %s" % (prefix, "" if step is None else " step %d:" % step, change.status.upper())
    if change.previous is not None and change.previous != change.status:
        head += " (was %s)" % change.previous
    parts = [head]
    first = health.get("first_action")
    if first:
        parts.append("do first: %s [%s]" % (first["action"], first["evidence"]))
    if change.worse_items:
        more = len(change.worse_items) - 2
        parts.append(
            "new: "
            + "; ".join(item_text(i) for i in change.worse_items[:2])
            + (" (+%d more)" % more if more > 0 else "")
        )
    branches = change.new_branches or [b for b in health.get("flowchart") or [] if b["fired"]]
    for branch in branches:
        parts.append("%s -> %s" % (branch["question"], "; ".join(branch["actions"])))
    for pattern in change.new_patterns:
        parts.append("pattern %s -> %s" % (pattern["name"], pattern["fix"]))
    if not branches and not change.new_patterns and change.worse_items:
        parts.append(change.worse_items[0].get("explanation") or "")
    return " | ".join(p for p in parts if p)


def alert_markdown(
    change: Change, health: dict, *, step: Optional[int] = None, footer: str = ""
) -> str:
    """The alert as Markdown (TensorBoard's Text dashboard renders it)."""
    title = "**%s**" % change.status.upper()
    if step is not None:
        title += " at step %d" % step
    if change.previous is not None and change.previous != change.status:
        title += " (was %s)" % change.previous
    lines = [title, "", health.get("status_reason") or "", ""]
    first = health.get("first_action")
    if first:
        lines += ["**Do first:** %s (it answers %s)." % (first["action"], first["answers"]), ""]
    for item in change.worse_items:
        lines.append("- new: `%s`: %s" % (item_text(item), item.get("explanation") or ""))
    branches = change.new_branches or [b for b in health.get("flowchart") or [] if b["fired"]]
    for branch in branches:
        lines.append(
            "- flowchart: %s Actions: %s." % (branch["question"], "; ".join(branch["actions"]))
        )
    for pattern in change.new_patterns:
        lines.append(
            "- pattern: %s. Likely cause: %s. Fix: %s."
            % (pattern["name"], pattern["likely_cause"], pattern["fix"])
        )
    if footer:
        lines += ["", footer]
    return "\n".join(lines).strip() + "\n"
