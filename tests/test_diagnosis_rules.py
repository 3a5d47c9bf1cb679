"""Every verdict rule of the catalogue at and around each of its bounds.

The table-driven tests walk the catalogue's bands, so a band added later is covered
without editing this file. Each case goes through ``diagnose`` end to end (curve ->
statistic -> normalisation -> band -> light), and the expected status comes from a
small independent oracle (first matching band, else healthy). The dimension-relative
rules also have hand-written cases at D=768 and D=192.
"""

import math
import operator

import numpy as np
import pytest

from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose, verdict
from tests.diagnosis_util import light, make_run

# D = 256: sqrt(D) = 16 and min(N, D) = 256 are powers of two, so raw = judged / 16
# (or / 256) round-trips exactly and "at the bound" really is at the bound.
D = 256
ROWS = 4 * D

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def _oracle_bound(bound, dim):
    if isinstance(bound, schema.DimBound):
        return max(bound.floor, bound.per_sqrt_dim / math.sqrt(dim))
    if isinstance(bound, schema.RankBound):  # the rank's span here is min(ROWS, D)
        return max(bound.fraction, bound.directions / min(ROWS, dim))
    if isinstance(bound, schema.ProgressBound):  # these runs state no planned length
        return bound.when_unknown
    return bound


def _oracle_band(rule, judged, dim):
    """The first band the judged value falls in, or None (healthy)."""
    for band in rule.bands:
        bound = _oracle_bound(band.bound, dim)
        if band.op == "outside":
            hit = judged < bound[0] or judged > bound[1]
        elif band.op == "inside":
            hit = bound[0] <= judged <= bound[1]
        else:
            hit = _OPS[band.op](judged, bound)
        if hit:
            return band
    return None


def _edge_values(op, bound):
    """Judged values at and just either side of a bound."""

    def around(b):
        eps = 1e-6 * max(1.0, abs(b))
        return [b - eps, b, b + eps]

    if op in ("outside", "inside"):
        return around(float(bound[0])) + around(float(bound[1]))
    return around(float(bound))


def _raw(rule, judged):
    if rule.normalise == schema.NORMALISE_SQRT_DIM:
        return judged / math.sqrt(D)
    if rule.normalise == schema.NORMALISE_RANK_FRACTION:
        return judged * min(ROWS, D)
    return judged


def _curve_for(rule, raw):
    """A curve whose rule statistic is ``raw``."""
    if rule.statistic == "recent":
        return np.full(20, raw)
    if rule.statistic == "recent_over_first":
        return np.array([1.0] * 10 + [raw] * 10)
    if rule.statistic == "non_finite":
        count = int(round(raw))
        if count < 0 or count != raw:
            return None  # a count cannot be fractional or negative
        values = np.ones(20)
        values[:count] = np.nan
        return values
    if rule.statistic == "last":
        return np.array([0.5] * 19 + [raw])
    if rule.statistic == "recent_after_warmup":  # 20 points: the warmup is the first 2
        return np.full(20, raw)
    if rule.statistic == "recent_over_post_warmup":
        return np.array([5.0] * 2 + [1.0] * 9 + [raw] * 9)  # a warmup value, then the two
    if rule.statistic == "growth_over_early":  # early training: the first 5 of 20 points
        return np.array([3.0] * 5 + [1.0] * 7 + [raw] * 8)
    if rule.statistic == "fall_from_peak":  # early training: the first 5 of 20 points
        if raw < 1:
            return None  # a peak over the recent value is at least 1
        return np.array([100.0] * 5 + [raw] * 8 + [1.0] * 7)
    raise AssertionError("add a curve builder for statistic %r" % rule.statistic)


