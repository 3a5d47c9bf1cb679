"""Other codebases' logs, read as they are, through the plugin's real routes and the doctor.

Every run of ``tests.conventions`` (torch's own ``SummaryWriter``, each codebase's tag
names) goes through TensorBoard's WSGI application with only this plugin
(``tests.conftest.app_for``): each is listed and names its convention; a healthy run
raises no alarm; a collapse signal the codebase logs is judged at least ``warning``; a
run with no judged collapse signal is never ``healthy``, and its answer lists the tags
that would judge the rest with the line that writes each.
"""

import contextlib
import io
import json
import os
import urllib.parse

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog, doctor
from tensorboard_plugin_hjepa.catalog import schema
from tests import conventions
from tests.conftest import app_for

PREFIX = "/data/plugin/hjepa"
ALARM = schema.severity(schema.WARNING)


def _get(client, path, **params):
    response = client.get(PREFIX + path + "?" + urllib.parse.urlencode(params))
    assert response.status_code == 200, response.get_data()[:500]
    return json.loads(response.get_data())


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("conventions"))
    conventions.write_all(logdir)
    return logdir


@pytest.fixture(scope="module")
def client(logdir):
    return app_for(logdir, listing_ttl_s=0)[0]


def _health(client, convention, kind):
    return _get(client, "/health", run=conventions.run_name(convention, kind))


def _alarms(health):
    items = health["lights"] + (health["contributions"] or {}).get("checks", [])
    return [
        (item["key"], item["level"], item["status"])
        for item in items
        if schema.severity(item["status"]) >= ALARM
    ]


def _judged_collapse_lights(health):
    return [
        light
        for light in health["lights"]
        if light["category"] == "collapse" and light["status"] != schema.UNKNOWN
    ]


# ---------------------------------------------------------------------------- listing
def test_every_run_is_listed_with_the_convention_it_follows(client):
    runs = {entry["run"]: entry for entry in _get(client, "/runs")["runs"]}
    expected = {
        conventions.run_name(c, kind): c for c in conventions.NAMES for kind in conventions.KINDS
    }
    assert set(runs) == set(expected)
    for name, convention in expected.items():
        entry = runs[name]
        assert entry["convention"] == conventions.RECOGNISED_AS[convention], name
        assert entry["source"] == {
            "upstream_head": "upstream",
            "lightning_reference": "plain",
        }.get(convention, "other"), name
        assert entry["judged_lights"] + entry["unknown_lights"] > 0


@pytest.mark.parametrize("convention", conventions.NAMES)
def test_the_health_answer_names_the_convention(client, convention):
    health = _health(client, convention, "healthy")
    assert health["convention"] == conventions.RECOGNISED_AS[convention]
    assert health["coverage"]["lights"] == len(health["lights"])


# ---------------------------------------------------------------------------- verdicts
@pytest.mark.parametrize("convention", conventions.NAMES)
def test_a_healthy_run_raises_no_alarm(client, convention):
    health = _health(client, convention, "healthy")
    assert schema.severity(health["status"]) < ALARM, health["status_reason"]
    assert _alarms(health) == []
    assert not [b["id"] for b in health["flowchart"] if b["fired"]]
    assert not [p["id"] for p in health["patterns"] if p["detected"]]


# The category of the lights that judge each signal: a probe that falls to chance is
# judged by the probe's own history (derived.knn_fall_from_peak: these codebases log no
# query or class count for the standard-error lights), a std of another convention by
# its fall from its own peak (derived.std_fall_from_peak), a rank likewise.
_SIGNAL_CATEGORY = {"probe": "eval", "std": "collapse", "rank": "collapse"}


@pytest.mark.parametrize(
    "convention", [c for c in conventions.NAMES if conventions.SIGNALS[c] is not None]
)
def test_a_collapse_signal_is_judged_at_least_warning(client, convention):
    health = _health(client, convention, "collapsing")
    assert schema.severity(health["status"]) >= ALARM, health["status_reason"]
    category = _SIGNAL_CATEGORY[conventions.SIGNALS[convention]]
    alarmed = [
        light
        for light in health["lights"]
        if light["category"] == category and schema.severity(light["status"]) >= ALARM
    ]
    assert alarmed, health["status_reason"]


