"""Odd values, shapes and metadata (issue 8): an explicit ``unknown`` or an alert,
never a 500 and never a wrong ``healthy``.

NaN, +Inf, -Inf, huge (float32's largest) and denormal values in every curve or in
the collapse curves only; values no correct trainer can log (a negative standard
deviation, a cosine of -5, an effective rank above min(N, D)); runs with only some
metrics; 1 and 8 levels; tags that look like the catalogue's but are not; summary
metadata of a future version. Through the in-process WSGI app and ``hjepa-doctor``.
"""

import io
import json
import os

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tensorboard_plugin_hjepa import catalog, doctor, metadata
from tensorboard_plugin_hjepa.summary import _float32_tensor
from tests import logs
from tests import reliability_util as R
from tests.conftest import app_for

STEPS = 1000
VALUE_STEPS = 400  # the runs of VALUE_RUNS (15 of them: keep them short)
F32_MAX = 3.4e38
DENORMAL = 1e-40  # below float32's smallest normal (1.2e-38)


def _collapse(key):
    return key.startswith("collapse.")


def _fill(value, only=None):
    def transform(key, level, values):
        if only is None or only(key):
            return np.full_like(values, value)
        return values

    return transform


# name -> (transform, keys or None, the statuses allowed)
VALUE_RUNS = {
    "all_nan": (_fill(np.nan), None, {"critical"}),
    "all_inf": (_fill(np.inf), None, {"critical"}),
    "all_ninf": (_fill(-np.inf), None, {"critical"}),
    "all_huge": (_fill(F32_MAX), None, {"critical", "collapse", "warning", "unknown"}),
    "all_neg_huge": (_fill(-F32_MAX), None, {"critical", "collapse", "warning", "unknown"}),
    "all_denormal": (_fill(DENORMAL), None, {"critical", "collapse", "warning", "unknown"}),
    "collapse_nan": (_fill(np.nan, _collapse), None, {"unknown", "warning"}),
    "collapse_inf": (_fill(np.inf, _collapse), None, {"unknown", "warning"}),
    "collapse_ninf": (_fill(-np.inf, _collapse), None, {"unknown", "warning"}),
    "collapse_denormal": (_fill(DENORMAL, _collapse), None, {"collapse"}),
    "last_point_nan": (lambda k, l, v: np.concatenate([v[:-1], [np.nan]]), None, {"critical"}),
    "one_nan_in_collapse": (
        lambda k, l, v: np.where(np.arange(len(v)) == 3, np.nan, v) if _collapse(k) else v,
        None,
        {"warning"},
    ),
    # Only some metrics: the loss alone, the loss and the EMA, no loss at all.
    "only_loss": (None, ("loss.total", "loss.level"), {"unknown"}),
    "only_ema": (None, ("ema.momentum_current", "ema.weight_magnitude_ratio"), {"unknown"}),
    "no_loss": (
        None,
        tuple(k for k, _ in logs.curves("healthy", steps=10) if not k.startswith("loss.")),
        {"healthy"},
    ),
}


@pytest.fixture(scope="module")
def value_app(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("values"))
    for name, (transform, keys, _) in VALUE_RUNS.items():
        R.write_value_run(logdir, name, transform, keys=keys, steps=VALUE_STEPS)
    client, _, _ = app_for(logdir)
    return logdir, client


def _health(client, run):
    status, headers, body = R.client_get(client, "/health", run=run)
    answer = R.assert_json_answer(status, headers, body)
    assert status == 200, answer
    return answer


@pytest.mark.parametrize("name", sorted(VALUE_RUNS))
def test_odd_values_give_an_alert_or_unknown(value_app, name):
    _, client = value_app
    health = _health(client, name)
    assert health["status"] in VALUE_RUNS[name][2], (health["status"], health["status_reason"])
    for light in health["lights"]:
        assert light["status"] in R.STATUSES
        if light["status"] == "healthy":
            assert light["window"]["non_finite"] == 0, light
    # Every curve the run has comes back through the scalars route as JSON.
    for entry in health["tags"]:
        body = R.assert_json_answer(*R.client_get(client, "/scalars", run=name, tag=entry["tag"]))
        assert len(body["data"]) == entry["points"]


def test_non_finite_collapse_curves_are_explicitly_unknown(value_app):
    _, client = value_app
    health = _health(client, "collapse_nan")
    collapse = [light for light in health["lights"] if light["category"] == "collapse"]
    assert collapse and all(light["status"] == "unknown" for light in collapse)
    assert all(light["explanation"] for light in collapse)
    assert "collapse cannot be ruled out" in health["status_reason"]