def _cases():
    for metric in catalog.metrics():
        if metric.rule is None:
            continue
        for index, band in enumerate(metric.rule.bands):
            bound = _oracle_bound(band.bound, D)
            for judged in _edge_values(band.op, bound):
                if _curve_for(metric.rule, _raw(metric.rule, judged)) is None:
                    continue  # e.g. a negative count of non-finite values: no curve has it
                yield pytest.param(
                    metric, judged, id="%s-band%d-%s%g" % (metric.key, index, band.op, judged)
                )


@pytest.mark.parametrize("metric, judged", list(_cases()))
def test_every_band_at_and_around_its_bound(metric, judged):
    rule = metric.rule
    values = _curve_for(rule, _raw(rule, judged))
    level = 0 if metric.per_level else None
    run = make_run(
        {(metric.key, level): values, ("collapse.num_rows", 0): np.full(20, ROWS)}, dim=D, levels=1
    )
    result = light(diagnose(run), metric.key, level)
    matched = _oracle_band(rule, judged, D)
    expected = matched.status if matched else schema.HEALTHY
    assert result["status"] == expected, (judged, result["explanation"])
    assert result["judged_value"] == pytest.approx(judged, rel=1e-12, abs=1e-15)
    if matched is not None:
        assert result["threshold"]["status"] == expected
        assert result["threshold"]["op"] == matched.op
        assert result["explanation"] == matched.text
    else:
        assert result["explanation"] == rule.healthy_text
        assert result["threshold"]["status"] == rule.bands[-1].status


def test_every_status_word_of_a_band_is_a_catalogue_status():
    for metric in catalog.metrics():
        for band in metric.rule.bands if metric.rule else ():
            assert band.status in (schema.WARNING, schema.COLLAPSE, schema.CRITICAL)
            assert band.op in schema.OPERATORS


# ------------------------------------------------------- dimension-relative, by hand
def _status(key, raw, *, dim, rows=None, level=0):
    curves = {(key, level): np.full(20, raw)}
    if rows is not None:
        curves[("collapse.num_rows", level)] = np.full(20, float(rows))
    return light(diagnose(make_run(curves, dim=dim, levels=1)), key, level)


@pytest.mark.parametrize(
    "raw, dim, status",
    [
        # mean std per dim, judged as std * sqrt(D): healthy >= 0.2, collapse < 0.1 (calibrated).
        (0.0200, 768, "healthy"),  # 0.554
        (0.0100, 768, "healthy"),  # 0.277: the reference's "collapse < 0.01", a healthy demo level
        (0.0073, 768, "healthy"),  # 0.202
        (0.0072, 768, "warning"),  # 0.1995
        (0.0037, 768, "warning"),  # 0.1025
        (0.0036, 768, "collapse"),  # 0.0998
        (0.0500, 192, "healthy"),  # 0.693
        (0.0100, 192, "warning"),  # 0.139
        (0.0070, 192, "collapse"),  # 0.097
        (0.0360, 768, "healthy"),  # 0.998: isotropic L2-normalised features
    ],
)
def test_mean_std_is_judged_relative_to_sqrt_d(raw, dim, status):
    result = _status("collapse.mean_std_per_dim", raw, dim=dim)
    assert result["status"] == status
    assert result["judged_value"] == pytest.approx(raw * math.sqrt(dim))
    assert any("sqrt(D)" in note for note in result["notes"])


def test_the_reference_healthy_std_bound_is_not_used():
    # 0.04 > 0.05 fails the reference's "healthy > 0.05" but is isotropic-level at 768.
    assert _status("collapse.mean_std_per_dim", 0.035, dim=768)["status"] == "healthy"


@pytest.mark.parametrize(
    "raw, dim, status",
    [
        # min std per dim, judged as std * sqrt(D): healthy >= 0.024, collapse < 0.012 (calibrated).
        (0.0051, 768, "healthy"),  # 0.141
        (0.0010, 768, "healthy"),  # 0.0277: the reference's 0.001
        (0.00087, 768, "healthy"),  # 0.0241
        (0.00086, 768, "warning"),  # 0.0238
        (0.00044, 768, "warning"),  # 0.0122
        (0.00043, 768, "collapse"),  # 0.0119
        (0.0110, 192, "healthy"),  # 0.152
        (0.0010, 192, "warning"),  # 0.0139
        (0.0008, 192, "collapse"),  # 0.0111
    ],
)
def test_min_std_is_judged_relative_to_sqrt_d(raw, dim, status):
    assert _status("collapse.min_std_per_dim", raw, dim=dim)["status"] == status