@pytest.mark.parametrize("convention", ["lightly", "mae"])
def test_a_probe_without_its_size_is_judged_by_its_own_peak_and_says_what_would_do_more(
    client, convention
):
    health = _health(client, convention, "collapsing")
    lights = {l["key"]: l for l in health["lights"] if l["level"] is None}
    assert lights["derived.knn_fall_from_peak"]["status"] == schema.WARNING
    assert lights["derived.knn_vs_chance"]["status"] == schema.UNKNOWN
    missing = {item["tag"] for item in health["coverage"]["missing"]}
    assert {"eval/num_classes", "eval/probe_queries"} <= missing


@pytest.mark.parametrize("kind", conventions.KINDS)
@pytest.mark.parametrize("convention", conventions.NAMES)
def test_a_run_with_no_judged_collapse_signal_is_never_healthy(client, convention, kind):
    health = _health(client, convention, kind)
    if not _judged_collapse_lights(health):
        assert health["status"] != schema.HEALTHY, health["status_reason"]
    if conventions.SIGNALS[convention] is None:  # only losses and learning rates
        assert health["status"] == schema.UNKNOWN
        assert "only the loss could be judged" in health["status_reason"]


# ---------------------------------------------------------------------------- coverage
def test_coverage_lists_the_tags_that_would_judge_the_rest_with_the_line_for_each(client):
    health = _health(client, "lightning_plain", "healthy")
    coverage = health["coverage"]
    assert coverage["judged"] == 1 and coverage["lights"] == len(health["lights"])
    first = coverage["missing"][0]
    assert first["tag"] == "train/collapse/level0_effective_rank"
    assert first["call"] == 'self.log("train/collapse/level0_effective_rank", value)'
    assert first["summary_api"] == 'writer.scalar("collapse.effective_rank", value, step, level=0)'
    assert {"key": "derived.rank_fall_from_peak", "level": 0} in first["judges"]
    # Every unknown light is covered: by a missing tag, or by a reason a tag cannot fix.
    covered = {(j["key"], j["level"]) for item in coverage["missing"] for j in item["judges"]}
    covered |= {(o["key"], o["level"]) for o in coverage["unknown_other"]}
    unknown = {(lt["key"], lt["level"]) for lt in health["lights"] if lt["status"] == "unknown"}
    assert unknown == covered
    # The tab shows it in the run header (a note), the runs list counts it.
    assert coverage["note"] in health["notes"]
    assert 'self.log("train/collapse/level0_effective_rank", value)' in coverage["note"]
    (entry,) = [
        e
        for e in _get(client, "/runs")["runs"]
        if e["run"] == conventions.run_name("lightning_plain", "healthy")
    ]
    assert entry["judged_lights"] == 1 and entry["missing_tags"] == len(coverage["missing"])
    # A codebase that does not log through Lightning gets the summary API's line.
    mae = _health(client, "mae", "healthy")["coverage"]["missing"][0]
    expected = 'writer.scalar("collapse.effective_rank", value, step, level=0)'
    assert mae["call"] == mae["summary_api"] == expected


def test_logging_the_listed_tags_judges_the_lights_they_were_listed_for(tmp_path):
    conventions.write(str(tmp_path), "lightning_plain", "healthy")
    client = app_for(str(tmp_path))[0]
    name = conventions.run_name("lightning_plain", "healthy")
    before = _get(client, "/health", run=name)["coverage"]["missing"]
    wanted = [item for item in before if item["key"].startswith("collapse.")]
    assert wanted
    # What the listed self.log lines write (a Lightning run: tags as given).
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(3)
    steps = np.arange(0, conventions.STEPS, 20)
    values = {
        "collapse.effective_rank": conventions.rank("healthy", steps, rng),
        "collapse.mean_std_per_dim": conventions.std("healthy", steps, rng, 0.03),
        "collapse.min_std_per_dim": conventions.std("healthy", steps, rng, 0.004),
        "collapse.mean_similarity": conventions.std("healthy", steps, rng, 0.5),
    }
    writer = SummaryWriter(os.path.join(str(tmp_path), name))
    for item in wanted:
        for step, value in zip(steps.tolist(), values[item["key"]].tolist()):
            writer.add_scalar(item["tag"], value, step)
    writer.close()
    client = app_for(str(tmp_path))[0]
    after = _get(client, "/health", run=name)
    still = {item["tag"] for item in after["coverage"]["missing"]}
    assert not still & {item["tag"] for item in wanted}
    judged = {(lt["key"], lt["level"]) for lt in after["lights"] if lt["status"] != "unknown"}
    assert {("derived.rank_fall_from_peak", 0), ("collapse.mean_std_per_dim", 0)} <= judged
    assert after["status"] == schema.HEALTHY, after["status_reason"]


