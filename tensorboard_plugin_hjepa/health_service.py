"""The health service: what the plugin's JSON routes answer, without HTTP.

``HealthService`` holds the runs, verdicts and curves of one TensorBoard data provider.
``plugin.py`` parses the request parameters and turns results and ``tensorboard.errors``
exceptions into JSON responses; everything here is plain Python over a data provider,
testable without a server. The contract is ``http_api.md``.

Verdicts are computed once per data change, not per request: each run's health is
cached under its fingerprint (every catalogue tag's max step and max wall time, as the
provider lists them) and the embedding dimension the request assumes (``embed_dim``,
for runs whose manifest gives none), so ``health`` on an unchanged run and ``runs`` over
unchanged runs cost one metadata listing. The listing itself is memoised for
``listing_ttl_s`` seconds (TensorBoard reloads data every few seconds at most; on the
Python loading path a listing scans every event of every tag).

The service takes the engine's answer as it is and adds to it in one place,
``_complete``: what only the data provider knows (the run's name as TensorBoard lists it,
whether each curve is a sample) and the timeline. A run's entry of the ``runs`` answer is
built once, from its answer, by the engine's ``summarize``.

Failures never escape as a 500: an exception while reading or diagnosing one run
makes that run's verdict ``unknown`` with the reason (and is logged).
"""

import collections
import gzip
import json
import logging
import threading
import time
from typing import Callable, Dict, Optional, Tuple

from tensorboard import errors
from tensorboard.backend import json_util

from . import catalog, data
from .diagnosis import engine, timeline
from .unknown import unknown_health

logger = logging.getLogger(__name__)

DEFAULT_LISTING_TTL_S = 1.0
WORST_SHOWN = 3  # lights in a `runs` entry's "worst"
# Verdicts kept per run: one per embedding dimension asked for, the least recently
# used forgotten first (a client stepping through D values cannot grow the cache).
DIMS_PER_RUN = 4


class ListingError(Exception):
    """TensorBoard's data provider could not list a run (answered as unknown, not 500)."""


class Gzipped(bytes):
    """A JSON answer already serialised (as ``http_util.Respond`` would) and gzipped."""

    @classmethod
    def of(cls, payload) -> "Gzipped":
        text = json.dumps(json_util.Cleanse(payload, "utf-8"), ensure_ascii=True)
        return cls(gzip.compress(text.encode("ascii"), compresslevel=3, mtime=0))

    def payload(self):
        return json.loads(gzip.decompress(self))


class _Entry:
    """One cached verdict: the health answer, the run's entry of ``runs``, and whether
    the service has added its part to the answer yet (``HealthService._complete``)."""

    __slots__ = ("fingerprint", "health", "summary", "complete", "_health_gzip")

    def __init__(self, fingerprint, health, summary):
        self.fingerprint = fingerprint
        self.health = health
        self.summary = summary
        self.complete = False
        self._health_gzip = None

    def reset_gzip(self) -> None:
        self._health_gzip = None

    @property
    def health_gzip(self) -> Gzipped:
        if self._health_gzip is None:  # a race only serialises twice
            self._health_gzip = Gzipped.of(self.health)
        return self._health_gzip