@pytest.mark.parametrize(
    "erank, dim, rows, status",
    [
        # calibrated on real runs: healthy >= 0.015 and 2.5 directions, collapse < 0.01 or
        # under 2 directions (reference: 500 / 200 of 768)
        (500, 768, 4096, "healthy"),  # 0.651 = the reference's 500 of 768
        (200, 768, 4096, "healthy"),  # 0.260: the reference's collapse, a healthy tiny run's level
        (12, 768, 4096, "healthy"),  # 0.0156
        (11, 768, 4096, "warning"),  # 0.0143
        (8, 768, 4096, "warning"),  # 0.0104
        (7, 768, 4096, "collapse"),  # 0.0091
        (3, 192, 1024, "healthy"),  # 0.0156, 3 directions
        (2.4, 192, 1024, "warning"),  # under 2.5 directions
        (1.9, 192, 1024, "collapse"),  # under 2 directions
    ],
)
def test_effective_rank_is_judged_as_a_fraction_of_min_n_d(erank, dim, rows, status):
    result = _status("collapse.effective_rank", erank, dim=dim, rows=rows)
    assert result["status"] == status
    assert result["judged_value"] == pytest.approx(erank / min(rows, dim))
    assert not any("uncertain" in note for note in result["notes"])


def test_effective_rank_with_few_rows_uses_n_and_says_it_is_uncertain():
    # Pure noise at N=256, D=768 has erank ~244: of 256 possible, that is healthy.
    result = _status("collapse.effective_rank", 244, dim=768, rows=256)
    assert result["status"] == "healthy"
    assert result["judged_value"] == pytest.approx(244 / 256)
    assert any("uncertain" in note and "4D=3072" in note for note in result["notes"])


def test_effective_rank_rows_from_the_manifest_when_not_logged():
    run = make_run({("collapse.effective_rank", 0): np.full(20, 100.0)}, dim=768, rows=128)
    result = light(diagnose(run), "collapse.effective_rank", 0)
    assert result["judged_value"] == pytest.approx(100 / 128)
    assert any("manifest" in note for note in result["notes"])


def test_effective_rank_with_rows_unknown_uses_d_and_says_so():
    result = _status("collapse.effective_rank", 600, dim=768)
    assert result["judged_value"] == pytest.approx(600 / 768)
    assert any("rows N unknown" in note for note in result["notes"])


@pytest.mark.parametrize(
    "value, dim, status",
    [
        (0.60, 768, "healthy"),  # a shared mean direction: healthy at any width
        (0.955, 64, "healthy"),
        (0.97, 768, "warning"),
        (0.975, 192, "warning"),
        (0.99, 64, "collapse"),  # every feature points one way
        (0.999, None, "collapse"),  # the raw cosine needs no D
    ],
)
def test_similarity_is_judged_on_the_raw_cosine_at_any_width(value, dim, status):
    result = _status("collapse.mean_similarity", value, dim=dim)
    assert result["status"] == status


@pytest.mark.parametrize(
    "key, raw, status",
    [
        ("collapse.mean_std_per_dim", 1e-5, "collapse"),  # std*sqrt(D) <= 0.0009 at every D
        ("collapse.min_std_per_dim", 1e-6, "collapse"),
        ("collapse.effective_rank", 1.3, "collapse"),  # under 2 directions at every width
        ("collapse.mean_std_per_dim", 0.03, "healthy"),  # 0.24 at D=64 ... 1 at D=1111 (its cap)
    ],
)
def test_dimension_relative_rule_without_d_is_judged_where_every_plausible_d_agrees(
    key, raw, status
):
    result = _status(key, raw, dim=None)
    assert result["status"] == status, result["explanation"]
    assert any("every plausible D" in note for note in result["notes"])
    assert result["judged_value"] is None  # no single D to normalise with


