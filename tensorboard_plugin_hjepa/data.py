"""Adapter: TensorBoard's data provider -> ``RunData`` (what the diagnosis judges).

The plugin's routes and the terminal doctor read runs only through this module, and
this module reads only through a ``tensorboard.data.provider.DataProvider`` (never
event files), so both see exactly what TensorBoard serves, under either loading path
(``--load_fast=true``: the Rust data server; ``false``: the Python multiplexer).

Which tags belong to a run:
- every scalar time series of plugin ``hjepa`` (written by ``summary.SummaryWriter``)
  and of plugin ``scalars`` (plain ``add_scalar`` logs) whose tag
  ``catalog.resolve_run`` maps onto a catalogue metric (the catalogue's own tag, an
  alias of another codebase, or a PyTorch Lightning ``_step``/``_epoch`` twin of
  either; a generic alias such as ``loss`` only beside a tag of its codebase);
- the manifest tag ``metadata.MANIFEST_TAG`` of plugin ``hjepa``; its metadata
  content carries the ``RunManifest`` (``metadata.parse_manifest``).
Tags the catalogue does not know are ignored; a run with no catalogue tag is not an
H-JEPA run and is not listed (``scalar_tags_seen`` and ``no_runs_hint`` say what a
logdir without any holds). A curve read through an alias is in the catalogue's units
(the alias's ``scale`` applied; points of its ``no_value`` left out).

Typical use::

    runs = load_runs(provider, ctx, experiment_id="")      # {run: RunData}
    one = load_run(provider, ctx, "", "demo/tiny")         # RunData or None

For caching, ``index_runs`` is the cheap step (metadata only, no samples); its
``RunIndex.fingerprint`` changes whenever a run gains data, and ``read_run`` reads
the samples of one indexed run.
"""

import dataclasses
import logging
import time
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
from tensorboard.data import provider as provider_lib

from . import catalog, metadata
from .metadata import RunManifest
from .run_data import RunData, Series

logger = logging.getLogger(__name__)

SCALARS_PLUGIN = "scalars"  # TensorBoard's own scalar plugin (plain add_scalar logs)
DATA_PLUGINS = (metadata.PLUGIN_NAME, SCALARS_PLUGIN)

# Samples requested from the provider per tag: more than any provider keeps, so the
# provider returns every sample it holds (both providers return all samples when the
# request is at least the count; they do not allocate by the request).
FULL_RESOLUTION = 1 << 30


@dataclasses.dataclass(frozen=True)
class TagInfo:
    """One catalogue tag of a run, as listed by the provider (no samples)."""

    tag: str
    plugin_name: str  # "hjepa" or "scalars"
    resolved: Optional[catalog.Resolved]  # None only for the manifest tag
    max_step: int  # step of the latest datum (the provider always keeps it)
    max_wall_time: float  # its wall time


@dataclasses.dataclass
class RunIndex:
    """What the provider lists for one run, before reading any sample.

    Attributes:
      run: the run name.
      tags: catalogue tags by concrete tag name (plus the manifest tag, if any).
      source: the trainer family (see ``_source_of``).
      manifest: the parsed manifest or None; ``manifest_error`` says why it is None
        when the run has a manifest tag that could not be read.
      fingerprint: changes whenever any tag of the run gains data (it is made of every
        tag's latest datum).
    """

    run: str
    tags: Dict[str, TagInfo]
    source: catalog.Source
    manifest: Optional[RunManifest] = None
    manifest_future: bool = False
    manifest_error: Optional[str] = None

    @property
    def fingerprint(self) -> Tuple:
        return (self.manifest_error,) + tuple(
            sorted((t.tag, t.plugin_name, t.max_step, t.max_wall_time) for t in self.tags.values())
        )

    @property
    def max_step(self) -> Optional[int]:
        steps = [t.max_step for t in self.tags.values() if t.resolved is not None]
        return max(steps) if steps else None

    def chosen_tags(self) -> Dict[Tuple[str, Optional[int]], TagInfo]:
        """One tag per (metric key, level): the catalogue's own tag before an alias, an
        exact alias before an inexact one, a key before its Lightning ``_step`` twin
        before its ``_epoch`` twin (``catalog.Resolved.preference``).

        Only scalar metrics, and per-param-group or per-layer metrics only for their
        first group (the diagnosis reads them per level, not per group).
        """
        chosen: Dict[Tuple[str, Optional[int]], TagInfo] = {}
        for info in sorted(self.tags.values(), key=lambda t: t.tag):
            res = info.resolved
            if res is None or res.metric.kind != "scalar" or res.layer is not None:
                continue
            if res.group is not None and res.group != 0:
                continue
            key = (res.metric.key, res.level)
            current = chosen.get(key)
            if current is None or res.preference < current.resolved.preference:
                chosen[key] = info
        return chosen

    @property
    def convention(self) -> Optional[str]:
        """The naming convention of the run's tags (``catalog.convention_of``)."""
        return catalog.convention_of(t.resolved for t in self.tags.values() if t.resolved)


