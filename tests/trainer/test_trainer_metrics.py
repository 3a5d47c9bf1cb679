"""Each metric formula of hjepa_trainer.metrics against a direct numpy computation."""

import math

import numpy as np
import pytest
import torch

from hjepa_trainer import metrics as M
from hjepa_trainer.optim import clip_gradients


def as_dict(records):
    return {(r.key, r.level, r.group): r.value for r in records}


class FakeWriter:
    def __init__(self):
        self.scalars, self.histograms = [], []

    def scalar(self, key, value, step, *, level=None, group=None):
        assert isinstance(value, float)
        self.scalars.append((key, level, group, step, value))

    def histogram(self, key, values, step, *, layer):
        self.histograms.append((key, layer, step, np.asarray(values)))


def test_loss_records_contributions_are_weighted_shares():
    losses, weights = [0.4, 0.3, 0.2], [1.0, 0.5, 0.25]
    d = as_dict(M.loss_records(losses, weights))
    weighted = np.array(weights) * np.array(losses)
    assert d[("loss.total", None, None)] == pytest.approx(weighted.sum())
    assert d[("loss.unweighted", None, None)] == pytest.approx(np.mean(losses))
    shares = [d[("loss.contribution", i, None)] for i in range(3)]
    np.testing.assert_allclose(shares, 100 * weighted / weighted.sum())
    assert sum(shares) == pytest.approx(100.0)
    assert [d[("loss.level", i, None)] for i in range(3)] == pytest.approx(losses)


def test_prediction_records_match_numpy():
    g = torch.Generator().manual_seed(0)
    p, t = torch.randn(50, 16, generator=g), torch.randn(50, 16, generator=g)
    d = as_dict(M.prediction_records(p, t, level=1))
    pn, tn = p.numpy().astype(np.float64), t.numpy().astype(np.float64)
    cos = (pn * tn).sum(1) / np.linalg.norm(pn, axis=1) / np.linalg.norm(tn, axis=1)
    expect = {
        "cosine_sim_mean": cos.mean(),
        "cosine_sim_std": cos.std(),
        "cosine_sim_min": cos.min(),
        "cosine_sim_max": cos.max(),
        "normalized_mse": np.mean(2 - 2 * cos),
        "l2_distance": np.linalg.norm(pn - tn, axis=1).mean(),
    }
    for k, v in expect.items():
        assert d[("prediction." + k, 1, None)] == pytest.approx(v, rel=1e-4, abs=1e-5), k


def test_collapse_records_match_numpy():
    g = torch.Generator().manual_seed(1)
    f = torch.randn(40, 8, generator=g) + 0.5  # a shared mean direction
    d = as_dict(M.collapse_records(f, 0, max_rows=1000))
    x = f.numpy().astype(np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    std = x.std(0)
    s = np.linalg.svd(x, compute_uv=False)
    p = s / s.sum()
    erank = np.exp(-(p * np.log(p)).sum())
    z = x - x.mean(0)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    off = ~np.eye(40, dtype=bool)
    centred, raw = (z @ z.T)[off], (x @ x.T)[off]
    expect = {
        "mean_std_per_dim": std.mean(),
        "min_std_per_dim": std.min(),
        "effective_rank": erank,
        "mean_similarity": raw.mean(),
        "max_similarity": raw.max(),
        "std_similarity": raw.std(),
        "mean_similarity_centred": centred.mean(),
        "feature_mean_norm": np.linalg.norm(x.mean(0)),
        "num_rows": 40,
    }
    for k, v in expect.items():
        assert d[("collapse." + k, 0, None)] == pytest.approx(v, rel=1e-4, abs=1e-5), k
    # A shared mean direction shows in the (raw) similarity; the centred one is pinned near
    # -1/(N-1).
    assert (
        d[("collapse.mean_similarity", 0, None)]
        > d[("collapse.mean_similarity_centred", 0, None)] + 0.1
    )
    assert d[("collapse.mean_similarity_centred", 0, None)] == pytest.approx(-1 / 39, abs=0.01)


def test_similarity_sees_a_collapse_to_one_point():
    # Every row the same vector plus 1% noise: the raw cosine reads ~1, the centred one ~0.
    g = torch.Generator().manual_seed(2)
    f = torch.randn(1, 64, generator=g) + 0.01 * torch.randn(200, 64, generator=g)
    d = as_dict(M.collapse_records(f, 0, max_rows=1000))
    assert d[("collapse.mean_similarity", 0, None)] > 0.99
    assert abs(d[("collapse.mean_similarity_centred", 0, None)]) < 0.01


def test_effective_rank_known_answers():
    assert M.effective_rank(torch.ones(10, 6)).item() == pytest.approx(1.0, abs=1e-4)
    assert M.effective_rank(torch.eye(6)).item() == pytest.approx(6.0, rel=1e-5)


def test_collapse_rows_are_bounded():
    d = as_dict(
        M.collapse_records(
            torch.randn(5000, 8), 2, max_rows=64, generator=torch.Generator().manual_seed(0)
        )
    )
    assert d[("collapse.num_rows", 2, None)] == 64


def test_hierarchy_records_match_numpy():
    f = torch.randn(30, 6)
    d = as_dict(M.hierarchy_records(f, 2, num_cells=4))
    x = f.numpy().astype(np.float64)
    assert d[("hierarchy.feat_mean", 2, None)] == pytest.approx(x.mean(), abs=1e-6)
    assert d[("hierarchy.feat_std", 2, None)] == pytest.approx(x.std(axis=0).mean(), rel=1e-5)
    assert d[("hierarchy.feat_range", 2, None)] == pytest.approx(x.max() - x.min(), rel=1e-6)
    assert d[("hierarchy.feat_norm", 2, None)] == pytest.approx(
        np.linalg.norm(x, axis=1).mean(), rel=1e-5
    )
    assert d[("hierarchy.num_patches", 2, None)] == 4


def test_hierarchy_feat_std_is_zero_when_every_row_is_the_same_layer_normed_vector():
    row = torch.nn.functional.layer_norm(torch.randn(1, 32), (32,))
    d = as_dict(M.hierarchy_records(row.expand(50, 32), 0, num_cells=1))
    assert d[("hierarchy.feat_std", 0, None)] == pytest.approx(0.0, abs=1e-6)


def _module_with_grads(seed, shapes):
    g = torch.Generator().manual_seed(seed)
    mod = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(*s, generator=g)) for s in shapes])
    for p in mod:
        p.grad = torch.randn(p.shape, generator=g)
    return mod


