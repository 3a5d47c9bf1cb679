"""Benchmark of the H-JEPA tab in a real browser: hover and redraw times of a chart of
4 runs at 100,000 points against the same chart at 1,000 points.

Run: ``python -m benchmarks.tab`` (see ``__main__``).
"""
