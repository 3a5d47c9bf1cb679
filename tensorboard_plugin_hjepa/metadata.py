"""Plugin name, the versioned content of this plugin's summary metadata, the run manifest.

Every summary the project writes carries ``SummaryMetadata.plugin_data`` with
``plugin_name = "hjepa"`` and JSON content ``{"version": N, "kind": ...}``, and
``data_class = DATA_CLASS_SCALAR`` (without the data class, TensorBoard's data
provider does not list the tags at all). The manifest tag's content also carries the
``RunManifest`` (its schema and parsing live here, beside the rest of the content, as
TensorBoard's own plugins keep theirs in ``metadata.py``): the reader (``data.py``)
needs them without the event-file writer of ``summary.py``.
"""

import dataclasses
import json
import logging
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "hjepa"

# Version of the plugin content written by this package.
#   1: {"version": 1, "kind": "metric"} on metric tags;
#      {"version": 1, "kind": "manifest", "manifest": {...}} on MANIFEST_TAG.
# Readers accept every version up to this one; a newer version is read as far as
# its fields are understood, flagged ``future`` and warned about once.
PLUGIN_DATA_VERSION = 1

KIND_METRIC = "metric"
KIND_MANIFEST = "manifest"
KINDS = (KIND_METRIC, KIND_MANIFEST)

# The one tag that is not a metric: the run manifest (levels, weights, dims, config).
MANIFEST_TAG = "hjepa/run_manifest"

logger = logging.getLogger(__name__)
_warned_versions = set()


def create_summary_metadata(kind=KIND_METRIC, *, manifest=None, description=""):
    """A ``SummaryMetadata`` proto for one of this plugin's tags.

    Args:
      kind: KIND_METRIC or KIND_MANIFEST.
      manifest: the manifest dict (only with KIND_MANIFEST).
      description: shown by TensorBoard next to the tag.

    Raises:
      ValueError: unknown kind, or a manifest given for a metric.
    """
    if kind not in KINDS:
        raise ValueError("unknown summary kind %r; expected one of %r" % (kind, KINDS))
    content = {"version": PLUGIN_DATA_VERSION, "kind": kind}
    if kind == KIND_MANIFEST:
        if manifest is None:
            raise ValueError("a manifest summary needs manifest=")
        content["manifest"] = manifest
    elif manifest is not None:
        raise ValueError("only a manifest summary carries a manifest")
    return summary_pb2.SummaryMetadata(
        summary_description=description,
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, sort_keys=True, allow_nan=False).encode("utf-8"),
        ),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )


def parse_plugin_content(content):
    """Parse this plugin's metadata content.

    Args:
      content: the ``bytes`` of ``PluginData.content``.

    Returns:
      A dict with at least ``version`` (int), ``kind`` (str) and ``future`` (bool:
      written by a newer version of this package). Content that is empty (a summary
      written without content) reads as version 0, kind "metric".

    Raises:
      TypeError: content is not bytes.
      ValueError: content is not a JSON object with an integer version.
    """
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError("plugin content must be bytes, got %s" % type(content).__name__)
    if not content:
        return {"version": 0, "kind": KIND_METRIC, "future": False}
    try:
        parsed = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError("plugin content is not JSON: %s" % e) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("version"), int):
        raise ValueError("plugin content has no integer version: %r" % (content[:200],))
    parsed.setdefault("kind", KIND_METRIC)
    parsed["future"] = parsed["version"] > PLUGIN_DATA_VERSION
    if parsed["future"] and parsed["version"] not in _warned_versions:
        _warned_versions.add(parsed["version"])
        logger.warning(
            "hjepa summaries of version %d are newer than this plugin (%d); "
            "reading what is understood, upgrade tensorboard-plugin-hjepa",
            parsed["version"],
            PLUGIN_DATA_VERSION,
        )
    return parsed


TEACHER_EMA = "ema"
TEACHER_NONE = "none"
TEACHERS = (TEACHER_EMA, TEACHER_NONE)


