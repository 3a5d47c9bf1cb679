"""The reference §16 common patterns, detected from the curves.

A pattern is detected when every ``symptoms`` check fires, at least one
``any_symptoms`` check fires (when the pattern has them) and at least ``min_evidence``
``evidence`` checks fire. Every check is reported either way. A detected pattern is
reported, never turned into a status by itself.
"""

from typing import List

from .. import catalog
from . import checks
from .context import Context
from .rules import correction_json


def evaluate_pattern(ctx: Context, pattern) -> dict:
    """One pattern's result object (http_api.md ``health.patterns[]``)."""
    symptoms = [checks.evaluate(ctx, c) for c in pattern.symptoms]
    any_symptoms = [checks.evaluate(ctx, c) for c in pattern.any_symptoms]
    evidence = [checks.evaluate(ctx, c) for c in pattern.evidence]
    evidence_count = sum(1 for e in evidence if e["fired"] is True)
    detected = (
        all(s["fired"] is True for s in symptoms)
        and (not any_symptoms or any(s["fired"] is True for s in any_symptoms))
        and evidence_count >= pattern.min_evidence
        and bool(symptoms or any_symptoms)
    )
    return {
        "id": pattern.id,
        "name": pattern.name,
        "detected": detected,
        "likely_cause": pattern.likely_cause,
        "fix": pattern.fix,
        "symptoms": symptoms,
        "any_symptoms": any_symptoms,
        "evidence": evidence,
        "evidence_count": evidence_count,
        "min_evidence": pattern.min_evidence,
        "correction": correction_json(pattern.correction),
    }


def evaluate(ctx: Context) -> List[dict]:
    """Every pattern of the catalogue, in the reference's order."""
    return [evaluate_pattern(ctx, p) for p in catalog.patterns()]
