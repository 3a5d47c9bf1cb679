"""The summary API writes what TensorBoard's data provider reads back, exactly."""

import json
import logging
import math

import numpy as np
import pytest
from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

from tensorboard_plugin_hjepa import catalog, metadata
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter, write_plain_scalars


def _provider(logdir):
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        size_guidance={"tensors": 0, "scalars": 0, "histograms": 0}
    )
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    return data_provider.MultiplexerDataProvider(multiplexer, logdir)


def _read(logdir, plugin=metadata.PLUGIN_NAME):
    provider = _provider(logdir)
    ctx = context.RequestContext()
    listing = provider.list_scalars(ctx, experiment_id="", plugin_name=plugin)
    data = provider.read_scalars(
        ctx, experiment_id="", plugin_name=plugin, downsample=10**9, run_tag_filter=None
    )
    return listing, data


@pytest.mark.parametrize("levels", [1, 3, 8])
def test_round_trip_identical_for_every_level_count(tmp_path, levels):
    rng = np.random.default_rng(levels)
    weights = [1.0 / (i + 1) for i in range(levels)]
    manifest = RunManifest(
        num_levels=levels,
        hierarchy_weights=weights,
        embed_dim=192,
        patch_grid=(8, 8),
        total_steps=300,
        config={"seed": 1},
    )
    written = {}
    with SummaryWriter(str(tmp_path / "run"), manifest=manifest) as writer:
        for step in range(0, 300, 7):
            value = float(np.float32(rng.normal()))
            writer.scalar("loss.total", value, step)
            written[("train/loss/total", step)] = value
            for level in range(levels):
                v = float(np.float32(rng.uniform(0, 0.1)))
                writer.scalar("collapse.mean_std_per_dim", v, step, level=level)
                written[(catalog.tag("collapse.mean_std_per_dim", level=level), step)] = v
    listing, data = _read(str(tmp_path))
    tags = set(listing["run"])
    assert tags == {metadata.MANIFEST_TAG, "train/loss/total"} | {
        catalog.tag("collapse.mean_std_per_dim", level=i) for i in range(levels)
    }
    read_back = {
        (tag, d.step): d.value
        for tag, points in data["run"].items()
        for d in points
        if tag != metadata.MANIFEST_TAG
    }
    assert read_back == written  # float32 values survive exactly
    content = metadata.parse_plugin_content(listing["run"][metadata.MANIFEST_TAG].plugin_content)
    assert content["kind"] == metadata.KIND_MANIFEST and not content["future"]
    assert RunManifest.from_dict(content["manifest"]) == manifest


def test_metric_metadata_is_versioned_scalar_data(tmp_path):
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.scalar("loss.total", 1.0, 0)
    listing, _ = _read(str(tmp_path))
    content = metadata.parse_plugin_content(listing["run"]["train/loss/total"].plugin_content)
    assert content == {"version": metadata.PLUGIN_DATA_VERSION, "kind": "metric", "future": False}


def test_non_finite_values_are_written_faithfully(tmp_path):
    with SummaryWriter(str(tmp_path / "run")) as writer:
        for step, value in enumerate([1.0, math.nan, math.inf, -math.inf, 1e-42, 3e38]):
            writer.scalar("loss.total", value, step)
    _, data = _read(str(tmp_path))
    values = [d.value for d in data["run"]["train/loss/total"]]
    assert values[0] == 1.0 and math.isnan(values[1])
    assert values[2] == math.inf and values[3] == -math.inf
    assert values[4] == pytest.approx(1e-42, rel=0.01)  # float32 denormal kept
    assert values[5] == pytest.approx(3e38, rel=1e-6)


