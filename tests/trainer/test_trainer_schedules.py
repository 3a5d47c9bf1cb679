"""Schedules are pure functions of the step."""

import math

import pytest

from hjepa_trainer.schedules import ema_momentum, learning_rate, weight_decay

LR = dict(base_lr=1e-3, min_lr=1e-5, warmup_steps=10, total_steps=100)


def test_lr_warmup_starts_at_zero_and_is_linear():
    assert learning_rate(0, **LR) == 0.0
    assert learning_rate(5, **LR) == pytest.approx(0.5e-3)
    vals = [learning_rate(s, **LR) for s in range(11)]
    assert all(b > a for a, b in zip(vals, vals[1:]))
    assert learning_rate(10, **LR) == pytest.approx(1e-3)


def test_lr_cosine_decay_to_min_and_beyond():
    assert learning_rate(55, **LR) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))
    vals = [learning_rate(s, **LR) for s in range(10, 101)]
    assert all(b <= a for a, b in zip(vals, vals[1:]))
    assert learning_rate(100, **LR) == pytest.approx(1e-5)
    assert learning_rate(10_000, **LR) == 1e-5


def test_lr_without_warmup():
    assert learning_rate(0, base_lr=1.0, min_lr=0.0, warmup_steps=0, total_steps=10) == 1.0


def test_weight_decay_cosine():
    assert weight_decay(0, start=0.04, end=0.4, total_steps=100) == pytest.approx(0.04)
    assert weight_decay(50, start=0.04, end=0.4, total_steps=100) == pytest.approx(0.22)
    assert weight_decay(100, start=0.04, end=0.4, total_steps=100) == pytest.approx(0.4)
    assert weight_decay(500, start=0.04, end=0.4, total_steps=100) == pytest.approx(0.4)


def test_ema_momentum_linear():
    assert ema_momentum(0, start=0.996, end=1.0, total_steps=1000) == 0.996
    assert ema_momentum(500, start=0.996, end=1.0, total_steps=1000) == pytest.approx(0.998)
    assert ema_momentum(1000, start=0.996, end=1.0, total_steps=1000) == 1.0
    assert ema_momentum(2000, start=0.996, end=1.0, total_steps=1000) == 1.0
    assert not math.isnan(ema_momentum(0, start=0.996, end=1.0, total_steps=0))