def test_gradient_flow_and_global_norm_match_numpy():
    ctx = _module_with_grads(0, [(4, 3), (3,)])
    pred = _module_with_grads(1, [(5, 2)])
    tgt = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(4, 3), requires_grad=False)])
    grads = [p.grad.numpy().astype(np.float64) for p in list(ctx) + list(pred)]
    global_norm = math.sqrt(sum(np.linalg.norm(g) ** 2 for g in grads))
    assert M.global_grad_norm(list(ctx) + list(pred)) == pytest.approx(global_norm, rel=1e-6)
    d = as_dict(
        M.gradient_flow_records(
            context_encoder=ctx, predictor=pred, target_encoder=tgt, global_norm=global_norm
        )
    )
    cg = np.concatenate([g.ravel() for g in grads[:2]])
    assert d[("gradient_flow.context_encoder_mean", None, None)] == pytest.approx(
        np.abs(cg).mean(), rel=1e-6
    )
    assert d[("gradient_flow.context_encoder_max", None, None)] == pytest.approx(
        np.abs(cg).max(), rel=1e-6
    )
    assert d[("gradient_flow.predictor_mean", None, None)] == pytest.approx(
        np.abs(grads[2]).mean(), rel=1e-6
    )
    assert d[("gradient_flow.predictor_max", None, None)] == pytest.approx(
        np.abs(grads[2]).max(), rel=1e-6
    )
    assert d[("gradient_flow.target_encoder_mean", None, None)] == 0.0
    assert d[("gradient_flow.target_features_grad_norm", None, None)] == 0.0
    assert d[("gradient_flow.global_norm", None, None)] == pytest.approx(global_norm, rel=1e-6)


def test_target_features_gradient_is_seen_when_targets_get_gradients():
    ctx = _module_with_grads(0, [(4, 3)])
    targets = torch.randn(6, 3, requires_grad=True)
    (targets * 2.0).sum().backward()  # d/d targets = 2 everywhere
    d = as_dict(
        M.gradient_flow_records(
            context_encoder=ctx,
            predictor=ctx,
            target_encoder=ctx,
            global_norm=1.0,
            target_features_grad=targets.grad,
        )
    )
    assert d[("gradient_flow.target_features_grad_norm", None, None)] == pytest.approx(
        2.0 * math.sqrt(18), rel=1e-6
    )