def test_unknown_keys_and_tags_are_refused_by_name(tmp_path):
    with SummaryWriter(str(tmp_path / "run")) as writer:
        with pytest.raises(KeyError, match="loss.total"):
            writer.scalar("loss.totl", 1.0, 0)
        with pytest.raises(ValueError, match="not a catalogue scalar tag"):
            writer.scalar_tag("train/loss/totl", 1.0, 0)
        with pytest.raises(ValueError, match="not a catalogue scalar tag"):
            writer.scalar_tag("train/loss", 1.0, 0)  # an alias is read, never written
        writer.scalar_tag("train/loss/h1", 0.5, 0)  # a concrete catalogue tag is fine
    listing, _ = _read(str(tmp_path))
    assert set(listing["run"]) == {"train/loss/h1"}


def test_allow_unknown_writes_a_plain_scalar(tmp_path):
    with SummaryWriter(str(tmp_path / "run"), allow_unknown=True) as writer:
        writer.scalar_tag("my/own_metric", 2.5, 3)
    assert "run" not in _read(str(tmp_path))[0]
    listing, data = _read(str(tmp_path), plugin="scalars")
    assert [d.value for d in data["run"]["my/own_metric"]] == [2.5]


@pytest.mark.parametrize(
    "value,error",
    [
        ("1.0", TypeError),
        (None, TypeError),
        (True, TypeError),
        ([1.0, 2.0], TypeError),
        (np.zeros((2, 2)), TypeError),
    ],
)
def test_bad_values_raise(tmp_path, value, error):
    with SummaryWriter(str(tmp_path / "run")) as writer:
        with pytest.raises(error):
            writer.scalar("loss.total", value, 0)


def test_numpy_and_one_element_values_are_accepted(tmp_path):
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.scalar("loss.total", np.float64(0.25), 0)
        writer.scalar("loss.total", np.array([0.5], dtype=np.float32), 1)
        writer.scalar("loss.total", 2, 2)
        with pytest.raises(ValueError, match="step"):
            writer.scalar("loss.total", 1.0, -1)
        with pytest.raises(ValueError, match="step"):
            writer.scalar("loss.total", 1.0, 1.5)
    _, data = _read(str(tmp_path))
    assert [d.value for d in data["run"]["train/loss/total"]] == [0.25, 0.5, 2.0]


def test_plain_scalars_mode_shows_in_scalars_dashboard(tmp_path):
    manifest = RunManifest(num_levels=2, hierarchy_weights=[1, 1])
    with SummaryWriter(str(tmp_path / "run"), manifest=manifest, plain_scalars=True) as writer:
        writer.scalar("loss.level", 0.3, 5, level=1)
    hjepa_listing, _ = _read(str(tmp_path))
    assert set(hjepa_listing["run"]) == {metadata.MANIFEST_TAG}
    listing, data = _read(str(tmp_path), plugin="scalars")
    assert [(d.step, d.value) for d in data["run"]["train/loss/h1"]] == [(5, pytest.approx(0.3))]


def test_write_plain_scalars_like_any_trainer(tmp_path):
    write_plain_scalars(str(tmp_path / "up"), [("train/loss", 0.5, 1), ("train/lr", 1e-3, 1)])
    listing, _ = _read(str(tmp_path), plugin="scalars")
    assert set(listing["up"]) == {"train/loss", "train/lr"}


