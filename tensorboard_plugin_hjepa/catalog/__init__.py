"""The metric catalogue: the single source of truth for tags, thresholds and texts.

Typical use::

    from tensorboard_plugin_hjepa import catalog
    catalog.tag("collapse.mean_std_per_dim", level=0)
    # -> "train/collapse/level0_mean_std_per_dim"
    catalog.resolve("train/loss_h1")      # an upstream alias
    # -> Resolved(metric=<loss.level>, level=1, alias=Alias(...))
"""

import dataclasses
import enum
import functools
import json
import re
from typing import Dict, Iterator, Optional

from .derived_metrics import DERIVED
from .flowchart import BRANCHES, PATTERNS
from .metrics import METRICS, UNMAPPED_UPSTREAM_TAGS
from .schema import (  # noqa: F401  (re-exported)
    ALERTS,
    COLLAPSE,
    CRITICAL,
    HEALTHY,
    STATISTICS,
    STATUSES,
    UNKNOWN,
    WARNING,
    Alias,
    DimBound,
    Metric,
    ProgressBound,
    RankBound,
)

CATALOG_VERSION = 1

# Placeholders a tag pattern may hold, and what each stands for.
PLACEHOLDERS = {"{i}": "level", "{group}": "group", "{layer}": "layer"}
# Numbers as ``tag()`` writes them: ASCII digits, no leading zero, at most 4 digits.
# ``\d`` would also accept "level00" (which sorts before "level0_" and would replace
# the real level-0 curve), other scripts' digits ("level\u0663") and absurd levels.
_NUMBER = r"(?:0|[1-9][0-9]{0,3})"
_PLACEHOLDER_REGEX = {
    "{i}": r"(?P<level>%s)" % _NUMBER,
    "{group}": r"(?P<group>%s)" % _NUMBER,
    "{layer}": r"(?P<layer>[A-Za-z0-9_.\-]+?)",
}


class Source(enum.Enum):
    """Which kind of trainer wrote a tag: this project's, plain reference tags, upstream."""

    HJEPA = "hjepa"
    PLAIN = "plain"
    UPSTREAM = "upstream"


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A concrete tag mapped back onto its catalogue metric."""

    metric: Metric
    level: Optional[int] = None
    group: Optional[int] = None
    layer: Optional[str] = None
    alias: Optional[Alias] = None

    @property
    def exact(self) -> bool:
        return self.alias is None or self.alias.exact


_BY_KEY: Dict[str, Metric] = {m.key: m for m in METRICS}
if len(_BY_KEY) != len(METRICS):  # pragma: no cover - guards editing mistakes
    raise RuntimeError("duplicate metric key in the catalogue")


def metrics() -> Iterator[Metric]:
    """All metrics in reference order."""
    return iter(METRICS)


def get(key: str) -> Metric:
    """The metric with this key.

    Raises:
      KeyError: naming the unknown key and the closest known ones.
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(key, list(_BY_KEY), n=3)
        raise KeyError(
            "unknown metric key %r%s"
            % (key, "; did you mean %s?" % ", ".join(close) if close else "")
        ) from None


def tag(
    key: str,
    *,
    level: Optional[int] = None,
    group: Optional[int] = None,
    layer: Optional[str] = None,
) -> str:
    """The event-file tag of a metric, with its placeholders filled.

    Raises:
      KeyError: unknown key.
      ValueError: a placeholder of the pattern is not given, or one is given that the
        pattern does not have.
    """
    pattern = get(key).tag
    values = {"{i}": level, "{group}": group, "{layer}": layer}
    for placeholder, value in values.items():
        name = PLACEHOLDERS[placeholder]
        if placeholder in pattern:
            if value is None:
                raise ValueError("metric %r needs %s=" % (key, name))
            if name == "layer" and not re.fullmatch(r"[A-Za-z0-9_.\-]+", str(value)):
                raise ValueError("layer name %r: use letters, digits, '_', '.', '-'" % (value,))
            if name != "layer" and (not isinstance(value, int) or value < 0):
                raise ValueError("%s must be a non-negative int, got %r" % (name, value))
            pattern = pattern.replace(placeholder, str(value))
        elif value is not None:
            raise ValueError("metric %r has no %s" % (key, name))
    return pattern


def _compile(pattern: str) -> "re.Pattern":
    regex = re.escape(pattern)
    for placeholder, group in _PLACEHOLDER_REGEX.items():
        regex = regex.replace(re.escape(placeholder), group)
    return re.compile(regex + r"\Z")


@functools.lru_cache(maxsize=None)
def _matchers():
    """(compiled pattern, metric, alias or None) for every tag and alias, exact tags first."""
    rows = []
    for metric in METRICS:
        rows.append((_compile(metric.tag), metric, None))
        for alias in metric.aliases:
            rows.append((_compile(alias.tag), metric, alias))
    return tuple(rows)


@functools.lru_cache(maxsize=4096)
def resolve(concrete_tag: str) -> Optional[Resolved]:
    """Map a concrete tag (ours or an alias) onto its metric; None when unknown."""
    if not isinstance(concrete_tag, str) or len(concrete_tag) > 512:
        return None
    for regex, metric, alias in _matchers():
        match = regex.match(concrete_tag)
        if not match:
            continue
        parts = match.groupdict()
        level = int(parts["level"]) if parts.get("level") is not None else None
        if alias is not None and alias.level is not None:
            level = alias.level
        group = int(parts["group"]) if parts.get("group") is not None else None
        return Resolved(metric, level=level, group=group, layer=parts.get("layer"), alias=alias)
    return None


def source_of(resolved: Resolved) -> Source:
    """Which family of trainer a resolved tag comes from (ignoring plugin metadata)."""
    return Source.UPSTREAM if resolved.alias is not None else Source.PLAIN


def branches():
    return BRANCHES


def patterns():
    return PATTERNS


def derived():
    return DERIVED


_BOUND_KINDS = {DimBound: "dim_bound", RankBound: "rank_bound", ProgressBound: "progress_bound"}


def _jsonable(value):
    if dataclasses.is_dataclass(value):
        out = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        kind = _BOUND_KINDS.get(type(value))
        if kind:
            out["kind"] = kind
        return out
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def to_dict() -> dict:
    """The whole catalogue as JSON-ready data (the ``catalog`` route and doctor use it)."""
    metrics_out = []
    for metric in METRICS:
        item = _jsonable(metric)
        item["per_level"] = metric.per_level
        metrics_out.append(item)
    return {
        "version": CATALOG_VERSION,
        "statuses": list(STATUSES),
        "statistics": dict(STATISTICS),
        "placeholders": dict(PLACEHOLDERS),
        "metrics": metrics_out,
        "derived": _jsonable(DERIVED),
        "flowchart": _jsonable(BRANCHES),
        "patterns": _jsonable(PATTERNS),
        "unmapped_upstream_tags": dict(UNMAPPED_UPSTREAM_TAGS),
    }


def to_json(**kwargs) -> str:
    return json.dumps(to_dict(), **kwargs)
