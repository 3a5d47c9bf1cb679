"""The metric catalogue: the single source of truth for tags, thresholds and texts.

Typical use::

    from tensorboard_plugin_hjepa import catalog
    catalog.tag("collapse.mean_std_per_dim", level=0)
    # -> "train/collapse/level0_mean_std_per_dim"
    catalog.resolve("train/loss_h1")      # an upstream alias
    # -> Resolved(metric=<loss.level>, level=1, alias=Alias(...))
    catalog.resolve("train_loss_step")    # Lightning's on_step twin of an alias
    # -> Resolved(metric=<loss.total>, alias=Alias("train_loss", ...), twin="step")
    read = catalog.resolve_run(["loss", "target_var"])  # a run's tags: scoped aliases too
    catalog.convention_of(read.values())                 # -> "fairseq data2vec"
"""

import dataclasses
import enum
import functools
import json
import re
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .derived_metrics import DERIVED
from .flowchart import BRANCHES, PATTERNS
from .metrics import CONVENTIONS, METRICS, UNMAPPED_UPSTREAM_TAGS, UPSTREAM
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
    Convention,
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
    # Only in aliases: a name part another trainer chooses (Lightning's optimizer class,
    # "AdamW" or "AdamW-1" for a second one; a teacher-student wrapper's name).
    "{optimizer}": r"(?P<optimizer>[A-Za-z][A-Za-z0-9_]*(?:-[0-9]+)?)",
    "{name}": r"(?P<name>[A-Za-z0-9_.\-]+?)",
}
# PyTorch Lightning's ``self.log(key, on_step=True, on_epoch=True)`` writes two twins of a
# key, ``key_step`` and ``key_epoch``: both are read as the key's metric, the step series
# first (``data.RunIndex.chosen_tags``).
TWINS = ("step", "epoch")


class Source(enum.Enum):
    """Which kind of trainer wrote a tag: this project's, plain reference tags, upstream,
    or another codebase (which one: ``convention_of``)."""

    HJEPA = "hjepa"
    PLAIN = "plain"
    UPSTREAM = "upstream"
    OTHER = "other"


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A concrete tag mapped back onto its catalogue metric.

    ``alias`` is the alias the tag (or, for a twin, the key it twins) matched, None for
    the catalogue's own tag; ``twin`` is "step" or "epoch" for Lightning's twins of a
    key, else None.
    """

    metric: Metric
    level: Optional[int] = None
    group: Optional[int] = None
    layer: Optional[str] = None
    alias: Optional[Alias] = None
    twin: Optional[str] = None

    @property
    def exact(self) -> bool:
        return self.alias is None or self.alias.exact

    @property
    def scale(self) -> float:
        """What a logged value is multiplied by to be in the catalogue's units."""
        return self.alias.scale if self.alias is not None else 1.0

    @property
    def preference(self) -> Tuple[int, int, int, int]:
        """Sort key among tags of the same (metric, level): the catalogue's own tag, then
        exact aliases before inexact ones, in the catalogue's order, a key before its
        ``_step`` twin before its ``_epoch`` twin."""
        order = (
            -1
            if self.alias is None
            else next(i for i, a in enumerate(self.metric.aliases) if a is self.alias)
        )
        twin = 0 if self.twin is None else 1 + TWINS.index(self.twin)
        return (0 if self.alias is None else 1, 0 if self.exact else 1, order, twin)


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
    """(compiled pattern, metric, alias or None) for every tag and alias: the catalogue's
    own tags first, then the aliases, those with a ``scope`` last."""
    own, aliases, scoped = [], [], []
    for metric in METRICS:
        own.append((_compile(metric.tag), metric, None))
        for alias in metric.aliases:
            (scoped if alias.scope else aliases).append((_compile(alias.tag), metric, alias))
    return tuple(own + aliases + scoped)


def _match(concrete_tag: str, scoped: bool) -> Optional[Resolved]:
    for regex, metric, alias in _matchers():
        if alias is not None and alias.scope and not scoped:
            break  # the scoped aliases come last
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


@functools.lru_cache(maxsize=8192)
def resolve(concrete_tag: str, *, scoped: bool = False) -> Optional[Resolved]:
    """Map a concrete tag (ours, an alias, or a Lightning ``_step``/``_epoch`` twin of
    either) onto its metric; None when unknown.

    Args:
      concrete_tag: the tag as logged.
      scoped: also match aliases with a ``scope`` (generic names such as ``loss`` or
        ``tau``); whether such a match holds depends on the run's other tags
        (``resolve_run``), so by default they are not matched.
    """
    if not isinstance(concrete_tag, str) or len(concrete_tag) > 512:
        return None
    resolved = _match(concrete_tag, scoped)
    if resolved is not None:
        return resolved
    for twin in TWINS:
        suffix = "_" + twin
        if concrete_tag.endswith(suffix) and len(concrete_tag) > len(suffix):
            base = _match(concrete_tag[: -len(suffix)], scoped)
            if base is not None:
                return dataclasses.replace(base, twin=twin)
    return None


def resolve_run(tags: Iterable[str]) -> Dict[str, Resolved]:
    """``{tag: Resolved}`` for the tags of one run that the catalogue reads.

    An alias with a ``scope`` (a generic name: ``loss``, ``lr``, ``tau``, ``ema_decay``)
    is read only when the run also has an unscoped alias of one of its conventions (a
    data2vec run's ``loss`` beside its ``target_var``); elsewhere it is left out.
    """
    resolved = {}
    for tag in tags:
        res = resolve(tag, scoped=True)
        if res is not None:
            resolved[tag] = res
    present = {
        r.alias.source for r in resolved.values() if r.alias is not None and not r.alias.scope
    }
    return {
        tag: r
        for tag, r in resolved.items()
        if r.alias is None or not r.alias.scope or present.intersection(r.alias.scope)
    }


