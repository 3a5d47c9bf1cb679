"""End-to-end: short runs write every promised catalogue tag; resume; NaN stop; signals."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hjepa_trainer import checkpoint as ckpt
from hjepa_trainer.model import HJEPA
from hjepa_trainer.train import NonFiniteLossError, train
from tensorboard_plugin_hjepa import catalog
from tensorboard_plugin_hjepa.metadata import MANIFEST_TAG

from trainer_helpers import TINY, read_histogram_tags, read_scalars, tiny_config

CPU_ONLY = ("performance.gpu_memory_allocated_gb", "performance.gpu_memory_reserved_gb")
# Written only at a checkpoint kept while the verdict is healthy (the 8-step test run never
# is: its predictions are young); tests/trainer/test_trainer_health.py shows it written.
WHILE_HEALTHY = ("health.healthy_checkpoint_step",)


def promised_tags(levels=3, groups=2):
    """Every scalar catalogue tag the trainer writes on CPU."""
    tags = set()
    for m in catalog.metrics():
        if m.kind != "scalar" or m.key in CPU_ONLY + WHILE_HEALTHY:
            continue
        if m.per_level:
            tags |= {catalog.tag(m.key, level=i) for i in range(levels)}
        elif "{group}" in m.tag:
            tags |= {catalog.tag(m.key, group=g) for g in range(groups)}
        else:
            tags.add(catalog.tag(m.key))
    return tags


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("full")
    result = train(tiny_config(logdir), progress=False)
    return result, read_scalars(logdir / "run")


def test_every_catalogue_tag_is_written_with_finite_values(full_run):
    result, scalars = full_run
    assert result.end_step == 8
    missing = promised_tags() - set(scalars)
    assert not missing, sorted(missing)
    for tag, points in scalars.items():
        assert all(math.isfinite(v) for _, v in points), tag
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), f"duplicate steps in {tag}"
    assert MANIFEST_TAG in scalars
    assert [s for s, _ in scalars[catalog.tag("loss.total")]] == list(range(8))
    assert [s for s, _ in scalars[catalog.tag("eval.knn_top1_random_init")]] == [0]
    assert [s for s, _ in scalars[catalog.tag("eval.knn_top1")]] == [8]


def test_gradient_histograms_per_layer_group(tmp_path, full_run):
    result, _ = full_run
    tags = read_histogram_tags(result.run_dir)
    layers = {catalog.resolve(t).layer for t in tags}
    assert {
        "context_encoder.patch_embed",
        "context_encoder.blocks.0",
        "predictor.blocks.0",
    } <= layers
    assert not any(layer.startswith("target_encoder") for layer in layers)


def test_resolved_config_written_next_to_logs(full_run):
    result, _ = full_run
    from hjepa_trainer import config as C

    assert C.load_config(os.path.join(result.run_dir, "config.yaml")).model.embed_dim == 32


def test_logged_values_are_consistent(full_run):
    _, s = full_run

    def v(key, **kw):
        return dict(s[catalog.tag(key, **kw)])

    total, levels = v("loss.total"), [v("loss.level", level=i) for i in range(3)]
    for step, t in total.items():
        assert t == pytest.approx(
            sum(w * lv[step] for w, lv in zip([1.0, 0.5, 0.25], levels)), rel=1e-5
        )
    assert v("learning_rate.base_lr")[0] == 0.0  # warmup from 0 at step 0
    assert v("gradient_flow.target_encoder_mean")[0] == 0.0
    assert v("masking.num_masked_patches")[0] + v("masking.num_unmasked_patches")[0] <= 16


def _compare(a, b, skip_values=("train/performance/",)):
    for tag, points in a.items():
        if tag.startswith(("eval/", "val/")) or tag == catalog.tag(
            "stability.val_train_loss_ratio"
        ):
            continue
        steps_b = [st for st, _ in b[tag]]
        assert len(steps_b) == len(set(steps_b)), f"duplicate steps in {tag}: {steps_b}"
        if tag.startswith(skip_values):
            continue
        assert [st for st, _ in points] == steps_b, tag
        for (_, x), (_, y) in zip(points, b[tag]):
            assert x == pytest.approx(y, rel=1e-4, abs=1e-6), tag


def test_resume_equals_uninterrupted(tmp_path, full_run):
    _, uninterrupted = full_run
    first = train(tiny_config(tmp_path), progress=False, max_steps=5)
    assert (
        first.end_step == 5 and ckpt.load(str(tmp_path / "run" / ckpt.CHECKPOINT_NAME))["step"] == 5
    )
    second = train(tiny_config(tmp_path), progress=False, resume=True)
    assert (second.start_step, second.end_step) == (5, 8)
    _compare(uninterrupted, read_scalars(tmp_path / "run"))


def test_resume_after_crash_between_event_commit_and_checkpoint(tmp_path, full_run):
    """Events on disk beyond the checkpoint are not written twice."""
    _, uninterrupted = full_run
    path = str(tmp_path / "run" / ckpt.CHECKPOINT_NAME)
    train(tiny_config(tmp_path, "training.checkpoint_every=4"), progress=False, max_steps=4)
    saved = ckpt.load(path)
    train(
        tiny_config(tmp_path, "training.checkpoint_every=4"),
        progress=False,
        resume=True,
        max_steps=6,
    )
    ckpt.save(
        path, saved
    )  # as if the run died after committing steps 4-5 but before its checkpoint
    train(tiny_config(tmp_path, "training.checkpoint_every=4"), progress=False, resume=True)
    _compare(uninterrupted, read_scalars(tmp_path / "run"))


def test_non_finite_loss_stops_with_checkpoint_of_last_good_state(tmp_path, monkeypatch):
    original = HJEPA.forward
    calls = {"n": 0}

    def poisoned(self, *args):
        out = original(self, *args)
        calls["n"] += 1
        if calls["n"] == 4:  # step 3
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(HJEPA, "forward", poisoned)
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 3"):
        train(tiny_config(tmp_path), progress=False)
    state = ckpt.load(str(tmp_path / "run" / ckpt.CHECKPOINT_NAME))
    assert state["step"] == 3
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    scalars = read_scalars(tmp_path / "run")
    assert [s for s, _ in scalars[catalog.tag("loss.total")]] == [0, 1, 2]
    assert all(math.isfinite(v) for pts in scalars.values() for _, v in pts)


def _cli(*args, **kw):
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__))
    return subprocess.Popen(
        [sys.executable, "-m", "hjepa_trainer", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_sigterm_writes_checkpoint_and_events_match_it(tmp_path):
    sets = [a for item in TINY for a in ("--set", item)]
    proc = _cli(
        *sets,
        "--set",
        "training.total_steps=100000",
        "--set",
        "training.checkpoint_every=3",
        "--logdir",
        str(tmp_path),
        "--no-progress",
    )
    path = tmp_path / "run" / ckpt.CHECKPOINT_NAME
    deadline = time.time() + 120
    while not path.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert path.exists(), proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "checkpoint written" in err
    step = ckpt.load(str(path))["step"]
    assert 0 < step < 100000
    loss_steps = [s for s, _ in read_scalars(tmp_path / "run")[catalog.tag("loss.total")]]
    assert loss_steps == list(range(step))


def test_cli_reports_bad_config_key(tmp_path):
    proc = _cli("--set", "model.depthh=2", "--logdir", str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "model.depthh" in err and "model.depth" in err


def test_cli_without_torch_says_what_to_install():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from hjepa_trainer.cli import main\nsys.exit(main([]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "tensorboard-plugin-hjepa[train]" in proc.stderr


def test_image_folder_source_trains_and_probes(tmp_path):
    from PIL import Image

    gen = torch.Generator().manual_seed(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(20):
            arr = (
                (torch.rand(30, 30, 3, generator=gen) * (255 if c == "a" else 80))
                .to(torch.uint8)
                .numpy()
            )
            Image.fromarray(arr).save(tmp_path / "imgs" / c / f"{i}.png")
    cfg = tiny_config(
        tmp_path,
        "data.source=folder",
        f"data.path={tmp_path / 'imgs'}",
        "data.val_fraction=0.2",
        "training.total_steps=3",
    )
    result = train(cfg, progress=False)
    assert result.end_step == 3
    assert 0.0 <= result.knn_top1 <= 1.0 and result.knn_top1_random_init is not None
    assert len(read_scalars(tmp_path / "run")[catalog.tag("loss.total")]) == 3