class HealthService:
    """Runs, verdicts and curves of one data provider, with per-run verdict caching.

    Args:
      provider: a TensorBoard ``DataProvider``.
      diagnose: ``RunData -> health dict`` (default: ``diagnosis.engine.diagnose``);
        called as ``diagnose(run_data, embed_dim=D)`` when a request assumes a D.
      summarize: ``health dict of a verdict -> runs entry`` (default:
        ``engine.summarize``); an answer without a verdict is always summarised by
        ``engine.summarize``, so a replacement need only know verdicts.
      listing_ttl_s: how long a metadata listing is reused (0: never).
      clock: a monotonic clock (tests replace it).
      sample_limits: ``{plugin name: samples TensorBoard keeps per tag, None for all}``
        (see ``plugin.sample_limits``); a curve with that many points is reported as
        sampled. Empty: nothing is known to be sampled.
    """

    def __init__(
        self,
        provider,
        *,
        diagnose: Optional[Callable] = None,
        summarize: Optional[Callable] = None,
        listing_ttl_s: float = DEFAULT_LISTING_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        sample_limits: Optional[Dict[str, Optional[int]]] = None,
    ):
        self._provider = data.ReloadTolerantProvider(provider)
        self._limits = dict(sample_limits or {})
        self._diagnose = diagnose or engine.diagnose
        self._summarize = summarize or engine.summarize
        self._timeline = timeline.build
        self._ttl = listing_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._run_locks: Dict[Tuple[str, str], threading.Lock] = {}
        # (experiment, run) -> {embed_dim asked for (None: none): entry}, LRU order.
        self._cache: Dict[Tuple[str, str], "collections.OrderedDict[Optional[int], _Entry]"] = {}
        self._listings: Dict[Tuple[str, Optional[str]], Tuple[float, dict]] = {}
        self.diagnoses = 0  # how many times a verdict was computed (tests, benchmark)

    # -- listing ----------------------------------------------------------------------
    def index(self, ctx, experiment_id: str, run: Optional[str] = None) -> Dict[str, data.RunIndex]:
        """``data.index_runs`` for all runs (run=None) or one, memoised for the TTL."""
        key = (experiment_id, run)
        now = self._clock()
        with self._lock:
            hit = self._listings.get(key)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        if run is None:
            indexes = data.index_runs(self._provider, ctx, experiment_id)
        else:
            indexes = data.index_runs(self._provider, ctx, experiment_id, [run])
            indexes = {r: i for r, i in indexes.items() if r == run}
        with self._lock:
            if len(self._listings) > 1024:
                self._listings.clear()
            self._listings[key] = (now, indexes)
        return indexes

    def run_index(self, ctx, experiment_id: str, run: str) -> data.RunIndex:
        """The index of one run.

        Raises:
          errors.NotFoundError: the run has no catalogue tag.
          ListingError: the provider could not list the run (no input caused it).
        """
        try:
            indexes = self.index(ctx, experiment_id, run)
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: listing run %r failed", run)
            raise ListingError("could not list the run: %s: %s" % (type(e).__name__, e)) from e
        index = indexes.get(run)
        if index is None:
            raise errors.NotFoundError("no H-JEPA run named %r" % (run,))
        return index

    # -- verdicts ---------------------------------------------------------------------
    def _cached(self, key, embed_dim, fingerprint) -> Optional[_Entry]:
        """The cached entry of (run, D) if its data is unchanged (call under the lock)."""
        entries = self._cache.get(key)
        entry = entries.get(embed_dim) if entries is not None else None
        if entry is None or entry.fingerprint != fingerprint:
            return None
        entries.move_to_end(embed_dim)
        return entry

    def _entry(
        self, ctx, experiment_id: str, index: data.RunIndex, embed_dim: Optional[int] = None
    ) -> _Entry:
        """The cached verdict of an indexed run at an assumed D, computed when its data
        changed (the cache key is the run's fingerprint and D)."""
        key = (experiment_id, index.run)
        fingerprint = index.fingerprint
        with self._lock:
            entry = self._cached(key, embed_dim, fingerprint)
            if entry is not None:
                return entry
            run_lock = self._run_locks.setdefault(key, threading.Lock())
        with run_lock:  # one computation per run at a time; others wait and reuse it
            with self._lock:
                entry = self._cached(key, embed_dim, fingerprint)
                if entry is not None:
                    return entry
            entry = self._compute(ctx, experiment_id, index, embed_dim)
            with self._lock:
                entries = self._cache.setdefault(key, collections.OrderedDict())
                entries[embed_dim] = entry
                entries.move_to_end(embed_dim)
                while len(entries) > DIMS_PER_RUN:
                    entries.popitem(last=False)
            return entry

    def _compute(
        self, ctx, experiment_id: str, index: data.RunIndex, embed_dim: Optional[int] = None
    ) -> _Entry:
        run_data = None
        try:
            run_data = data.read_run(self._provider, ctx, experiment_id, index)
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: reading run %r failed", index.run)
            health = unknown_health(
                index.run,
                "could not read the run's data: %s: %s" % (type(e).__name__, e),
                index=index,
            )
        else:
            try:
                self.diagnoses += 1
                if embed_dim is None:
                    health = self._diagnose(run_data)
                else:
                    health = self._diagnose(run_data, embed_dim=embed_dim)
                if not isinstance(health, dict):
                    raise TypeError("diagnose returned %s, not a dict" % type(health).__name__)
            except Exception as e:  # pylint: disable=broad-except
                logger.exception("hjepa: diagnosing run %r failed", index.run)
                health = unknown_health(
                    index.run,
                    "the diagnosis failed: %s: %s" % (type(e).__name__, e),
                    index=index,
                    run_data=run_data,
                )
        return _Entry(index.fingerprint, health, self._runs_entry(index, health))

    def _runs_entry(self, index: data.RunIndex, health: dict) -> dict:
        """The run's entry of the ``runs`` answer, built once, from its health answer
        (judged or not) by ``summarize``; the run keeps the name TensorBoard lists."""
        summarize = engine.summarize if health.get("reason") else self._summarize
        try:
            fields = summarize(health)
            if not isinstance(fields, dict):
                raise TypeError("summarize returned %s, not a dict" % type(fields).__name__)
            entry = dict(fields)
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: summarising run %r failed", index.run)
            reason = "summary failed: %s: %s" % (type(e).__name__, e)
            entry = engine.summarize(dict(health, reason=reason))
        entry["run"] = index.run
        entry["worst"] = list(entry.get("worst") or [])[:WORST_SHOWN]
        return entry

    def sampling(self, plugin_name: str, points: int) -> Optional[str]:
        """A note when a curve of ``points`` points is a sample of a longer one."""
        limit = self._limits.get(plugin_name)
        if not limit or points < limit:
            return None
        return (
            "TensorBoard keeps %d sampled points per tag of plugin %r; start it with "
            "--samples_per_plugin=%s=0 to keep every point" % (limit, plugin_name, plugin_name)
        )

    def _complete(
        self,
        ctx,
        experiment_id: str,
        index: data.RunIndex,
        entry: _Entry,
        embed_dim: Optional[int] = None,
    ) -> None:
        """Add to a cached answer, once, all that the service adds to the engine's answer:
        the run's name as TensorBoard lists it; ``sampled`` (and ``sampling_note``) on each
        entry of ``tags``, which only the data provider knows; and the ``timeline`` (an
        answer without a verdict has ``timeline: None`` already). Only the ``health``
        answer of one run pays for it (the timeline judges up to 50 prefixes of the
        curves), not the runs list; a failing timeline is said in the answer, the
        verdict stands."""
        if entry.complete:
            return
        with self._lock:
            run_lock = self._run_locks.setdefault((experiment_id, index.run), threading.Lock())
        with run_lock:
            if entry.complete:
                return
            health = entry.health
            health["run"] = index.run
            for tag in health.get("tags") or []:
                if not isinstance(tag, dict):
                    continue
                info = index.tags.get(tag.get("tag"))
                note = (
                    self.sampling(info.plugin_name, int(tag.get("points") or 0)) if info else None
                )
                tag["sampled"] = note is not None
                if note:
                    tag["sampling_note"] = note
            if "timeline" not in health:
                try:
                    run_data = data.read_run(self._provider, ctx, experiment_id, index)
                    health["timeline"] = self._timeline(run_data, embed_dim=embed_dim)
                except Exception as e:  # pylint: disable=broad-except
                    logger.exception("hjepa: the timeline of run %r failed", index.run)
                    health["timeline"] = {"error": "%s: %s" % (type(e).__name__, e)}
            entry.complete = True
            entry.reset_gzip()

    # -- the routes' work -------------------------------------------------------------
    def runs_impl(self, ctx, experiment_id: str, embed_dim: Optional[int] = None) -> dict:
        """The ``runs`` answer: every H-JEPA run with its summary, sorted by name.

        Args:
          embed_dim: a D to assume for runs whose manifest gives none (None: none).

        When TensorBoard's data cannot be listed at all, the answer is
        ``{"runs": [], "error": reason}`` (still 200: no input caused it). When no run
        has a catalogue tag, it is ``{"runs": [], "hint": data.no_runs_hint(...)}``: the
        tags seen and the guide to logging the catalogue's tags.
        """
        try:
            indexes = self.index(ctx, experiment_id)
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: listing runs failed")
            return {"runs": [], "error": "could not list runs: %s: %s" % (type(e).__name__, e)}
        out = []
        for run in sorted(indexes):
            try:
                out.append(self._entry(ctx, experiment_id, indexes[run], embed_dim).summary)
            except Exception as e:  # pylint: disable=broad-except
                logger.exception("hjepa: run %r failed", run)
                why = "%s: %s" % (type(e).__name__, e)
                out.append(
                    self._runs_entry(indexes[run], unknown_health(run, why, index=indexes[run]))
                )
        with self._lock:  # forget runs that are gone
            for key in [k for k in self._cache if k[0] == experiment_id and k[1] not in indexes]:
                del self._cache[key]
                self._run_locks.pop(key, None)
        if not out:
            tags = data.scalar_tags_seen(self._provider, ctx, experiment_id)
            return {"runs": [], "hint": data.no_runs_hint(tags)}
        return {"runs": out}

    def health_impl(
        self, ctx, experiment_id: str, run: str, embed_dim: Optional[int] = None
    ) -> dict:
        """The ``health`` answer of one run.

        Args:
          embed_dim: a D to assume if the run's manifest gives none (None: none).

        Raises:
          errors.NotFoundError: no H-JEPA run of that name.
        """
        return self._verdict(ctx, experiment_id, run, "health", embed_dim)

    def health_gzip_impl(self, ctx, experiment_id: str, run: str, embed_dim: Optional[int] = None):
        """``health_impl``, serialised once per verdict: a ``Gzipped`` (or, when the
        verdict could not be computed, the unknown-status dict)."""
        return self._verdict(ctx, experiment_id, run, "health_gzip", embed_dim)

    def _verdict(
        self, ctx, experiment_id: str, run: str, form: str, embed_dim: Optional[int] = None
    ):
        """One form ("health" or "health_gzip") of a run's cached verdict; a run that
        cannot be listed or judged gets the unknown-status dict instead."""
        try:
            index = self.run_index(ctx, experiment_id, run)
        except ListingError as e:
            return unknown_health(run, str(e))
        try:
            entry = self._entry(ctx, experiment_id, index, embed_dim)
            self._complete(ctx, experiment_id, index, entry, embed_dim)
            return getattr(entry, form)
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: health of run %r failed", run)
            return unknown_health(run, "%s: %s" % (type(e).__name__, e), index=index)

    def scalars_impl(self, ctx, experiment_id: str, run: str, tag: str) -> dict:
        """The ``scalars`` answer: every sample of one catalogue tag of one run.

        Raises:
          errors.NotFoundError: unknown run, or a tag the run does not have (or that
            is not a catalogue tag).
        """
        try:
            index = self.run_index(ctx, experiment_id, run)
        except ListingError as e:
            resolved = catalog.resolve(tag)
            return {
                "run": run,
                "tag": tag,
                "key": resolved.metric.key if resolved else None,
                "level": resolved.level if resolved else None,
                "sampled": False,
                "data": [],
                "error": str(e),
            }
        info = index.tags.get(tag)
        if info is None or info.resolved is None:
            raise errors.NotFoundError("run %r has no catalogue tag %r" % (run, tag))
        out = {
            "run": run,
            "tag": tag,
            "key": info.resolved.metric.key,
            "level": info.resolved.level,
            "sampled": False,
            "data": [],
        }
        try:
            datums = data.read_tags(self._provider, ctx, experiment_id, run, [info]).get(tag, [])
            if datums:
                series = data.series_from_datums(tag, datums, info.resolved.exact)
                out["data"] = [
                    list(row)
                    for row in zip(
                        series.steps.tolist(), series.wall_times.tolist(), series.values.tolist()
                    )
                ]
                note = self.sampling(info.plugin_name, len(datums))
                if note:
                    out["sampled"] = True
                    out["sampling_note"] = note
        except Exception as e:  # pylint: disable=broad-except
            logger.exception("hjepa: reading %r of run %r failed", tag, run)
            out["error"] = "could not read the curve: %s: %s" % (type(e).__name__, e)
        return out

    def has_catalogue_data(self, ctx, experiment_id: str) -> bool:
        """Whether any run has a catalogue tag (the tab's ``is_active``)."""
        return bool(self.index(ctx, experiment_id))
