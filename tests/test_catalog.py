"""The catalogue covers the whole reference and is internally consistent."""

import json
import os
import re

import pytest

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(
    HERE, "..", "..", "shared", "seed", "hjepa_tensorboard_metrics_reference.md"
)
REFERENCE_COPY = os.path.join(HERE, "data", "hjepa_tensorboard_metrics_reference.md")


def _reference_text():
    # The shared seed sits beside the checkout; a copy ships with the tests so a
    # clone elsewhere still runs. Both must agree.
    with open(REFERENCE_COPY, encoding="utf-8") as f:
        copy = f.read()
    if os.path.exists(REFERENCE):
        with open(REFERENCE, encoding="utf-8") as f:
            assert f.read() == copy, "tests/data copy of the reference is stale"
    return copy


def _reference_tags():
    """Every tag the reference lists in its sections 1-10, placeholders normalised."""
    text = _reference_text()
    body = text.split("## 11.")[0]
    tags = set(re.findall(r"^(train/[\w/{}]+)", body, flags=re.M))
    tags |= set(re.findall(r"`(gradients/\{layer\}_histogram)`", body))
    return {_normalise(t) for t in tags}


def _normalise(tag):
    tag = re.sub(r"h\d$", "h{}", tag)
    return re.sub(r"\{(i|group|layer)\}", "{}", tag)


def test_every_reference_tag_is_in_the_catalogue():
    ours = {_normalise(m.tag) for m in catalog.metrics()}
    reference = _reference_tags()
    assert len(reference) == 55, "reference parsing found too few tags: %d" % len(reference)
    assert reference - ours == set()


def test_catalogue_adds_only_documented_project_metrics():
    reference = _reference_tags()
    extra = [m for m in catalog.metrics() if _normalise(m.tag) not in reference]
    assert extra, "the project adds eval and collapse-sample metrics"
    for metric in extra:
        assert metric.origin == "project" and metric.section == 0, metric.key


def test_keys_and_tags_are_unique():
    metrics = list(catalog.metrics())
    assert len({m.key for m in metrics}) == len(metrics)
    assert len({m.tag for m in metrics}) == len(metrics)


@pytest.mark.parametrize("metric", list(catalog.metrics()), ids=lambda m: m.key)
def test_metric_record_is_complete(metric):
    assert metric.meaning and metric.unit is not None and metric.frequency.text
    assert metric.category == metric.key.split(".")[0]
    assert metric.kind in ("scalar", "histogram", "text")
    assert metric.kind != "text" or (metric.rule is None and metric.origin == "project")
    if metric.rule:
        assert metric.rule.healthy_text
        assert metric.rule.normalise in schema.NORMALISATIONS
        assert metric.rule.statistic in schema.STATISTICS
        for band in metric.rule.bands:
            assert band.status in (schema.WARNING, schema.COLLAPSE, schema.CRITICAL)
            assert band.op in schema.OPERATORS and band.text and band.source
            # collapse metrics alert with "collapse", every other with "critical"
            if band.status == schema.COLLAPSE:
                assert metric.category in ("collapse", "hierarchy"), metric.key


def test_reference_frequencies_are_recorded():
    expected = {
        "loss": 1,
        "masking": 100,
        "prediction": 100,
        "collapse": 100,
        "gradient_flow": 100,
        "learning_rate": 100,
        "hierarchy": 100,
        "stability": 1,
        "performance": 100,
        "ema": 500,
    }
    for metric in catalog.metrics():
        if (
            metric.category in expected
            and metric.origin == "reference"
            # at each evaluation; a schedule value logged as often as the learning rate
            and metric.key not in ("stability.val_train_loss_ratio", "ema.momentum_current")
        ):
            assert metric.frequency.steps == expected[metric.category], metric.key


@pytest.mark.parametrize(
    "key,kw,expected",
    [
        ("loss.total", {}, "train/loss/total"),
        ("loss.level", {"level": 2}, "train/loss/h2"),
        ("collapse.effective_rank", {"level": 7}, "train/collapse/level7_effective_rank"),
        ("learning_rate.param_group", {"group": 3}, "train/learning_rate/param_group_3"),
        ("gradients.histogram", {"layer": "predictor"}, "gradients/predictor_histogram"),
    ],
)
def test_tag_fills_placeholders(key, kw, expected):
    assert catalog.tag(key, **kw) == expected
    resolved = catalog.resolve(expected)
    assert resolved.metric.key == key and resolved.alias is None
    assert resolved.level == kw.get("level") and resolved.group == kw.get("group")