@pytest.mark.parametrize(
    "key, raw",
    [
        ("collapse.mean_std_per_dim", 0.003),
        ("collapse.min_std_per_dim", 0.001),
        ("collapse.effective_rank", 5.0),
    ],
)
def test_dimension_relative_rule_without_d_is_unknown_where_d_decides(key, raw):
    result = _status(key, raw, dim=None)
    assert result["status"] == "unknown"
    assert "embedding dim unknown" in result["explanation"]
    assert "--embed-dim" in result["explanation"]
    assert result["value"] == pytest.approx(raw)
    assert result["judged_value"] is None


def test_a_given_d_judges_a_run_without_one_and_says_so():
    run = make_run({("collapse.mean_std_per_dim", 0): np.full(20, 0.005)}, dim=None, levels=1)
    assert light(diagnose(run), "collapse.mean_std_per_dim", 0)["status"] == "unknown"
    health = diagnose(run, embed_dim=768)
    assert light(health, "collapse.mean_std_per_dim", 0)["status"] == "warning"  # 0.139
    assert health["embed_dim"] == 768 and health["embed_dim_source"] == "user"
    assert "D=768 assumed" in health["dim_note"]
    with_manifest = diagnose(
        make_run({("collapse.mean_std_per_dim", 0): np.full(20, 0.003)}, dim=128, levels=1),
        embed_dim=768,
    )
    assert with_manifest["embed_dim"] == 128 and with_manifest["embed_dim_source"] == "manifest"
    assert "ignored" in with_manifest["dim_note"]


# ---------------------------------------- verdict.py: bounds, comparison, normalisation
@pytest.mark.parametrize(
    "value, op, bound, expected",
    [
        (1.0, "<", 2.0, True),
        (2.0, "<", 2.0, False),
        (2.0, "<=", 2.0, True),
        (3.0, ">", 2.0, True),
        (2.0, ">", 2.0, False),
        (2.0, ">=", 2.0, True),
        (0.0, "==", 0.0, True),
        (0.5, "outside", (0.4, 0.7), False),
        (0.4, "outside", (0.4, 0.7), False),
        (0.39, "outside", (0.4, 0.7), True),
        (0.71, "outside", (0.4, 0.7), True),
        (0.5, "inside", (0.4, 0.7), True),
        (float("nan"), "<", 1.0, False),
        (float("nan"), "outside", (0.0, 1.0), False),
    ],
)
def test_compare(value, op, bound, expected):
    assert verdict.compare(value, op, bound) is expected


def test_compare_rejects_a_wrong_bound_shape_and_an_unknown_operator():
    with pytest.raises(ValueError, match="outside"):
        verdict.compare(1.0, "outside", 2.0)
    with pytest.raises(ValueError, match="single bound"):
        verdict.compare(1.0, "<", (0.0, 1.0))
    with pytest.raises(ValueError, match="unknown operator"):
        verdict.compare(1.0, "~", 1.0)


def test_normalise_rejects_an_unknown_normalisation():
    with pytest.raises(ValueError, match="sqrt_dim"):
        verdict.normalise(1.0, "log", dim=768)


def test_dim_bound_resolution():
    bound = schema.DimBound(0.3, 4.0)
    assert verdict.resolve_bound(bound, 64) == pytest.approx(0.5)
    assert verdict.resolve_bound(bound, 768) == pytest.approx(0.3)
    assert verdict.resolve_bound(bound, None) == pytest.approx(0.3)
    assert verdict.bound_json((0.9, 1.0), None) == [0.9, 1.0]
