"""Catalogue records in words: a bound and a whole verdict rule on one line.

The metric table of docs/metrics.md, ``hjepa-doctor catalog`` and the diagnosis texts describe
rules through these functions, so a rule reads the same wherever it is shown.
"""

from ..formatting import fmt
from .schema import NORMALISE_NONE, DimBound, ProgressBound, RankBound

_NORMALISED_NAME = {"sqrt_dim": "value*sqrt(D)", "rank_fraction": "value/min(N,D)"}


def bound_text(bound) -> str:
    """A catalogue bound as written in a rule: '0.1', 'max(0.3, 4/sqrt(D))', '[0.8, 1.2]'."""
    if isinstance(bound, DimBound):
        return "max(%s, %s/sqrt(D))" % (fmt(bound.floor), fmt(bound.per_sqrt_dim))
    if isinstance(bound, RankBound):
        return "max(%s, %s/min(N,D))" % (fmt(bound.fraction), fmt(bound.directions))
    if isinstance(bound, ProgressBound):
        return "%s by progress (%s when unknown)" % (
            " -> ".join("%s at %.0f%%" % (fmt(b), 100 * p) for p, b in bound.points if b > -1),
            fmt(bound.when_unknown),
        )
    if isinstance(bound, (tuple, list)):
        return "[%s, %s]" % (fmt(bound[0]), fmt(bound[1]))
    return fmt(bound)


def rule_summary(rule) -> str:
    """One line per rule: 'collapse: value*sqrt(D) < 0.1; warning: value*sqrt(D) < 0.2'."""
    if rule is None:
        return "charted, not judged"
    subject = (
        _NORMALISED_NAME.get(rule.normalise, "value")
        if rule.normalise != NORMALISE_NONE
        else "value"
    )
    if rule.statistic != "recent":
        subject = "%s(%s)" % (rule.statistic, subject)
    return "; ".join(
        "%s: %s %s %s" % (band.status, subject, band.op, bound_text(band.bound))
        for band in rule.bands
    )
