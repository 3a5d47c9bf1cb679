"""Plugin name and the versioned content of this plugin's summary metadata.

Every summary the project writes carries ``SummaryMetadata.plugin_data`` with
``plugin_name = "hjepa"`` and JSON content ``{"version": N, "kind": ...}``, and
``data_class = DATA_CLASS_SCALAR`` (without the data class, TensorBoard's data
provider does not list the tags at all).
"""

import json
import logging

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
        logger.warning("hjepa summaries of version %d are newer than this plugin (%d); "
                       "reading what is understood, upgrade tensorboard-plugin-hjepa",
                       parsed["version"], PLUGIN_DATA_VERSION)
    return parsed
