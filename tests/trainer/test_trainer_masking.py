"""Multi-block masking invariants."""

import pytest
import torch

from hjepa_trainer.masking import MultiBlockMaskGenerator, step_generator


@pytest.mark.parametrize("grid,batch", [(8, 64), (14, 16), (7, 5)])
def test_counts_disjoint_bounds_sorted(grid, batch):
    gen = MultiBlockMaskGenerator(grid=grid)
    for step in range(5):
        m = gen(batch, step_generator(0, step))
        n = grid * grid
        assert m.context.shape[0] == m.target.shape[0] == batch
        assert m.context.dtype == m.target.dtype == torch.long
        for ctx, tgt in zip(m.context.tolist(), m.target.tolist()):
            assert 0 <= min(ctx) and max(ctx) < n and 0 <= min(tgt) and max(tgt) < n
            assert ctx == sorted(set(ctx)) and tgt == sorted(set(tgt))  # no duplicates, sorted
            assert not set(ctx) & set(tgt)  # context excludes targets
        assert m.context.shape[1] >= gen.min_context and m.target.shape[1] >= 1


def test_targets_are_blocks_of_the_configured_scale():
    grid = 14
    gen = MultiBlockMaskGenerator(
        grid=grid, num_targets=1, target_scale=(0.2, 0.2), target_aspect=(1.0, 1.0)
    )
    m = gen(8, step_generator(0, 0))
    side = round((0.2 * grid * grid) ** 0.5)
    assert m.target.shape[1] == side * side
    rows, cols = m.target[0] // grid, m.target[0] % grid
    assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side


def test_deterministic_from_seed_and_step():
    gen = MultiBlockMaskGenerator(grid=8)
    a, b = gen(16, step_generator(3, 7)), gen(16, step_generator(3, 7))
    assert torch.equal(a.context, b.context) and torch.equal(a.target, b.target)
    c = gen(16, step_generator(3, 8))
    assert not torch.equal(a.target, c.target) or not torch.equal(a.context, c.context)
    assert not torch.equal(gen(16, step_generator(3, 7, rank=1)).target, a.target)


def test_impossible_context_raises_naming_the_keys():
    gen = MultiBlockMaskGenerator(
        grid=4, num_targets=4, target_scale=(0.9, 1.0), min_context=4, max_tries=2
    )
    with pytest.raises(ValueError, match="min_context"):
        gen(4, step_generator(0, 0))


def test_the_profile_of_a_users_own_collator_spans_its_per_batch_block_sizes():
    from hjepa_trainer.masking import mask_ratio_profile_of

    def drawn_ratio(i):  # a collator drawing one block size per batch: 98-147 of 196
        return (98 + (i * 37) % 50) / 196

    profile = mask_ratio_profile_of(drawn_ratio, batches=100)
    assert profile.low == pytest.approx(0.5, abs=0.01)
    assert profile.high == pytest.approx(0.75, abs=0.01)
    assert 0.6 < profile.median < 0.65 and profile.batches == 100