@pytest.mark.parametrize("max_norm", [0.5, 1e6, 0.0])
def test_clip_gradients_reports_pre_and_post_norms(max_norm):
    mod = _module_with_grads(3, [(10, 10), (10,)])
    pre_np = math.sqrt(sum(np.linalg.norm(p.grad.numpy().astype(np.float64)) ** 2 for p in mod))
    res = clip_gradients(list(mod), max_norm)
    post_np = math.sqrt(sum(np.linalg.norm(p.grad.numpy().astype(np.float64)) ** 2 for p in mod))
    assert res.pre.item() == pytest.approx(pre_np, rel=1e-5)
    assert res.post.item() == pytest.approx(post_np, rel=1e-5)
    if 0 < max_norm < pre_np:
        assert post_np == pytest.approx(max_norm, rel=1e-4)


def test_ema_records_match_numpy():
    ctx = _module_with_grads(0, [(4, 3), (3,)])
    tgt = _module_with_grads(1, [(4, 3), (3,)])
    d = as_dict(M.ema_records(ctx, tgt, momentum=0.997, momentum_target=1.0))
    c = [p.detach().numpy().astype(np.float64) for p in ctx]
    t = [p.detach().numpy().astype(np.float64) for p in tgt]
    div = np.mean([np.linalg.norm(a - b) for a, b in zip(c, t)])
    ratio = math.sqrt(sum((b**2).sum() for b in t)) / math.sqrt(sum((a**2).sum() for a in c))
    assert d[("ema.avg_parameter_divergence", None, None)] == pytest.approx(div, rel=1e-5)
    assert d[("ema.weight_magnitude_ratio", None, None)] == pytest.approx(ratio, rel=1e-5)
    assert d[("ema.momentum_current", None, None)] == 0.997
    assert d[("ema.momentum_target", None, None)] == 1.0


def test_window_stats_match_numpy():
    vals = [1.0, 0.9, 0.95, 0.7, 0.72, 0.6]
    var, slope, spike = M.window_stats(vals)
    assert var == pytest.approx(np.var(vals))
    assert slope == pytest.approx(np.polyfit(np.arange(len(vals)), vals, 1)[0])
    assert spike == pytest.approx(1 / 0.9)  # 1.0 over the median of its first five points


def test_spike_ratio_ignores_a_falling_trend_and_sees_a_spike():
    # The demo's loss in a 100-step window of its warmup: falling 4x, no spike.
    falling = list(0.4 * np.exp(-np.arange(100) / 30.0) + 0.1)
    assert max(falling) / min(falling) > 3  # what the undetrended ratio read
    assert M.window_stats(falling)[2] < 1.5
    spiked = list(falling)
    spiked[60] *= 4
    assert M.window_stats(spiked)[2] > 3


def test_logger_windows_clipping_percentage_and_convergence():
    w = FakeWriter()
    m = M.HJepaMetrics(w, hierarchy_weights=[1.0, 0.5], embed_dim=8, window=4)
    for step, (pre, post) in enumerate(
        [(2.0, 1.0), (0.5, 0.5), (3.0, 1.0), (0.1, 0.1), (0.2, 0.2)]
    ):
        m.log_clipping(step, pre, post)
        m.log_losses(step, [1.0 - 0.1 * step, 0.5 - 0.02 * step])
    pct = [v for k, _, _, s, v in w.scalars if k == "gradient.clipping_percentage"]
    assert pct == pytest.approx([100.0, 50.0, 200 / 3, 50.0, 25.0])  # window of 4 steps
    rate = [
        v for k, lvl, _, s, v in w.scalars if k == "loss.convergence_rate" and lvl == 0 and s == 4
    ]
    window = [1.0 - 0.1 * s for s in range(1, 5)]
    assert rate[0] == pytest.approx(-100 * np.polyfit(range(4), window, 1)[0] / np.mean(window))
    smooth = [v for k, _, _, s, v in w.scalars if k == "stability.loss_smoothness" and s == 4][0]
    totals = [1.0 - 0.1 * s + 0.5 * (0.5 - 0.02 * s) for s in range(1, 5)]
    assert smooth == pytest.approx(np.var(totals))
    # Buffers hold Python floats only.
    state = m.state_dict()
    assert all(isinstance(v, float) for v in state["loss_window"] + state["clip_window"])


def test_frequency_policy_scales_and_overrides():
    p = M.FrequencyPolicy(log_frequency=100)
    assert p.every("loss.total") == 1
    assert p.every("collapse.effective_rank") == 100
    assert p.every("ema.avg_parameter_divergence") == 500
    p = M.FrequencyPolicy(
        log_frequency=20, overrides={"collapse": 7, "ema.avg_parameter_divergence": 3}
    )
    assert p.every("masking.mask_ratio") == 20
    assert p.every("collapse.effective_rank") == 7
    assert p.every("ema.avg_parameter_divergence") == 3
    assert p.due("masking.mask_ratio", 13, last_step=True) and not p.due("masking.mask_ratio", 13)


