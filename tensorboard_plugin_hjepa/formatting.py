"""How numbers are written for people: the one formatter of the plugin's texts.

The diagnosis explanations, the doctor and the tables of docs/metrics.md all write numbers
through ``fmt`` so that a bound reads the same everywhere (5 significant digits,
integers as integers, "unknown" for None).
"""

import math


def fmt(value) -> str:
    """A short human form of a number (5 significant digits; ints as ints)."""
    if value is None:
        return "unknown"
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return "%.5g" % value