def source_of(resolved: Resolved) -> Source:
    """Which family of trainer a resolved tag comes from (ignoring plugin metadata): the
    reference's own tags (and their Lightning twins) are ``plain``, the upstream H-JEPA's
    aliases ``upstream``, any other codebase's ``other``."""
    if resolved.alias is None:
        return Source.PLAIN
    return Source.UPSTREAM if resolved.alias.source == UPSTREAM else Source.OTHER


_CONVENTIONS: Dict[str, Convention] = {c.name: c for c in CONVENTIONS}


def conventions() -> Tuple[Convention, ...]:
    """Every codebase whose tags the catalogue reads (its source profiles)."""
    return CONVENTIONS


def convention(name: str) -> Optional[Convention]:
    """The Convention named ``name`` (an alias's ``source``), or None."""
    return _CONVENTIONS.get(name)


REFERENCE_THROUGH_LIGHTNING = "the reference's tags, logged through PyTorch Lightning"
_LIGHTNING = next(c for c in CONVENTIONS if c.lightning and c.generic)


def convention_of(resolved: Iterable[Resolved]) -> Optional[str]:
    """The naming convention of a run's tags, in words; None for the catalogue's own tags.

    The codebase most of the run's aliases come from, a specific one before a generic one
    (``train_loss`` and ``lr-AdamW`` are written by many); a generic name read only beside
    its codebase's tags (an alias with a ``scope``) does not vote. A run whose tags are
    mostly the catalogue's own is named after them ("the reference's tags, logged through
    PyTorch Lightning" when Lightning's twins or its learning-rate monitor wrote some).
    "(through PyTorch Lightning)" is added when Lightning wrote some of the tags of a
    codebase that does not log through Lightning itself.
    """
    counts: Dict[str, int] = {}
    twins = False
    own = 0
    for res in resolved:
        twins = twins or res.twin is not None
        if res.alias is None:
            own += 1
        elif not res.alias.scope:
            counts[res.alias.source] = counts.get(res.alias.source, 0) + 1
    through_lightning = twins or _LIGHTNING.name in counts
    if own >= sum(counts.values()):
        return REFERENCE_THROUGH_LIGHTNING if own and through_lightning else None
    order = {c.name: i for i, c in enumerate(CONVENTIONS)}
    specific = [name for name in counts if not getattr(convention(name), "generic", False)]
    pool = specific or list(counts)
    name = min(pool, key=lambda n: (-counts[n], order.get(n, len(order))))
    chosen = convention(name)
    if through_lightning and (chosen is None or not chosen.lightning):
        return "%s (through PyTorch Lightning)" % name
    return name


def logs_through_lightning(name: Optional[str]) -> bool:
    """Whether a run of this convention (``convention_of``'s answer) logs with ``self.log``."""
    if not name:
        return False
    if name == REFERENCE_THROUGH_LIGHTNING or name.endswith("(through PyTorch Lightning)"):
        return True
    return bool(getattr(convention(name), "lightning", False))


# ------------------------------------------------------------------------- coverage
# The metrics a derived quantity's light reads (``diagnosis.derived``), besides run facts
# from the manifest (planned length, weights); default: its ``of_metric``.
_VS_RANDOM_INIT = ("eval.knn_top1", "eval.knn_top1_random_init", "eval.probe_queries")
_DERIVED_INPUTS = {
    "derived.contribution_fall": ("loss.level",),
    "derived.gpu_memory_fraction": ("performance.gpu_memory_reserved_gb",),
    "derived.knn_vs_random_init": _VS_RANDOM_INIT,
    "derived.knn_gain": _VS_RANDOM_INIT,
    "derived.knn_vs_chance": ("eval.knn_top1", "eval.num_classes", "eval.probe_queries"),
    "derived.knn_fall": ("eval.knn_top1", "eval.probe_queries"),
}


def inputs(key: str) -> Tuple[str, ...]:
    """The metric keys the light of ``key`` (a metric or a derived quantity) reads.

    Raises:
      KeyError: an unknown key.
    """
    if not key.startswith("derived."):
        get(key)
        return (key,)
    if key in _DERIVED_INPUTS:
        return _DERIVED_INPUTS[key]
    for record in DERIVED:
        if record.key == key:
            return (record.of_metric,) if record.of_metric else ()
    raise KeyError("unknown derived quantity %r" % (key,))


def write_calls(key: str, level: Optional[int] = None) -> Tuple[str, str]:
    """(summary API call, Lightning call): the one line that logs a metric from a loop.

    ``writer`` is a ``tensorboard_plugin_hjepa.summary.SummaryWriter``; ``self`` a
    LightningModule (inside a hook, where ``self.log`` writes at the global step).
    """
    metric = get(key)
    group = 0 if "{group}" in metric.tag else None
    level = level if metric.per_level else None
    args: List[str] = []
    if level is not None:
        args.append("level=%d" % level)
    if group is not None:
        args.append("group=0")
    summary_api = 'writer.scalar("%s", value, step%s)' % (
        key,
        "".join(", " + a for a in args),
    )
    lightning = 'self.log("%s", value)' % tag(key, level=level, group=group)
    return summary_api, lightning


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
        "conventions": _jsonable(CONVENTIONS),
    }


def to_json(**kwargs) -> str:
    return json.dumps(to_dict(), **kwargs)
