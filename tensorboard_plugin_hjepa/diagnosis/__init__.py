"""The diagnosis engine: pure numpy verdicts from a run's curves."""