def test_loss_only_writes_only_loss_category():
    w = FakeWriter()
    m = M.HJepaMetrics(w, hierarchy_weights=[1.0], embed_dim=8, loss_only=True)
    m.log_losses(0, [0.5])
    m.log_losses(1, [0.4])
    m.log_clipping(1, 1.0, 1.0)
    assert {k for k, *_ in w.scalars} <= {
        "loss.total",
        "loss.level",
        "loss.unweighted",
        "loss.contribution",
        "loss.convergence_rate",
    }


def test_gradient_histograms_per_layer_group_with_exact_extremes():
    w = FakeWriter()
    m = M.HJepaMetrics(w, hierarchy_weights=[1.0], embed_dim=8, histogram_max_values=50)
    from hjepa_trainer.model import Predictor

    pred = Predictor(num_patches=16, embed_dim=8, predictor_dim=8, depth=2, num_heads=2)
    for p in pred.parameters():
        p.grad = torch.randn(p.shape)
    m.log_gradients(
        0,
        parts={
            "context_encoder": torch.nn.Linear(2, 2),
            "predictor": pred,
            "target_encoder": torch.nn.Linear(2, 2),
        },
        global_norm=1.0,
    )
    layers = {layer for _, layer, _, _ in w.histograms}
    assert {"predictor.blocks.0", "predictor.blocks.1", "predictor.embed"} <= layers
    vals = dict((layer, v) for _, layer, _, v in w.histograms)["predictor.blocks.0"]
    allg = torch.cat([p.grad.reshape(-1) for p in pred.blocks[0].parameters()])
    assert len(vals) == 50
    assert vals.max() == pytest.approx(allg.max().item()) and vals.min() == pytest.approx(
        allg.min().item()
    )


def test_a_frequency_is_honoured_for_any_metric_not_only_its_groups_gate():
    class Sink:
        def __init__(self):
            self.steps = {}

        def scalar(self, key, value, step, *, level=None, group=None):
            self.steps.setdefault(key, set()).add(step)

        def histogram(self, *args, **kwargs):
            pass

    sink = Sink()
    policy = M.FrequencyPolicy(
        log_frequency=10,
        overrides={"prediction.cosine_sim_std": 0, "collapse.mean_similarity": 20},
    )
    metrics = M.HJepaMetrics(sink, hierarchy_weights=[1.0], embed_dim=8, policy=policy)
    g = torch.Generator().manual_seed(0)
    for step in range(40):
        if metrics.levels_due(step):
            f = torch.randn(16, 8, generator=g)
            metrics.log_levels(step, preds=[f], targets=[f + 0.1], features=[f], cells=[16])
    assert sink.steps["prediction.cosine_sim_mean"] == {0, 10, 20, 30}
    assert "prediction.cosine_sim_std" not in sink.steps  # 0 = never, though its group runs
    assert sink.steps["collapse.mean_similarity"] == {0, 20}
    assert sink.steps["collapse.effective_rank"] == {0, 10, 20, 30}


def _logged_keys(**kwargs):
    """The catalogue keys ``log_gradients`` writes for one step."""
    w = FakeWriter()
    ctx = _module_with_grads(0, [(4, 3)])
    M.HJepaMetrics(w, hierarchy_weights=[1.0], embed_dim=4).log_gradients(
        0,
        parts={"context_encoder": ctx, "predictor": ctx, "target_encoder": ctx},
        global_norm=1.0,
        **kwargs,
    )
    return {key for key, *_ in w.scalars}


def test_the_gradient_at_the_targets_is_unknown_unless_the_loop_shows_them():
    # No target features given: not written (its light says unknown), never a 0 that
    # would read as a healthy stop-gradient.
    assert "gradient_flow.target_features_grad_norm" not in _logged_keys()
    # Targets without gradients: the stop-gradient holds, 0 is the measurement.
    assert "gradient_flow.target_features_grad_norm" in _logged_keys(
        target_features=torch.randn(2, 3)
    )
    # Targets with gradients whose .grad was not retained: unknown, and a warning says why.
    targets = torch.randn(2, 3, requires_grad=True) * 1.0
    (targets * 2).sum().backward()
    with pytest.warns(RuntimeWarning, match="retain_grad"):
        keys = _logged_keys(target_features=targets)
    assert "gradient_flow.target_features_grad_norm" not in keys
