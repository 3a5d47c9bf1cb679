"""Config loading, overrides and validation errors that name the key."""

import os

import pytest
import yaml

from hjepa_trainer import config as C


def test_bundled_configs_validate():
    for name in ("tiny_cpu.yaml", "vit_b16_224_gpu.yaml"):
        cfg = C.load_config(os.path.join(C.CONFIG_DIR, name))
        assert cfg.logging.tensorboard.enabled is True
        assert cfg.wandb.enabled is False


def test_section_14_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "logging": {"log_dir": "results/logs", "log_frequency": 100, "experiment_name": "hjepa_run_1",
                    "tensorboard": {"enabled": True}},
        "wandb": {"enabled": False},
    }))
    cfg = C.load_config(str(path))
    assert (cfg.logging.log_dir, cfg.logging.log_frequency, cfg.logging.experiment_name) == (
        "results/logs", 100, "hjepa_run_1")


def test_precedence_defaults_file_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  lr: 0.01\n  batch_size: 8\n")
    cfg = C.load_config(str(path), ["training.lr=2e-4", "model.hierarchy_weights=[1, 1, 1]"])
    assert cfg.training.lr == 2e-4 and cfg.training.batch_size == 8
    assert cfg.model.hierarchy_weights == [1.0, 1.0, 1.0]
    assert cfg.training.total_steps == C.TrainingConfig().total_steps


@pytest.mark.parametrize("override,match", [
    ("model.embed_dimm=3", r"unknown config key 'model.embed_dimm' \(did you mean 'model.embed_dim'\?\)"),
    ("modle.depth=3", r"unknown config key 'modle'"),
    ("training.lr=abc", r"'training.lr' expects float"),
    ("training.batch_size=1.5", r"'training.batch_size' expects an integer"),
    ("logging.tensorboard.enabled=maybe", r"'logging.tensorboard.enabled' expects true/false"),
    ("model.num_levels=5", r"'model.num_levels'"),
    ("model.hierarchy_weights=[1, 2]", r"'model.hierarchy_weights'"),
    ("model.patch_size=5", r"'model.patch_size'"),
    ("masking.mask_scale=[0.5, 0.1]", r"'masking.mask_scale'"),
    ("model.loss=l3", r"'model.loss'"),
    ("data.source=folder", r"'data.path'"),
    ("training.warmup_steps=-1", r"'training.warmup_steps'"),
    ("training.lr", r"key=value"),
])
def test_errors_name_the_key(override, match):
    with pytest.raises(C.ConfigError, match=match):
        C.load_config(None, [override])


def test_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  depth: [\n")
    with pytest.raises(C.ConfigError, match="invalid YAML"):
        C.load_config(str(bad))
    bad.write_text("model: 3\n")
    with pytest.raises(C.ConfigError, match="'model' must be a mapping"):
        C.load_config(str(bad))


def test_dump_round_trip(tmp_path):
    cfg = C.load_config(None, ["training.lr=0.003", "metrics.frequencies={collapse: 10}"])
    C.dump(cfg, str(tmp_path / "out.yaml"))
    again = C.load_config(str(tmp_path / "out.yaml"))
    assert C.to_dict(again) == C.to_dict(cfg)
    assert C.from_dict(C.to_dict(cfg)) == cfg