def test_the_runs_route_and_the_doctor_agree_on_odd_values(value_app, capsys):
    logdir, client = value_app
    runs = R.assert_json_answer(*R.client_get(client, "/runs"))["runs"]
    assert {r["run"] for r in runs} == set(VALUE_RUNS)
    code = doctor.main([logdir, "--json"])
    out, err = capsys.readouterr()
    assert code == doctor.EXIT_ALERT and "Traceback" not in err
    healths = json.loads(out)["runs"]  # strict JSON: NaN/Inf were cleansed to strings
    for entry in runs:
        assert healths[entry["run"]]["status"] == entry["status"], entry["run"]
    printer = doctor.Printer(io.StringIO(), colour=True)  # the readable form of the same
    doctor.print_health(printer, healths["all_nan"])
    assert "NaN" in printer.out.getvalue()


# Values no correct trainer logs for L2-normalised features (mean std per
# dim <= 1/sqrt(D), effective rank <= min(N, D), cosines in [-1, 1]).
IMPOSSIBLE = {
    "std_huge": {"collapse.mean_std_per_dim": F32_MAX, "collapse.min_std_per_dim": F32_MAX},
    "std_negative": {"collapse.mean_std_per_dim": -0.05, "collapse.min_std_per_dim": -0.02},
    "rank_above_dim": {"collapse.effective_rank": 1e6},
    "cosine_below_minus_one": {"collapse.mean_similarity": -5.0},
}


@pytest.mark.parametrize("name", sorted(IMPOSSIBLE))
def test_impossible_collapse_values_are_unknown_not_healthy(tmp_path, name):
    """A light judged on an impossible value says so (unknown), and the run is never
    vouched for as healthy by it."""
    values = IMPOSSIBLE[name]
    keys = set(values)
    # Only the impossible collapse curves (plus the loss): they alone decide collapse.
    R.write_value_run(
        str(tmp_path),
        name,
        lambda k, l, v: np.full_like(v, values[k]) if k in values else v,
        keys=keys | {"loss.total", "loss.level"},
        steps=STEPS,
    )
    client, _, _ = app_for(str(tmp_path))
    health = _health(client, name)
    judged = [light for light in health["lights"] if light["key"] in keys]
    assert judged
    for light in judged:
        assert light["status"] == "unknown", (light["key"], light["status"], light["value"])
        assert "impossible" in light["explanation"], light["explanation"]
    assert health["status"] != "healthy", health["status_reason"]


@pytest.mark.parametrize("levels", [1, 8])
def test_one_and_eight_levels(tmp_path, levels):
    weights = [1.0] * levels

    # Level losses of one size, so that with equal weights every level has an equal share
    # (the generated losses fall as 1/(1+i): level 7 of 8 would be a real 4.6% warning).
    def same_size(key, level, values):
        return values * (1 + level) if key == "loss.level" else values

    R.write_value_run(
        str(tmp_path), "healthy", same_size, levels=levels, steps=STEPS, weights=weights
    )
    R.write_value_run(
        str(tmp_path),
        "collapsing",
        same_size,
        kind="collapsing",
        levels=levels,
        steps=STEPS,
        weights=weights,
    )
    client, _, _ = app_for(str(tmp_path))
    healthy = _health(client, "healthy")
    assert healthy["levels"] == list(range(levels))
    assert healthy["status"] == "healthy", healthy["status_reason"]
    per_level = [
        light for light in healthy["lights"] if light["key"] == "collapse.mean_std_per_dim"
    ]
    assert [light["level"] for light in per_level] == list(range(levels))
    contributions = healthy["contributions"]
    if levels == 1:
        assert contributions["status"] == "unknown" and contributions["note"]
    else:
        assert contributions["weights"] == weights
        assert contributions["expected"] == pytest.approx([1 / levels] * levels)
    assert _health(client, "collapsing")["status"] == "collapse"
    runs = {r["run"]: r for r in R.assert_json_answer(*R.client_get(client, "/runs"))["runs"]}
    assert runs["healthy"]["levels"] == levels


# Tags that look like the catalogue's but are not.
LOOKALIKES = (
    "train/loss/total ",
    "train/loss/Total",
    "Train/loss/total",
    "train//loss/total",
    "/train/loss/total",
    "train/loss/total/",
    "ｔrain/loss/total",
    "train/loss/total\x00",
    "train/collapse/level0_mean_std_per_dim_x",
    "train/collapse/levelA_mean_std_per_dim",
    "train/collapse/level-1_mean_std_per_dim",
    "train/collapse/level 0_mean_std_per_dim",
    "train/collapse/level00_mean_std_per_dim",
    "train/collapse/level01_effective_rank",
    "train/collapse/level\u0663_mean_std_per_dim",  # ARABIC-INDIC DIGIT THREE
    "train/collapse/level\uff10_mean_std_per_dim",  # FULLWIDTH DIGIT ZERO
    "train/collapse/level1e3_mean_std_per_dim",
    "train/loss/h0x1",
    "train/loss_h+1",
    "train/collapse/level99999999999999999999_mean_std_per_dim",
)