def test_tag_errors_name_the_problem():
    with pytest.raises(KeyError, match="did you mean loss.total"):
        catalog.tag("loss.totl")
    with pytest.raises(ValueError, match="needs level="):
        catalog.tag("loss.level")
    with pytest.raises(ValueError, match="has no level"):
        catalog.tag("loss.total", level=0)
    with pytest.raises(ValueError, match="non-negative int"):
        catalog.tag("loss.level", level=-1)
    with pytest.raises(ValueError, match="layer name"):
        catalog.tag("gradients.histogram", layer="a/b")


@pytest.mark.parametrize(
    "tag,key,level,exact",
    [
        ("train/loss", "loss.total", None, True),
        ("train/loss_h0", "loss.level", 0, True),
        ("train/loss_h3", "loss.level", 3, True),
        ("train/loss_unweighted", "loss.unweighted", None, True),
        ("train/lr", "learning_rate.base_lr", None, True),
        ("train/ema_momentum", "ema.momentum_current", None, True),
        ("train/target_std", "collapse.mean_std_per_dim", 0, False),
        ("train/target_rank", "collapse.effective_rank", 0, False),
        ("train/target_norm", "hierarchy.feat_norm", 0, False),
    ],
)
def test_upstream_aliases(tag, key, level, exact):
    resolved = catalog.resolve(tag)
    assert resolved.metric.key == key and resolved.level == level
    assert resolved.exact is exact
    assert catalog.source_of(resolved) is catalog.Source.UPSTREAM


@pytest.mark.parametrize(
    "tag",
    [
        "train/loss/totally",
        "train/loss/hx",
        "train/collapse/levelA_effective_rank",
        "xtrain/loss/total",
        "train/context_std",
        "",
        "train/loss/h",
        "x" * 10000,
    ],
)
def test_lookalike_tags_are_not_resolved(tag):
    assert catalog.resolve(tag) is None


def test_dimension_relative_bounds_reduce_to_reference_at_768():
    rules = {m.key: m.rule for m in catalog.metrics() if m.rule}
    sqrt768 = 768**0.5
    mean_std = {b.status: b.bound for b in rules["collapse.mean_std_per_dim"].bands}
    # Calibrated on real runs (see each rule's correction): dimension-relative, and below the
    # reference's numbers at D=768, which call a healthy tiny demo collapsed.
    assert mean_std["collapse"] / sqrt768 == pytest.approx(0.0036, rel=0.02)
    assert mean_std["collapse"] / sqrt768 < 0.01
    min_std = {b.status: b.bound for b in rules["collapse.min_std_per_dim"].bands}
    assert min_std["collapse"] / sqrt768 == pytest.approx(0.00043, rel=0.02)
    assert min_std["warning"] / sqrt768 == pytest.approx(0.00087, rel=0.02)
    rank = {b.status: b.bound for b in rules["collapse.effective_rank"].bands}
    assert rank["collapse"].resolve(768) * 768 == pytest.approx(7.7, rel=0.01)
    assert rank["warning"].resolve(768) * 768 == pytest.approx(11.5, rel=0.01)
    assert rank["collapse"].resolve(768) * 768 < 200 and rank["warning"].resolve(768) * 768 < 500
    # ... and a floor in directions that holds at small widths: 2 (2.5) of 64.
    assert rank["collapse"].resolve(64) * 64 == pytest.approx(2.0)
    assert rank["warning"].resolve(64) * 64 == pytest.approx(2.5)


def test_every_corrected_rule_says_why():
    corrected = [m for m in catalog.metrics() if m.rule and m.rule.correction]
    corrected += [d for d in catalog.derived() if d.rule and d.rule.correction]
    corrected += [b for b in catalog.branches() if b.correction]
    corrected += [p for p in catalog.patterns() if p.correction]
    assert len(corrected) >= 8
    for item in corrected:
        c = item.rule.correction if hasattr(item, "rule") else item.correction
        assert c.reference_says and c.rule and len(c.why) > 40