# ------------------------------------------------------------------------- reading
def _scalars(client, convention, kind, tag):
    run = conventions.run_name(convention, kind)
    return np.array([row[2] for row in _get(client, "/scalars", run=run, tag=tag)["data"]])


def test_scaled_aliases_are_read_in_the_catalogue_units(client):
    ema = _scalars(client, "data2vec", "healthy", "ema_decay")  # logged x1000
    assert 0.9997 < ema.min() and ema.max() <= 1.0
    knn = _scalars(client, "solo_learn", "healthy", "val_knn_acc1")  # logged in percent
    assert 0.1 < knn.max() <= 1.0
    knn = _scalars(client, "upstream_head", "collapsing", "online_eval/knn_accuracy")
    assert 0.05 < knn[-1] < 0.15  # at chance (1 / 10 classes), not 10
    health = _health(client, "data2vec", "healthy")
    (entry,) = [e for e in health["tags"] if e["tag"] == "ema_decay"]
    assert entry["key"] == "ema.momentum_current" and entry["exact"] is True
    assert "x1000" in catalog.resolve("ema_decay", scoped=True).alias.note
    (light,) = [lt for lt in health["lights"] if lt["key"] == "ema.momentum_current"]
    assert light["status"] == schema.HEALTHY and 0.9997 < light["value"] <= 1.0


def test_lightning_twins_are_read_as_one_metric_the_step_series(client):
    health = _health(client, "stable_pretraining", "healthy")
    tags = {entry["tag"]: entry["key"] for entry in health["tags"]}
    assert tags["fit/loss_step"] == "loss.total" and "fit/loss_epoch" not in tags
    assert catalog.resolve("fit/loss_epoch").twin == "epoch"
    reference = _health(client, "lightning_reference", "healthy")
    tags = {entry["key"]: entry["tag"] for entry in reference["tags"]}
    assert tags["loss.total"] == "train/loss/total_step"
    assert tags["collapse.mean_std_per_dim"] == "train/collapse/level0_mean_std_per_dim_step"
    assert reference["source"] == "plain"


def test_a_value_the_codebase_writes_for_not_computed_is_left_out(client):
    health = _health(client, "upstream_head", "healthy")
    (entry,) = [e for e in health["tags"] if e["tag"] == "train/target_eff_rank"]
    written = len(range(0, conventions.STEPS, 2 * conventions.LOG_EVERY))
    assert entry["points"] == written - 1  # the -1 of a device without SVD