def test_lookalike_tags_are_not_read_as_catalogue_metrics():
    for tag in LOOKALIKES:
        assert catalog.resolve(tag) is None, repr(tag)
    for level in (0, 7, 10, 123):  # the catalogue's own spelling still resolves
        resolved = catalog.resolve(catalog.tag("collapse.mean_std_per_dim", level=level))
        assert resolved.level == level


def test_lookalike_tags_neither_list_a_run_nor_replace_real_curves(tmp_path):
    logdir = str(tmp_path)
    steps = np.arange(0, STEPS, 10)
    healthy_looking = {tag: (steps, np.full(len(steps), 0.05)) for tag in LOOKALIKES}
    # A run of nothing but lookalikes is not an H-JEPA run.
    run_dir = os.path.join(logdir, "only_lookalikes")
    logs.write_unrelated_run(logdir, "only_lookalikes", steps=2)
    writer = EventFileWriter(run_dir, filename_suffix=".x")
    for tag, (s, v) in healthy_looking.items():
        for step, value in zip(s.tolist(), v.tolist()):
            summary = summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
            )
            writer.add_event(event_pb2.Event(step=step, wall_time=1.0 + step, summary=summary))
    writer.close()
    # A collapsing run with healthy-looking lookalikes of its collapse curves beside them
    # ("level00" sorts before "level0_": it must not be chosen as level 0's curve).
    extra = {}
    for i in range(logs.DEFAULT_LEVELS):
        extra["train/collapse/level0%d_mean_std_per_dim" % i] = (steps, np.full(len(steps), 0.05))
        extra["train/collapse/level0%d_effective_rank" % i] = (steps, np.full(len(steps), 180.0))
        extra["train/collapse/level0%d_mean_similarity" % i] = (steps, np.full(len(steps), 0.05))
        extra["train/collapse/level0%d_min_std_per_dim" % i] = (steps, np.full(len(steps), 0.03))
    logs.write_run(
        logdir,
        "collapsing",
        "collapsing",
        steps=STEPS,
        extra_scalars=extra,
        keys=[
            k
            for k, _ in logs.curves("collapsing", steps=10)
            if k.startswith(("collapse.", "loss."))
        ],
    )
    client, _, _ = app_for(logdir)
    runs = {r["run"] for r in R.assert_json_answer(*R.client_get(client, "/runs"))["runs"]}
    assert runs == {"collapsing"}
    status, headers, body = R.client_get(client, "/health", run="only_lookalikes")
    assert status == 404 and "error" in R.assert_json_answer(status, headers, body)
    health = _health(client, "collapsing")
    tags = {entry["tag"] for entry in health["tags"]}
    assert not tags & set(extra), sorted(tags & set(extra))
    assert health["status"] == "collapse", health["status_reason"]
    status, headers, body = R.client_get(
        client, "/scalars", run="collapsing", tag="train/collapse/level00_mean_std_per_dim"
    )
    assert status == 404 and R.assert_json_answer(status, headers, body)


def _write_future(run_dir, manifest_content, metric_content):
    """A run whose manifest and metric tags carry ``content`` of a future version."""
    os.makedirs(run_dir, exist_ok=True)
    writer = EventFileWriter(run_dir, filename_suffix=".future")
    data = logs.curves("collapsing", steps=STEPS)
    described = set()
    first = True
    for step in range(STEPS):
        values = []
        if first:
            value = summary_pb2.Summary.Value(
                tag=metadata.MANIFEST_TAG, tensor=_float32_tensor(3.0)
            )
            value.metadata.plugin_data.plugin_name = metadata.PLUGIN_NAME
            value.metadata.plugin_data.content = manifest_content
            value.metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
            values.append(value)
            first = False
        for (key, level), (s, v) in data.items():
            if step not in s or "{group}" in catalog.get(key).tag:
                continue
            tag = catalog.tag(key, level=level)
            value = summary_pb2.Summary.Value(
                tag=tag, tensor=_float32_tensor(float(v[np.searchsorted(s, step)]))
            )
            if tag not in described:
                value.metadata.plugin_data.plugin_name = metadata.PLUGIN_NAME
                value.metadata.plugin_data.content = metric_content
                value.metadata.data_class = summary_pb2.DATA_CLASS_SCALAR
                described.add(tag)
            values.append(value)
        writer.add_event(
            event_pb2.Event(
                step=step, wall_time=1.7e9 + step, summary=summary_pb2.Summary(value=values)
            )
        )
    writer.close()