def test_flowchart_has_every_reference_branch_with_data_checks():
    questions = [b.question for b in catalog.branches()]
    for q in (
        "Loss not decreasing?",
        "Collapse detected?",
        "Poor prediction quality?",
        "Gradient issues?",
        "Slow training?",
    ):
        assert any(x.startswith(q) for x in questions), q
    known = {m.key for m in catalog.metrics()} | {d.key for d in catalog.derived()}
    for branch in catalog.branches():
        assert branch.triggers and branch.checks and branch.actions
        for check in branch.triggers + branch.checks + branch.applies_when:
            assert check.metric in known, check
            assert check.op in schema.OPERATORS and check.statistic in schema.STATISTICS
            assert check.divide_by is None or check.divide_by in known


def test_patterns_cover_section_16():
    ids = {p.id for p in catalog.patterns()}
    # Section 16's five, plus the partial collapse that DESIGN's corrections describe.
    assert ids == {
        "loss_stuck",
        "divergence",
        "collapse",
        "noisy",
        "early_plateau",
        "partial_collapse",
    }
    known = {m.key for m in catalog.metrics()} | {d.key for d in catalog.derived()}
    for pattern in catalog.patterns():
        assert pattern.symptoms or pattern.any_symptoms
        for check in pattern.symptoms + pattern.any_symptoms + pattern.evidence:
            assert check.metric in known and check.statistic in schema.STATISTICS


def test_to_dict_is_plain_json():
    data = json.loads(catalog.to_json())
    assert data["version"] == catalog.CATALOG_VERSION
    assert len(data["metrics"]) == len(list(catalog.metrics()))
    rank = next(m for m in data["metrics"] if m["key"] == "collapse.effective_rank")
    assert rank["per_level"] is True
    assert all(b["bound"].get("kind") == "rank_bound" for b in rank["rule"]["bands"])
    cosine = next(m for m in data["metrics"] if m["key"] == "prediction.cosine_sim_mean")
    assert cosine["rule"]["bands"][0]["bound"]["kind"] == "progress_bound"
    derived = {d["key"]: d for d in data["derived"]}
    assert derived["derived.rank_fall_from_peak"]["per_level"] is True
    assert derived["derived.knn_vs_random_init"]["of_metric"] == "eval.knn_top1"


def _all_checks():
    for branch in catalog.branches():
        for check in branch.triggers + branch.checks + branch.applies_when:
            yield branch.id, check
    for pattern in catalog.patterns():
        for check in pattern.symptoms + pattern.any_symptoms + pattern.evidence:
            yield pattern.id, check


def test_a_check_on_a_judged_quantity_names_its_band_and_agrees_with_it():
    # A check that compares the same statistic a rule judges must take its bound from the
    # rule's band (flowchart.band_check): a recalibrated band cannot leave a stale check.
    rules = {m.key: m.rule for m in catalog.metrics() if m.rule}
    rules.update({d.key: d.rule for d in catalog.derived() if d.rule})
    for owner, check in _all_checks():
        rule = rules.get(check.metric)
        if rule is None:
            assert check.band is None, (owner, check.id)
            continue
        same_quantity = check.statistic == rule.statistic and check.normalise == rule.normalise
        if check.band is None:
            # Comparing what a band compares (same statistic and direction) with a number
            # of its own is a retyped bound, unless it is a note's bound (the reference's
            # typical range), named once and shared.
            shared = {
                b
                for n in rule.notes
                for b in (n.bound if isinstance(n.bound, tuple) else (n.bound,))
            }
            same_direction = any(b.op == check.op for b in rule.bands)
            assert not (same_quantity and same_direction) or check.bound in shared, (
                "%s/%s retypes a bound of %s" % (owner, check.id, check.metric)
            )
            continue
        band = next(b for b in rule.bands if b.status == check.band)
        assert (check.op, check.bound, check.statistic, check.normalise) == (
            band.op,
            band.bound,
            rule.statistic,
            rule.normalise,
        ), (owner, check.id)