@dataclasses.dataclass
class RunManifest:
    """What the diagnosis needs to know about a run beyond its curves.

    Written by ``summary.SummaryWriter.write_manifest`` as the content of
    ``MANIFEST_TAG``; read back by ``parse_manifest``.

    Attributes:
      num_levels: hierarchy levels L (1 or more).
      hierarchy_weights: the configured loss weight of each level (length L).
      embed_dim: embedding dimension D of the features the collapse metrics use.
      patch_grid: (height, width) of the level-0 patch grid.
      total_steps: planned length of the run (for progress-dependent ranges).
      collapse_rows: rows N sampled for collapse statistics (for min(N, D)).
      gpu_memory_total_gb: the device's memory, when training on a GPU.
      warmup_steps: steps of the LR warmup (history rules judge the run after it).
      stop_gradient: whether the targets are stop-gradient (None = not stated).
      teacher: where the targets come from: "ema" (an EMA target encoder: its targets
        must get no gradient) or "none" (no teacher by design, SIGReg/LeJEPA-style: the
        trained encoder makes its own targets and gradients reach them); None = not
        stated. A manifest that states ``stop_gradient: false`` and no teacher declares
        the no-teacher design.
      mask_ratio_expected: the mask ratio the run's own mask generator gives for its
        grid and config (median over sampled batches).
      mask_ratio_range: (low, high) of the per-batch mask ratio over those batches.
      trainer: name and version of the program that wrote the run.
      config: the full resolved training config (JSON-serialisable).
    """

    num_levels: int
    hierarchy_weights: Sequence[float]
    embed_dim: Optional[int] = None
    patch_grid: Optional[Sequence[int]] = None
    total_steps: Optional[int] = None
    collapse_rows: Optional[int] = None
    gpu_memory_total_gb: Optional[float] = None
    warmup_steps: Optional[int] = None
    stop_gradient: Optional[bool] = None
    teacher: Optional[str] = None
    mask_ratio_expected: Optional[float] = None
    mask_ratio_range: Optional[Sequence[float]] = None
    trainer: str = ""
    config: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.num_levels, int) or self.num_levels < 1:
            raise ValueError("num_levels must be an int >= 1, got %r" % (self.num_levels,))
        weights = [float(w) for w in self.hierarchy_weights]
        if len(weights) != self.num_levels:
            raise ValueError(
                "hierarchy_weights has %d entries for %d levels" % (len(weights), self.num_levels)
            )
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(
                "hierarchy_weights must be finite, >= 0 and not all 0: %r" % (weights,)
            )
        self.hierarchy_weights = weights
        for name in ("embed_dim", "total_steps", "collapse_rows"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError("%s must be a positive int or None, got %r" % (name, value))
        if self.warmup_steps is not None and (
            not isinstance(self.warmup_steps, int) or self.warmup_steps < 0
        ):
            raise ValueError(
                "warmup_steps must be an int >= 0 or None, got %r" % (self.warmup_steps,)
            )
        if self.stop_gradient is not None and not isinstance(self.stop_gradient, bool):
            raise ValueError(
                "stop_gradient must be true, false or None, got %r" % (self.stop_gradient,)
            )
        if self.teacher is not None and self.teacher not in TEACHERS:
            raise ValueError(
                "teacher must be one of %s or None, got %r" % (", ".join(TEACHERS), self.teacher)
            )
        if self.mask_ratio_expected is not None:
            ratio = float(self.mask_ratio_expected)
            if not 0.0 <= ratio <= 1.0:
                raise ValueError("mask_ratio_expected must be in [0, 1], got %r" % (ratio,))
            self.mask_ratio_expected = ratio
        if self.mask_ratio_range is not None:
            pair = [float(v) for v in self.mask_ratio_range]
            if len(pair) != 2 or not 0.0 <= pair[0] <= pair[1] <= 1.0:
                raise ValueError(
                    "mask_ratio_range must be (low, high) with 0 <= low <= high "
                    "<= 1, got %r" % (self.mask_ratio_range,)
                )
            self.mask_ratio_range = pair
        if self.patch_grid is not None:
            grid = [int(g) for g in self.patch_grid]
            if len(grid) != 2 or min(grid) < 1:
                raise ValueError(
                    "patch_grid must be (height, width) >= 1, got %r" % (self.patch_grid,)
                )
            self.patch_grid = grid
        try:
            json.dumps(self.config, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ValueError("config must be JSON-serialisable: %s" % e) from None

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def without_teacher(self) -> bool:
        """The run has no teacher by design: gradients reaching its targets are no fault."""
        if self.teacher is not None:
            return self.teacher == TEACHER_NONE
        return self.stop_gradient is False

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RunManifest":
        """Build from a dict, ignoring fields a newer writer may have added."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def manifest_notes(future: bool, error: Optional[str]) -> List[str]:
    """What a verdict says about its run's manifest: unreadable, or newer than this
    version (the health answer's ``notes``, printed by the tab and ``hjepa-doctor``)."""
    notes = [error] if error else []
    if future:
        notes.append(
            "the run manifest was written by a newer version of tensorboard-plugin-hjepa: "
            "fields this version does not know were ignored"
        )
    return notes


def parse_manifest(content) -> Tuple[Optional[RunManifest], bool, Optional[str]]:
    """The run manifest from the manifest tag's metadata content.

    Args:
      content: the ``bytes`` of ``PluginData.content`` of ``MANIFEST_TAG``.

    Returns:
      ``(manifest or None, future, error or None)``: ``future`` is True when a newer
      version of this package wrote it; ``error`` says why the manifest is None (the
      content is not this plugin's, carries no manifest, or the manifest is invalid).
      Never raises on bad content.
    """
    try:
        parsed = parse_plugin_content(content)
        if parsed.get("kind") != KIND_MANIFEST or not isinstance(parsed.get("manifest"), dict):
            return None, False, "the manifest tag carries no manifest"
        return RunManifest.from_dict(parsed["manifest"]), bool(parsed["future"]), None
    except (TypeError, ValueError) as e:
        return None, False, "unreadable run manifest: %s" % e


# A D given by the user for a run whose manifest has no embed_dim (``hjepa-doctor
# --embed-dim``, the ``embed_dim`` parameter of the routes): a positive int up to this.
MAX_EMBED_DIM = 65536


def parse_embed_dim(text) -> int:
    """A user-given embedding dimension from its text form.

    Only ASCII digits are accepted ("+64", " 64", "64.0", "1e3" and other scripts'
    digits are not), and the value must be in [1, MAX_EMBED_DIM].

    Raises:
      ValueError: the message says what is wrong, not which flag or parameter (the
        caller names it).
    """
    shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:40]) + "..."
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ValueError("must be a positive integer up to %d, got %s" % (MAX_EMBED_DIM, shown))
    value = int(text)
    if not 1 <= value <= MAX_EMBED_DIM:
        raise ValueError("must be a positive integer up to %d, got %d" % (MAX_EMBED_DIM, value))
    return value