def test_histogram_and_text(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.histogram("gradients.histogram", [0.1, 0.2, math.nan, 0.3], 4, layer="predictor")
        writer.text("health/alerts", "all good", 4)
        with pytest.raises(ValueError, match="not a histogram"):
            writer.histogram("loss.total", [1.0], 4, layer="x")
    acc = event_accumulator.EventAccumulator(str(tmp_path / "run"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = acc.Tags()["tensors"]
    assert "gradients/predictor_histogram" in tags and "health/alerts" in tags
    buckets = acc.Tensors("gradients/predictor_histogram")[0].tensor_proto
    counts = (
        np.frombuffer(buckets.tensor_content, dtype=np.float64).reshape(-1, 3)[:, 2]
        if buckets.tensor_content
        else np.array(buckets.double_val).reshape(-1, 3)[:, 2]
    )
    assert counts.sum() == 3  # the NaN is dropped, the three finite values are kept


def test_closed_writer_refuses(tmp_path):
    writer = SummaryWriter(str(tmp_path / "run"))
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.scalar("loss.total", 1.0, 0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_levels": 0, "hierarchy_weights": []}, "num_levels"),
        ({"num_levels": 2, "hierarchy_weights": [1.0]}, "2 levels"),
        ({"num_levels": 1, "hierarchy_weights": [math.nan]}, "finite"),
        ({"num_levels": 2, "hierarchy_weights": [0, 0]}, "not all 0"),
        ({"num_levels": 1, "hierarchy_weights": [1], "embed_dim": 0}, "embed_dim"),
        ({"num_levels": 1, "hierarchy_weights": [1], "patch_grid": (4,)}, "patch_grid"),
        ({"num_levels": 1, "hierarchy_weights": [1], "config": {"x": object()}}, "JSON"),
    ],
)
def test_manifest_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RunManifest(**kwargs)


def test_manifest_from_newer_writer_keeps_known_fields():
    data = RunManifest(num_levels=2, hierarchy_weights=[1, 0.5]).to_dict()
    data["field_from_the_future"] = 1
    assert RunManifest.from_dict(data).hierarchy_weights == [1.0, 0.5]


def test_future_plugin_version_is_flagged_and_warned_once(caplog):
    content = json.dumps({"version": metadata.PLUGIN_DATA_VERSION + 5, "kind": "metric"})
    with caplog.at_level(logging.WARNING):
        first = metadata.parse_plugin_content(content.encode())
        metadata.parse_plugin_content(content.encode())
    assert first["future"] is True
    assert len([r for r in caplog.records if "newer" in r.getMessage()]) == 1


@pytest.mark.parametrize(
    "content,error",
    [
        ("not bytes", TypeError),
        (b"\xff\xfe", ValueError),
        (b"[1, 2]", ValueError),
        (b'{"version": "1"}', ValueError),
    ],
)
def test_bad_plugin_content(content, error):
    with pytest.raises(error):
        metadata.parse_plugin_content(content)


def test_empty_plugin_content_reads_as_version_0():
    assert metadata.parse_plugin_content(b"")["version"] == 0


def test_the_reader_gets_every_manifest_field_the_writer_wrote(tmp_path):
    """Written by summary.SummaryWriter, read by data.load_runs (metadata.parse_manifest)."""
    from tensorboard_plugin_hjepa import data

    manifest = RunManifest(
        num_levels=2,
        hierarchy_weights=[1.0, 0.5],
        embed_dim=128,
        patch_grid=(14, 14),
        total_steps=1500,
        collapse_rows=4096,
        warmup_steps=150,
        stop_gradient=True,
        mask_ratio_expected=0.44,
        mask_ratio_range=(0.38, 0.52),
        trainer="test 1.0",
        config={"lr": 5e-4},
    )
    with SummaryWriter(str(tmp_path / "run"), manifest=manifest) as writer:
        writer.scalar("loss.total", 1.0, 0)
    run = data.load_runs(_provider(str(tmp_path)), context.RequestContext(), "")["run"]
    assert run.manifest == manifest and run.embed_dim == 128
    assert run.manifest.mask_ratio_range == [0.38, 0.52] and run.manifest.warmup_steps == 150


@pytest.mark.parametrize(
    "content,error",
    [
        (b"not json", "unreadable run manifest"),
        (b'{"version": 1, "kind": "metric"}', "carries no manifest"),
        (
            b'{"version": 1, "kind": "manifest", "manifest": {"num_levels": 0, '
            b'"hierarchy_weights": []}}',
            "num_levels",
        ),
        (
            b'{"version": 1, "kind": "manifest", "manifest": {"num_levels": 1, '
            b'"hierarchy_weights": [1], "mask_ratio_range": [0.9, 0.1]}}',
            "mask_ratio_range",
        ),
    ],
)
def test_a_bad_manifest_is_an_error_text_not_an_exception(content, error):
    manifest, future, message = metadata.parse_manifest(content)
    assert manifest is None and future is False and error in message