def _manifest(**extra):
    manifest = logs.manifest_for(total_steps=STEPS).to_dict()
    manifest.update(extra)
    return manifest


FUTURE = {
    # A newer version with new fields: read as far as understood, flagged future.
    "future_readable": (
        {
            "version": 99,
            "kind": "manifest",
            "manifest": _manifest(new_field=[1, 2]),
            "extra": {"x": 1},
        },
        {"version": 99, "kind": "metric", "unit_system": "si"},
        True,
    ),
    # A newer version whose manifest changed shape: reported, the curves still judged.
    "future_reshaped": (
        {"version": 99, "kind": "manifest", "manifest": [3, [1, 0.5, 0.25]]},
        {"version": 99, "kind": "metric"},
        False,
    ),
    # A newer kind of summary on the metric tags.
    "future_kind": (
        {"version": 99, "kind": "manifest_v2", "levels": 3},
        {"version": 99, "kind": "quantiles"},
        False,
    ),
}


@pytest.mark.parametrize("name", sorted(FUTURE))
def test_summary_metadata_of_a_future_version(tmp_path, name, capsys):
    manifest_content, metric_content, readable = FUTURE[name]
    _write_future(
        os.path.join(str(tmp_path), name),
        json.dumps(manifest_content).encode(),
        json.dumps(metric_content).encode(),
    )
    client, _, _ = app_for(str(tmp_path))
    runs = {r["run"]: r for r in R.assert_json_answer(*R.client_get(client, "/runs"))["runs"]}
    health = _health(client, name)
    assert runs[name]["status"] == health["status"]
    # The curves are judged whatever the metadata says: the collapse is seen.
    assert health["status"] == "collapse", health["status_reason"]
    if readable:
        assert health["manifest_future"] is True
        assert health["manifest"]["num_levels"] == 3 and health["embed_dim"] == 192
    else:
        assert health["manifest"] is None
        assert any("manifest" in note for note in health.get("notes") or []), health.get("notes")
    assert doctor.main([str(tmp_path), "--json"]) == doctor.EXIT_ALERT
    out, err = capsys.readouterr()
    assert json.loads(out)["runs"][name]["status"] == "collapse"
    assert "Traceback" not in err


NON_SCALAR = {
    "vector": np.array([1.0, 2.0, 3.0], np.float32),
    "empty": np.array([], np.float32),
    "matrix": np.ones((2, 2), np.float32),
    "string": np.array(b"abc"),
}


def test_non_scalar_values_under_a_catalogue_tag(tmp_path):
    """A catalogue tag whose values are vectors, empty, matrices or strings (scalar
    metadata, wrong data): a 500 on ``health`` and ``scalars``, and ``runs`` listed no
    run at all (the Python provider's listing failed as a whole). Now that tag is left
    out: its light is unknown, the other runs and curves are served."""
    from tensorboard.util import tensor_util

    logdir = str(tmp_path)
    tag = catalog.tag("collapse.mean_std_per_dim", level=0)
    logs.write_run(logdir, "fine", "collapsing", steps=STEPS)
    for name, array in NON_SCALAR.items():
        run_dir = logs.write_run(logdir, name, "collapsing", steps=STEPS)
        writer = EventFileWriter(run_dir, filename_suffix=".odd")
        for step in range(STEPS, STEPS + 20):
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(array))
            value.metadata.CopyFrom(metadata.create_summary_metadata(metadata.KIND_METRIC))
            writer.add_event(
                event_pb2.Event(
                    step=step, wall_time=2e9 + step, summary=summary_pb2.Summary(value=[value])
                )
            )
        writer.close()
    client, _, _ = app_for(logdir)
    runs = R.assert_json_answer(*R.client_get(client, "/runs"))
    assert "error" not in runs, runs["error"]
    assert {r["run"] for r in runs["runs"]} == {"fine"} | set(NON_SCALAR)
    for name in ["fine"] + list(NON_SCALAR):
        health = _health(client, name)
        assert health["status"] in ("collapse", "unknown"), (name, health["status"])
        status, headers, body = R.client_get(client, "/scalars", run=name, tag=tag)
        R.assert_json_answer(status, headers, body)
        assert status in (200, 404), (name, status, body[:200])
    assert _health(client, "fine")["status"] == "collapse"