def _source_of(tags: Iterable[TagInfo]) -> catalog.Source:
    """``hjepa`` if the summary API wrote any tag; else, if most metric tags are other
    codebases' aliases, ``upstream`` or ``other`` (whose aliases are most); else
    ``plain`` (the reference's tags, and their Lightning twins)."""
    tags = list(tags)
    if any(t.plugin_name == metadata.PLUGIN_NAME for t in tags):
        return catalog.Source.HJEPA
    counts: Dict[catalog.Source, int] = {}
    for t in tags:
        if t.resolved is not None:
            source = catalog.source_of(t.resolved)
            counts[source] = counts.get(source, 0) + 1
    plain = counts.pop(catalog.Source.PLAIN, 0)
    if sum(counts.values()) <= plain:
        return catalog.Source.PLAIN
    return max(counts, key=lambda s: (counts[s], s is catalog.Source.UPSTREAM))


class ReloadTolerantProvider:
    """A data provider whose reads survive TensorBoard's own reload race.

    On the Python loading path (``--load_fast=false``) a tag that was just listed can
    be missing a moment later while the multiplexer reloads the run in a background
    thread (a ``KeyError`` from inside TensorBoard). Such a read is tried again after a
    short pause; the data is there once the reload has finished.
    """

    RETRIES = 4
    PAUSE_S = 0.05

    def __init__(self, provider):
        self._provider = provider

    def __getattr__(self, name):
        return getattr(self._provider, name)

    def _call(self, name, *args, **kwargs):
        for attempt in range(self.RETRIES):
            try:
                return getattr(self._provider, name)(*args, **kwargs)
            except KeyError:
                if attempt == self.RETRIES - 1:
                    raise
                time.sleep(self.PAUSE_S * (attempt + 1))
        raise AssertionError("unreachable")

    def list_scalars(self, *args, **kwargs):
        return self._call("list_scalars", *args, **kwargs)

    def read_scalars(self, *args, **kwargs):
        return self._call("read_scalars", *args, **kwargs)

    def read_last_scalars(self, *args, **kwargs):
        return self._call("read_last_scalars", *args, **kwargs)


def _read_last_scalars(provider, ctx, experiment_id: str, plugin_name: str, run_filter):
    """``provider.read_last_scalars``, leaving out tags whose latest value is not a scalar.

    The Python loading path converts every tag's latest value with ``.item()``: one tag
    holding a vector, an empty tensor or a string under scalar metadata fails the whole
    listing (every run would vanish). Then the catalogue tags are read one by one and
    those that cannot be read are left out (logged): their lights say "no data".
    """
    try:
        return provider.read_last_scalars(
            ctx, experiment_id=experiment_id, plugin_name=plugin_name, run_tag_filter=run_filter
        )
    except (ValueError, TypeError) as e:
        logger.warning("listing %s scalars failed (%s); reading tag by tag", plugin_name, e)
    listing = (
        provider.list_scalars(
            ctx, experiment_id=experiment_id, plugin_name=plugin_name, run_tag_filter=run_filter
        )
        or {}
    )
    out: Dict[str, dict] = {}
    for run, tags in listing.items():
        for tag in tags:
            if tag != metadata.MANIFEST_TAG and catalog.resolve(tag, scoped=True) is None:
                continue
            try:
                last = (
                    provider.read_last_scalars(
                        ctx,
                        experiment_id=experiment_id,
                        plugin_name=plugin_name,
                        run_tag_filter=provider_lib.RunTagFilter(runs=[run], tags=[tag]),
                    )
                    or {}
                )
            except (ValueError, TypeError) as e:
                logger.warning(
                    "run %r: tag %r holds values that are not scalars (%s); ignored", run, tag, e
                )
                continue
            datum = last.get(run, {}).get(tag)
            if datum is not None:
                out.setdefault(run, {})[tag] = datum
    return out


