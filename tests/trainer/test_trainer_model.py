"""Model: shapes, gradients, token dropping, hierarchical pooling, EMA."""

import numpy as np
import pytest
import torch

from hjepa_trainer.masking import MultiBlockMaskGenerator, step_generator
from hjepa_trainer.model import HJEPA, ema_update, hierarchy_levels, pool_masked
from hjepa_trainer.optim import param_groups


def tiny(**kw):
    args = dict(
        img_size=24,
        patch_size=4,
        embed_dim=32,
        depth=2,
        num_heads=2,
        predictor_dim=16,
        predictor_depth=1,
        predictor_heads=2,
        num_levels=3,
        hierarchy_weights=[1.0, 0.5, 0.25],
    )
    args.update(kw)
    return HJEPA(**args)


def batch(model, b=4, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(b, 3, 24, 24)
    m = MultiBlockMaskGenerator(grid=model.grid)(b, step_generator(seed, 0))
    return x, m


def test_forward_shapes_and_finite_loss():
    model = tiny()
    x, m = batch(model)
    out = model(x, m.context, m.target)
    assert out.context.shape == (4, m.context.shape[1], 32)
    assert out.target_full.shape == (4, 36, 32)
    assert [lv.grid_size for lv in out.levels] == [(6, 6), (3, 3), (2, 2)]  # odd grid: ceil_mode
    assert out.levels[0].pred.shape == (4 * m.target.shape[1], 32)
    assert torch.isfinite(out.loss)
    expected = sum(w * l for w, l in zip([1.0, 0.5, 0.25], out.level_losses))
    assert out.loss.item() == pytest.approx(expected.item())
    assert not out.target_full.requires_grad


def test_every_trainable_param_gets_grad_target_none():
    model = tiny()
    x, m = batch(model)
    model(x, m.context, m.target).loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []
    assert all(p.grad is None and not p.requires_grad for p in model.target_encoder.parameters())
    zero = [n for n, p in model.named_parameters() if p.requires_grad and p.grad.abs().sum() == 0]
    assert zero == []


def test_context_encoder_never_sees_dropped_patches():
    model = tiny().eval()
    x, m = batch(model, b=2)
    keep = m.context
    y = x.clone()
    grid = model.grid
    visible = torch.zeros(2, grid * grid, dtype=torch.bool)
    visible.scatter_(1, keep, True)
    pix = visible.reshape(2, grid, 1, grid, 1).expand(2, grid, 4, grid, 4).reshape(2, 1, 24, 24)
    y = torch.where(pix, x, torch.randn_like(x) * 10)  # change every masked pixel
    with torch.no_grad():
        assert torch.allclose(
            model.context_encoder(x, keep), model.context_encoder(y, keep), atol=1e-5
        )


def test_target_layer_norm_is_parameter_free():
    model = tiny()
    x, _ = batch(model)
    t = model.forward_target(x)
    assert torch.allclose(t.mean(-1), torch.zeros(4, 36), atol=1e-5)
    assert torch.allclose(t.var(-1, unbiased=False), torch.ones(4, 36), atol=1e-3)


def test_hierarchy_pooling_is_masked_average_over_target_positions():
    torch.manual_seed(0)
    b, grid, d = 2, 5, 3
    tgt_idx = torch.tensor([[0, 1, 6, 24], [2, 3, 12, 18]])
    pred = torch.randn(b, 4, d)
    full = torch.randn(b, grid * grid, d)
    levels = hierarchy_levels(pred, full, tgt_idx, grid, 3)
    # Level 1 by hand: 2x2 cells (ceil: 3x3 grid of cells), average over target patches in the cell.
    for lvl, k in ((1, 2), (2, 4)):
        cells = (grid + k - 1) // k
        preds, tgts = [], []
        for s in range(b):
            for cr in range(cells):
                for cc in range(cells):
                    members = [
                        j
                        for j, i in enumerate(tgt_idx[s].tolist())
                        if (i // grid) // k == cr and (i % grid) // k == cc
                    ]
                    if members:
                        preds.append(pred[s, members].mean(0).numpy())
                        tgts.append(full[s, tgt_idx[s, members]].mean(0).numpy())
        np.testing.assert_allclose(
            levels[lvl].pred.detach().numpy(), np.stack(preds), rtol=1e-5, atol=1e-6
        )
        np.testing.assert_allclose(levels[lvl].target.numpy(), np.stack(tgts), rtol=1e-5, atol=1e-6)
        assert levels[lvl].grid_size == (cells, cells)


def test_pool_masked_valid_cells():
    w = torch.zeros(1, 1, 4, 4)
    w[0, 0, 0, 0] = 1
    _, valid = pool_masked(torch.randn(1, 2, 4, 4), w, 1)
    assert valid.tolist() == [[[True, False], [False, False]]]


def test_ema_update_formula():
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    before = [p.detach().clone() for p in a.parameters()]
    ema_update(a, b, 0.9)
    for p, q, r in zip(a.parameters(), before, b.parameters()):
        assert torch.allclose(p, 0.9 * q + 0.1 * r)


def test_no_weight_decay_on_biases_and_norms():
    model = tiny()
    decay, no_decay = param_groups([("c", model.context_encoder), ("p", model.predictor)])
    assert all(p.ndim >= 2 for p in decay["params"])
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim < 2 or names[id(p)].endswith("bias") for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == sum(
        p.requires_grad for p in model.parameters()
    )


@pytest.mark.parametrize("levels", [1, 4])
def test_level_count_bounds(levels):
    model = tiny(img_size=32, num_levels=levels, hierarchy_weights=[1.0] * levels)
    x = torch.randn(2, 3, 32, 32)
    m = MultiBlockMaskGenerator(grid=model.grid)(2, step_generator(0, 0))
    assert len(model(x, m.context, m.target).levels) == levels
    with pytest.raises(ValueError, match="num_levels"):
        tiny(num_levels=5, hierarchy_weights=[1.0] * 5)


def test_from_config_builds_the_model_a_config_describes():
    """Every ``model`` config key reaches the model: no field is dropped on the way."""
    import dataclasses
    import inspect

    from hjepa_trainer import config as C

    cfg = C.load_config(
        None,
        [
            "model.img_size=24",
            "model.patch_size=4",
            "model.embed_dim=48",
            "model.depth=2",
            "model.num_heads=3",
            "model.mlp_ratio=2",
            "model.predictor_dim=24",
            "model.predictor_depth=1",
            "model.predictor_heads=2",
            "model.num_levels=2",
            "model.hierarchy_weights=[1, 0.5]",
            "model.loss=mse",
        ],
    )
    model = HJEPA.from_config(cfg.model, stop_gradient=False)
    assert (
        model.grid == 6
        and len(model.context_encoder.blocks) == 2
        and len(model.predictor.blocks) == 1
    )
    assert (
        model.context_encoder.embed_dim == 48
        and model.context_encoder.blocks[0].attn.num_heads == 3
    )
    assert model.context_encoder.blocks[0].fc1.out_features == 96  # mlp_ratio 2
    assert (
        model.predictor.embed.out_features == 24 and model.predictor.blocks[0].attn.num_heads == 2
    )
    assert (model.num_levels, model.hierarchy_weights, model.loss_kind) == (2, [1.0, 0.5], "mse")
    assert model.stop_gradient is False
    params = inspect.signature(HJEPA.__init__).parameters
    assert {f.name for f in dataclasses.fields(C.ModelConfig)} <= set(params)
    torch.manual_seed(0)
    by_hand = HJEPA(**dataclasses.asdict(cfg.model))
    torch.manual_seed(0)
    built = HJEPA.from_config(cfg.model)
    assert all(
        torch.equal(a, b)
        for a, b in zip(by_hand.state_dict().values(), built.state_dict().values())
    )


def test_an_unknown_loss_fails_at_construction_naming_the_choices():
    with pytest.raises(ValueError, match=r"loss must be one of \('smooth_l1', 'mse'\), got 'l3'"):
        tiny(loss="l3")


def test_fixed_positions_are_not_in_the_state_dict_and_a_fresh_model_loads_it():
    """The sin-cos positions are a non-persistent buffer: checkpoints hold learned weights
    only, and a model built from the same config recomputes the positions."""
    model = tiny()
    state = model.state_dict()
    assert not [k for k in state if k.endswith("pos_embed")]
    again = tiny()
    again.load_state_dict(state)  # strict: nothing missing, nothing unexpected
    assert torch.equal(again.context_encoder.pos_embed, model.context_encoder.pos_embed)
