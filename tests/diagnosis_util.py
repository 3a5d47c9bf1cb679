"""Helpers for the diagnosis tests: build a RunData from plain arrays, find results.

run = make_run({"loss.total": jepa_loss(1000),
                ("collapse.mean_std_per_dim", 0): const(0.03, 20, every=50)},
               dim=768, levels=1)
health = diagnose(run)
light(health, "collapse.mean_std_per_dim", 0)["status"]
"""

import math
from typing import Dict, Optional, Tuple, Union

import numpy as np

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import Source
from tensorboard_plugin_hjepa.run_data import RunData, Series
from tensorboard_plugin_hjepa.summary import RunManifest

Key = Union[str, Tuple[str, Optional[int]]]
Curve = Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]

_MISSING = object()


def series(
    key: str, level: Optional[int], curve: Curve, *, tag: Optional[str] = None, exact: bool = True
) -> Series:
    """A Series of a catalogue metric: ``curve`` is values (steps 0..n-1) or (steps, values)."""
    if isinstance(curve, tuple):
        steps, values = curve
    else:
        values = curve
        steps = np.arange(len(values))
    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if tag is None:
        tag = catalog.tag(key, level=level)
    return Series(tag=tag, steps=steps, wall_times=steps * 0.5, values=values, exact=exact)


def make_run(
    curves: Dict[Key, Curve],
    *,
    dim=_MISSING,
    levels: Optional[int] = 1,
    weights=None,
    total_steps: Optional[int] = None,
    rows: Optional[int] = None,
    gpu_total: Optional[float] = None,
    manifest: bool = True,
    source: Source = Source.HJEPA,
    name: str = "run",
) -> RunData:
    """A RunData of these curves; a manifest unless ``manifest=False``.

    ``curves`` keys are a metric key (level None) or (key, level).
    ``dim`` defaults to 768 with a manifest; pass None for "embed dim unknown".
    """
    data = {}
    for key, curve in curves.items():
        metric_key, level = key if isinstance(key, tuple) else (key, None)
        data[(metric_key, level)] = series(metric_key, level, curve)
    man = None
    if manifest:
        n = levels or 1
        man = RunManifest(
            num_levels=n,
            hierarchy_weights=weights if weights is not None else [1.0] * n,
            embed_dim=768 if dim is _MISSING else dim,
            total_steps=total_steps,
            collapse_rows=rows,
            gpu_memory_total_gb=gpu_total,
        )
    return RunData(run=name, source=source, manifest=man, series=data)


def const(value: float, n: int = 20, *, every: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """A flat curve of ``n`` points logged every ``every`` steps."""
    return np.arange(n) * every, np.full(n, float(value))


def jepa_loss(n: int = 2000, *, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """A realistic healthy JEPA loss: a fast drop, a small rise (~15%), then a slow fall."""
    t = np.linspace(0.0, 1.0, n)
    base = 0.15 + 0.85 * np.exp(-t / 0.05)
    base = base + 0.035 * np.exp(-(((t - 0.25) / 0.07) ** 2)) - 0.03 * t
    rng = np.random.default_rng(seed)
    return base * (1.0 + noise * rng.standard_normal(n))


def light(health: dict, key: str, level: Optional[int] = None) -> dict:
    matches = [
        x
        for x in health["lights"] + health["contributions"]["checks"]
        if x["key"] == key and x["level"] == level
    ]
    assert len(matches) == 1, "%d lights for %s level %s" % (len(matches), key, level)
    return matches[0]


def branch(health: dict, branch_id: str) -> dict:
    return next(b for b in health["flowchart"] if b["id"] == branch_id)


def pattern(health: dict, pattern_id: str) -> dict:
    return next(p for p in health["patterns"] if p["id"] == pattern_id)


def check(result: dict, check_id: str, group: str = None) -> dict:
    groups = (
        [group]
        if group
        else ["triggers", "checks", "applies_when", "symptoms", "any_symptoms", "evidence"]
    )
    for name in groups:
        for item in result.get(name) or []:
            if item["id"] == check_id:
                return item
    raise KeyError(check_id)


def assert_json_types(value, path="health"):
    """Every node is a plain JSON type (no numpy scalars, no tuples)."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), "%s: key %r" % (path, k)
            assert_json_types(v, "%s.%s" % (path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_json_types(v, "%s[%d]" % (path, i))
    else:
        assert value is None or type(value) in (str, int, float, bool), "%s is %s" % (
            path,
            type(value).__name__,
        )
        if type(value) is float and not math.isfinite(value):
            # Non-finite floats are allowed only as genuine infinities of ratios.
            assert not math.isnan(value), "%s is NaN: use None for unknown" % path