def index_runs(
    provider, ctx, experiment_id: str, runs: Optional[Iterable[str]] = None
) -> Dict[str, RunIndex]:
    """List the H-JEPA runs of an experiment and their catalogue tags (no samples).

    Args:
      provider: a TensorBoard ``DataProvider``.
      ctx: a ``tensorboard.context.RequestContext`` (or None).
      experiment_id: the experiment ("" for a local TensorBoard).
      runs: restrict to these run names; None for all.

    Returns:
      ``{run: RunIndex}`` for every run with at least one catalogue metric tag.
    """
    runs = None if runs is None else list(runs)
    run_filter = None if runs is None else provider_lib.RunTagFilter(runs=runs)
    found: Dict[str, Dict[str, TagInfo]] = {}
    # The last datum of each tag names the tags and fingerprints their data in O(tags):
    # ``list_scalars`` would give max_step too, but the Python loading path computes it
    # by scanning every event of every tag.
    lasts = {
        plugin_name: _read_last_scalars(provider, ctx, experiment_id, plugin_name, run_filter) or {}
        for plugin_name in DATA_PLUGINS
    }
    # A run's tags are resolved together: a generic alias (``loss``, ``tau``) is read
    # only beside a tag of its codebase.
    read = {
        run: catalog.resolve_run(tag for last in lasts.values() for tag in last.get(run, {}))
        for run in {run for last in lasts.values() for run in last}
    }
    for plugin_name, last in lasts.items():
        for run, tags in last.items():
            for tag, datum in tags.items():
                if plugin_name == metadata.PLUGIN_NAME and tag == metadata.MANIFEST_TAG:
                    resolved = None
                else:
                    resolved = read[run].get(tag)
                    if resolved is None:
                        continue
                found.setdefault(run, {})[tag] = TagInfo(
                    tag=tag,
                    plugin_name=plugin_name,
                    resolved=resolved,
                    max_step=int(datum.step),
                    max_wall_time=float(datum.wall_time),
                )
    # The manifest's metadata content: a listing of that one tag only.
    manifest_content: Dict[str, bytes] = {}
    with_manifest = [run for run, tags in found.items() if metadata.MANIFEST_TAG in tags]
    if with_manifest:
        listing = provider.list_scalars(
            ctx,
            experiment_id=experiment_id,
            plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=provider_lib.RunTagFilter(
                runs=with_manifest, tags=[metadata.MANIFEST_TAG]
            ),
        )
        for run, tags in (listing or {}).items():
            if metadata.MANIFEST_TAG in tags:
                manifest_content[run] = tags[metadata.MANIFEST_TAG].plugin_content
    out = {}
    for run, tags in found.items():
        if not any(t.resolved is not None for t in tags.values()):
            continue  # a manifest alone: nothing to judge yet
        index = RunIndex(run=run, tags=tags, source=_source_of(tags.values()))
        if run in manifest_content:
            parsed = metadata.parse_manifest(manifest_content[run])
            index.manifest, index.manifest_future, index.manifest_error = parsed
            if index.manifest_error:
                logger.warning("run %r: %s", run, index.manifest_error)
        out[run] = index
    return out


def series_from_datums(tag: str, datums, exact: bool) -> Series:
    """A Series from provider datums; vectorised when already sorted by unique step.

    A tag read through an alias comes in the catalogue's units: its values times the
    alias's ``scale``, without the points that hold the alias's ``no_value``.
    """
    resolved = catalog.resolve(tag, scoped=True)
    alias = resolved.alias if resolved is not None else None
    if alias is not None and alias.no_value is not None:
        datums = [d for d in datums if d.value != alias.no_value]
    n = len(datums)
    steps = np.fromiter((d.step for d in datums), dtype=np.int64, count=n)
    if n > 1 and not np.all(steps[1:] > steps[:-1]):
        series = Series.from_points(
            tag, ((d.step, d.wall_time, d.value) for d in datums), exact=exact
        )
    else:
        wall = np.fromiter((d.wall_time for d in datums), dtype=np.float64, count=n)
        values = np.fromiter((d.value for d in datums), dtype=np.float64, count=n)
        series = Series(tag=tag, steps=steps, wall_times=wall, values=values, exact=exact)
    if resolved is not None and resolved.scale != 1.0:
        series.values = series.values * resolved.scale
    return series


