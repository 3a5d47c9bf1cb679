"""Helpers of the reliability tests (issue 8): damaged event files, odd values, checks.

- ``record_offsets(path)``: where each TFRecord of an event file starts (a record is
  uint64 length, uint32 masked CRC of the length, the data, uint32 masked CRC of the
  data).
- ``truncate_mid_record``, ``flip_data_byte``, ``corrupt_length``, ``write_zero_length``,
  ``write_header_only``: the file-level faults, each on a real event file.
- ``write_value_run``: a summary-API run whose curves are the generated healthy ones
  passed through ``transform(key, level, values)`` (NaN, Inf, huge, denormal, ...).
- ``assert_json_answer(status, headers, body)``: what every answer of the plugin must
  be (no 5xx, a JSON content type, a body that parses).
"""

import glob
import json
import os
import struct
from typing import Callable, List, Optional

import numpy as np
from tensorboard.compat.proto import summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_plugin_hjepa import catalog, metadata
from tensorboard_plugin_hjepa.summary import RunManifest, _float32_tensor
from tests import logs

PREFIX = "/data/plugin/hjepa"
STATUSES = ("unknown", "healthy", "warning", "collapse", "critical")


def event_file(run_dir: str) -> str:
    (path,) = glob.glob(os.path.join(run_dir, "events.out.tfevents*"))
    return path


def record_offsets(path: str) -> List[int]:
    """Start offset of every complete record of an event file."""
    with open(path, "rb") as f:
        raw = f.read()
    offsets, pos = [], 0
    while pos + 12 <= len(raw):
        (length,) = struct.unpack("<Q", raw[pos : pos + 8])
        end = pos + 12 + length + 4
        if end > len(raw):
            break
        offsets.append(pos)
        pos = end
    return offsets


def truncate_mid_record(path: str, fraction: float) -> int:
    """Cut the file inside the record found at ``fraction`` of its records; returns
    the number of complete records kept."""
    offsets = record_offsets(path)
    index = max(1, min(len(offsets) - 1, int(len(offsets) * fraction)))
    with open(path, "r+b") as f:
        f.truncate(offsets[index] + 15)  # past the length header, inside the data
    return index


def flip_data_byte(path: str, fraction: float) -> int:
    """Flip one byte of the data of the record at ``fraction`` (its data CRC no longer
    matches); returns that record's index."""
    offsets = record_offsets(path)
    index = max(1, min(len(offsets) - 1, int(len(offsets) * fraction)))
    with open(path, "r+b") as f:
        f.seek(offsets[index] + 12 + 3)
        byte = f.read(1)
        f.seek(offsets[index] + 12 + 3)
        f.write(bytes([byte[0] ^ 0xFF]))
    return index


def corrupt_length(path: str, fraction: float) -> int:
    """Make the record at ``fraction`` claim a length of ~2**62 bytes (its length CRC no
    longer matches: a reader must not try to allocate it); returns its index."""
    offsets = record_offsets(path)
    index = max(1, min(len(offsets) - 1, int(len(offsets) * fraction)))
    with open(path, "r+b") as f:
        f.seek(offsets[index] + 7)
        f.write(b"\x40")
    return index


def write_zero_length(run_dir: str) -> str:
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "events.out.tfevents.1700000000.zero")
    open(path, "wb").close()
    return path


def write_header_only(run_dir: str) -> str:
    """An event file with only TensorBoard's file-version record (no summaries)."""
    os.makedirs(run_dir, exist_ok=True)
    writer = EventFileWriter(run_dir, filename_suffix=".empty")
    writer.close()
    (path,) = glob.glob(os.path.join(run_dir, "*.empty"))
    return path


def write_value_run(
    logdir: str,
    name: str,
    transform: Callable[[str, Optional[int], np.ndarray], np.ndarray] = None,
    *,
    kind: str = "healthy",
    levels: int = 3,
    steps: int = 300,
    keys=None,
    manifest: Optional[RunManifest] = None,
    weights=None,
) -> str:
    """A summary-API run of generated curves, each passed through ``transform``."""
    data = logs.curves(kind, steps=steps, levels=levels)
    run_dir = os.path.join(logdir, name)
    if manifest is None:
        manifest = logs.manifest_for(levels, total_steps=steps)
        if weights is not None:
            manifest.hierarchy_weights = [float(w) for w in weights]
    rows, meta = {}, {}
    for (key, level), (s, v) in data.items():
        if keys is not None and key not in keys:
            continue
        if weights is not None and key in ("loss.total", "loss.contribution"):
            continue  # generated for the default weights
        metric = catalog.get(key)
        tag = (
            catalog.tag(key, group=0) if "{group}" in metric.tag else catalog.tag(key, level=level)
        )
        values = transform(key, level, v.copy()) if transform else v
        rows[tag] = (s, np.asarray(values, dtype=np.float64))
        meta[tag] = metadata.create_summary_metadata(metadata.KIND_METRIC)
    first = summary_pb2.Summary.Value(
        tag=metadata.MANIFEST_TAG, tensor=_float32_tensor(float(manifest.num_levels))
    )
    first.metadata.CopyFrom(
        metadata.create_summary_metadata(metadata.KIND_MANIFEST, manifest=manifest.to_dict())
    )
    os.makedirs(run_dir, exist_ok=True)
    logs._write_events(run_dir, rows, meta, [first])  # pylint: disable=protected-access
    return run_dir


def assert_json_answer(status: int, headers, body: bytes):
    """No 5xx, a JSON content type, a body that parses; returns the parsed body."""
    assert status < 500, (status, body[:300])
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    assert content_type.startswith("application/json"), (status, content_type, body[:200])
    return json.loads(body)


def client_get(client, path: str, **params):
    """(status, headers, decoded body bytes) of a werkzeug test client GET."""
    response = client.get(
        PREFIX + path, query_string=params, headers={"Accept-Encoding": "identity"}
    )
    return response.status_code, response.headers, response.get_data()
