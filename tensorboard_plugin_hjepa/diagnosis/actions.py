"""What to do first: the action of the strongest evidence that fired.

Every cause-bearing light and check of the catalogue carries the action that fixes its
cause (a missing stop-gradient: restore it; clipping on most steps: raise the clip
threshold); a symptom (a collapse light, a loss that is not decreasing) carries none, and
the general actions of its flowchart branch or pattern apply. The first action is the
one of the most severe evidence with an action: a light in alert, or a check that fired
in a firing branch or a detected pattern (a check that names a band is as severe as that
band; another counts as a warning). Ties go to catalogue order, lights first. Without
such evidence, the first general action of the first firing branch (else pattern).
"""

from typing import List, Optional

from ..catalog import schema


def _light_candidates(lights: List[dict]) -> List[dict]:
    out = []
    for light in lights:
        if light.get("action") and schema.severity(light["status"]) >= schema.severity(
            schema.WARNING
        ):
            where = "" if light.get("level") is None else " (level %d)" % light["level"]
            out.append(
                {
                    "action": light["action"],
                    "answers": "%s%s is %s: %s"
                    % (light["key"], where, light["status"], light.get("explanation") or ""),
                    "evidence": light["key"],
                    "kind": "light",
                    "status": light["status"],
                }
            )
    return out


def _check_candidates(items: List[dict], fired_flag: str, title: str, parts) -> List[dict]:
    out = []
    for item in items:
        if not item.get(fired_flag):
            continue
        for part in parts:
            for check in item.get(part) or []:
                if check.get("fired") is True and check.get("action"):
                    out.append(
                        {
                            "action": check["action"],
                            "answers": "%s (%s: %s)"
                            % (check.get("text") or check["id"], item.get(title), check["detail"]),
                            "evidence": check["id"],
                            "kind": "check",
                            "status": check.get("band") or schema.WARNING,
                        }
                    )
    return out


def first_action(lights: List[dict], branches: List[dict], patterns: List[dict]) -> Optional[dict]:
    """The action to take first, or None when nothing is in alert and nothing fired.

    Args:
      lights: the light objects, the contribution checks included.
      branches, patterns: the flowchart and pattern results.

    Returns:
      ``{"action", "answers" (the evidence it answers, in words), "evidence" (a light key
      or check id), "kind" ("light", "check", "branch" or "pattern"), "status"}``.
    """
    candidates = _light_candidates(lights)
    candidates += _check_candidates(branches, "fired", "question", ("triggers", "checks"))
    candidates += _check_candidates(
        patterns, "detected", "name", ("symptoms", "any_symptoms", "evidence")
    )
    if candidates:  # max() keeps the first of equals: catalogue order, lights first
        return max(candidates, key=lambda c: schema.severity(c["status"]))
    for branch in branches:
        if branch.get("fired") and branch.get("actions"):
            return {
                "action": branch["actions"][0],
                "answers": branch["question"],
                "evidence": branch["id"],
                "kind": "branch",
                "status": schema.WARNING,
            }
    for pattern in patterns:
        if pattern.get("detected") and pattern.get("fix"):
            return {
                "action": pattern["fix"],
                "answers": pattern["name"],
                "evidence": pattern["id"],
                "kind": "pattern",
                "status": schema.WARNING,
            }
    return None