def test_a_generic_name_is_read_only_beside_its_codebase(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    # A contrastive Lightning run whose "tau" is its temperature, not an EMA momentum.
    writer = SummaryWriter(str(tmp_path / "simclr"))
    for step in range(0, 500, 10):
        writer.add_scalar("train_loss_step", 5.0 - step / 200, step)
        writer.add_scalar("tau", 0.1, step)
    writer.close()
    # A classifier's bare "loss" and "lr": not an H-JEPA run.
    writer = SummaryWriter(str(tmp_path / "classifier"))
    for step in range(0, 500, 10):
        writer.add_scalar("loss", 2.0 - step / 500, step)
        writer.add_scalar("lr", 0.1, step)
    writer.close()
    client = app_for(str(tmp_path))[0]
    runs = {entry["run"]: entry for entry in _get(client, "/runs")["runs"]}
    assert set(runs) == {"simclr"}
    health = _get(client, "/health", run="simclr")
    assert "tau" not in {entry["tag"] for entry in health["tags"]}
    (ema,) = [lt for lt in health["lights"] if lt["key"] == "ema.momentum_current"]
    assert ema["status"] == schema.UNKNOWN and health["status"] == schema.UNKNOWN


def test_no_inexact_alias_meets_an_absolute_bound():
    """An inexact alias's curve is judged by its own history or by convention-free
    checks only: its metric's rule is dimension-relative (refused for inexact curves) or
    counts NaN/Inf, and every derived light of it is a history statistic, or a probe
    light in the probe's own standard errors (chance and the random-init baseline hold
    for any classifier's accuracy)."""
    history = {"fall_from_peak", "fast_fall", "steady_fall", "probe_fall"}
    probe_lights = {
        "derived.knn_vs_random_init",
        "derived.knn_gain",
        "derived.knn_vs_chance",
        "derived.knn_fall",
    }
    for metric in catalog.metrics():
        if all(alias.exact for alias in metric.aliases):
            continue
        rule = metric.rule
        assert (
            rule is None
            or rule.normalise != schema.NORMALISE_NONE
            or rule.statistic == "non_finite"
        ), metric.key
        for record in catalog.derived():
            if record.of_metric == metric.key and record.rule is not None:
                assert record.rule.statistic in history or record.key in probe_lights, record.key
        # The flowchart's and the patterns' own checks of it compare it with itself.
        for item in list(catalog.branches()) + list(catalog.patterns()):
            fields = ("triggers", "checks", "applies_when", "symptoms", "any_symptoms", "evidence")
            for check in (c for field in fields for c in getattr(item, field, ())):
                if check.metric == metric.key and check.band is None:
                    assert check.statistic not in schema.LEVEL_STATISTICS, check.id


def test_every_alias_names_a_convention_with_the_sources_it_was_read_from():
    for metric in catalog.metrics():
        for alias in metric.aliases:
            convention = catalog.convention(alias.source)
            assert convention is not None and convention.read_from, (metric.key, alias.tag)
            assert all(catalog.convention(name) for name in alias.scope), alias.tag
            assert alias.scale > 0 and (alias.exact or alias.note), alias.tag
    assert "conventions" in catalog.to_dict()


# ----------------------------------------------------------------------------- doctor
def _doctor(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = doctor.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_the_doctor_names_the_convention_and_lists_the_missing_tags(logdir):
    code, out, _ = _doctor(logdir, "--run", conventions.run_name("lightning_plain", "healthy"))
    assert code == doctor.EXIT_OK
    header = next(line for line in out.splitlines() if line.startswith("UNKNOWN"))
    assert "source other (PyTorch Lightning)" in header
    assert "Coverage: 1 of " in out
    assert (
        'train/collapse/level0_effective_rank  self.log("train/collapse/level0_effective_rank", '
        "value)" in out
    )
    code, out, _ = _doctor(logdir, "--run", conventions.run_name("solo_learn", "collapsing"))
    assert code == doctor.EXIT_ALERT and "source other (solo-learn)" in out


def test_no_run_found_lists_the_tags_seen_and_points_to_the_guide(tmp_path):
    conventions.write_unrelated(str(tmp_path), tags=25)
    code, out, err = _doctor(str(tmp_path))
    assert code == doctor.EXIT_ERROR and out == ""
    assert err.startswith("hjepa-doctor: error: no H-JEPA runs found") and err.count("\n") == 1
    assert "none of its 25 scalar tags" in err and "Accuracy/val" in err and "+5 more" in err
    assert "docs/own_training_loop.md" in err
    answer = _get(app_for(str(tmp_path))[0], "/runs")
    assert answer["runs"] == []
    hint = answer["hint"]
    assert hint["tags_seen_count"] == 25 and len(hint["tags_seen"]) == 20
    assert hint["guide"] == "docs/own_training_loop.md" and "Accuracy/val" in hint["tags_seen"]
    assert os.path.isfile(os.path.join(os.path.dirname(__file__), "..", hint["guide"]))


def test_an_unknown_answer_has_every_field_of_a_judged_one(client):
    from tensorboard_plugin_hjepa.unknown import unknown_health

    health = _health(client, "solo_learn", "healthy")
    unknown = unknown_health("run", "the diagnosis failed")
    assert set(health) <= set(unknown)
    assert unknown["coverage"] is None and unknown["convention"] is None