# --------------------------------------------------------------- a logdir with no run
GUIDE = "docs/own_training_loop.md"  # how to log the catalogue's tags from one's own loop
TAGS_SHOWN = 20  # tags named in the hint; the count says how many there are


def scalar_tags_seen(provider, ctx, experiment_id: str) -> List[str]:
    """Every scalar tag name of an experiment, sorted (what a logdir without an H-JEPA run
    holds). Listing a plugin that fails is skipped: the hint is best effort."""
    tags = set()
    for plugin_name in DATA_PLUGINS:
        try:
            listing = provider.list_scalars(
                ctx, experiment_id=experiment_id, plugin_name=plugin_name
            )
        except Exception:  # pylint: disable=broad-except
            logger.warning("hjepa: listing %s tags for the hint failed", plugin_name, exc_info=True)
            continue
        for run_tags in (listing or {}).values():
            tags.update(run_tags)
    tags.discard(metadata.MANIFEST_TAG)
    return sorted(tags)


def no_runs_hint(tags: List[str]) -> dict:
    """What to tell a user whose logdir has no H-JEPA run: the tags seen and the guide.

    Returns:
      ``{"tags_seen": up to TAGS_SHOWN tag names, "tags_seen_count": how many, "guide":
      GUIDE, "text": one sentence}``.
    """
    shown = list(tags[:TAGS_SHOWN])
    if tags:
        seen = "none of its %d scalar tag%s is a catalogue tag or alias (%s%s)" % (
            len(tags),
            "" if len(tags) == 1 else "s",
            ", ".join(tag if tag.isprintable() else repr(tag) for tag in shown),
            ", +%d more" % (len(tags) - len(shown)) if len(tags) > len(shown) else "",
        )
    else:
        seen = "it holds no scalar tag"
    return {
        "tags_seen": shown,
        "tags_seen_count": len(tags),
        "guide": GUIDE,
        "text": "%s; to log the catalogue's tags from your own training loop or "
        "LightningModule, see %s (every tag: `hjepa-doctor catalog`)" % (seen, GUIDE),
    }


def read_tags(provider, ctx, experiment_id: str, run: str, tags: List[TagInfo]):
    """All samples the provider holds for these tags of one run: ``{tag: [ScalarDatum]}``."""
    out = {}
    for plugin_name in DATA_PLUGINS:
        wanted = [t.tag for t in tags if t.plugin_name == plugin_name]
        if not wanted:
            continue
        result = provider.read_scalars(
            ctx,
            experiment_id=experiment_id,
            plugin_name=plugin_name,
            downsample=FULL_RESOLUTION,
            run_tag_filter=provider_lib.RunTagFilter(runs=[run], tags=wanted),
        )
        out.update((result or {}).get(run, {}))
    return out


def read_run(provider, ctx, experiment_id: str, index: RunIndex) -> RunData:
    """Read every chosen catalogue curve of an indexed run into a ``RunData``."""
    chosen = index.chosen_tags()
    samples = read_tags(provider, ctx, experiment_id, index.run, list(chosen.values()))
    series = {}
    for key, info in chosen.items():
        datums = samples.get(info.tag)
        if datums:
            series[key] = series_from_datums(info.tag, datums, info.resolved.exact)
    return RunData(
        run=index.run,
        source=index.source,
        manifest=index.manifest,
        manifest_future=index.manifest_future,
        manifest_error=index.manifest_error,
        series=series,
    )


def load_runs(
    provider, ctx, experiment_id: str, runs: Optional[Iterable[str]] = None
) -> Dict[str, RunData]:
    """``RunData`` of every H-JEPA run (or of the named ones) of an experiment.

    Args:
      provider: a TensorBoard ``DataProvider`` (e.g. ``MultiplexerDataProvider``).
      ctx: a ``RequestContext`` or None.
      experiment_id: "" for a local TensorBoard.
      runs: restrict to these run names; unknown names are silently absent.

    Returns:
      ``{run: RunData}``, sorted by run name.
    """
    indexes = index_runs(provider, ctx, experiment_id, runs)
    return {run: read_run(provider, ctx, experiment_id, indexes[run]) for run in sorted(indexes)}


def load_run(provider, ctx, experiment_id: str, run: str) -> Optional[RunData]:
    """``RunData`` of one run, or None when it has no catalogue tag (or does not exist)."""
    return load_runs(provider, ctx, experiment_id, [run]).get(run)
