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
    path.write_text(
        yaml.safe_dump(
            {
                "logging": {
                    "log_dir": "results/logs",
                    "log_frequency": 100,
                    "experiment_name": "hjepa_run_1",
                    "tensorboard": {"enabled": True},
                },
                "wandb": {"enabled": False},
            }
        )
    )
    cfg = C.load_config(str(path))
    assert (cfg.logging.log_dir, cfg.logging.log_frequency, cfg.logging.experiment_name) == (
        "results/logs",
        100,
        "hjepa_run_1",
    )


def test_precedence_defaults_file_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  lr: 0.01\n  batch_size: 8\n")
    cfg = C.load_config(str(path), ["training.lr=2e-4", "model.hierarchy_weights=[1, 1, 1]"])
    assert cfg.training.lr == 2e-4 and cfg.training.batch_size == 8
    assert cfg.model.hierarchy_weights == [1.0, 1.0, 1.0]
    assert cfg.training.total_steps == C.TrainingConfig().total_steps


@pytest.mark.parametrize(
    "override,match",
    [
        (
            "model.embed_dimm=3",
            r"unknown config key 'model.embed_dimm' \(did you mean 'model.embed_dim'\?\)",
        ),
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
    ],
)
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


@pytest.mark.parametrize(
    "override,match",
    [
        # Each limit names its own field (these named a neighbour before).
        ("model.img_size=0", r"'model.img_size': must be > 0, got 0"),
        ("model.predictor_depth=0", r"'model.predictor_depth': must be >= 1, got 0"),
        ("training.lr=0", r"'training.lr': must be > 0, got 0.0"),
        ("training.min_lr=1", r"'training.min_lr': must be <= training.lr"),
        ("training.weight_decay_end=-1", r"'training.weight_decay_end': must be >= 0, got -1.0"),
        (
            "training.ema_momentum_end=2",
            r"'training.ema_momentum_end': must be >= 0 and <= 1, got 2.0",
        ),
        (
            "training.ema_momentum_end=0.9",
            r"'training.ema_momentum_start': need 0 <= ema_momentum_start <= ",
        ),
        ("eval.knn_temperature=0", r"'eval.knn_temperature': must be > 0, got 0.0"),
        (
            "model.hierarchy_weights=[1, -1, 1]",
            r"'model.hierarchy_weights': must be >= 0 and not all 0, got \[1.0",
        ),
        (
            "model.hierarchy_weights=[]",
            r"'model.hierarchy_weights': has 0 entries for num_levels=3",
        ),
        # Values the trainer cannot use (torch refused them mid-run).
        ("data.num_workers=-1", r"'data.num_workers': must be >= 0, got -1"),
        ("data.seed=99999999999999999999999", r"'data.seed': must be in \(-2\*\*32, 2\*\*32\)"),
        (
            "training.seed=-99999999999999999999999",
            r"'training.seed': must be in \(-2\*\*32, 2\*\*32\)",
        ),
        ("training.threads=99999999999999999999999", r"'training.threads': must be < 2147483648"),
    ],
)
def test_each_limit_names_its_own_key_and_the_value(override, match):
    with pytest.raises(C.ConfigError, match=match):
        C.load_config(None, [override])


def _choice_keys():
    from hjepa_trainer.config import LOSS_KINDS
    from hjepa_trainer.health import STOP_ON

    # The config shares each choice's values with the module that acts on it.
    return [
        ("model.loss", LOSS_KINDS),
        ("training.device", ("auto", "cpu", "cuda")),
        ("training.amp", ("auto", "bf16", "none")),
        ("data.source", ("procedural", "folder")),
        ("health.stop_on", (None,) + tuple(STOP_ON)),
    ]


@pytest.mark.parametrize("key,choices", _choice_keys())
def test_every_choice_is_accepted_and_another_value_lists_them(key, choices):
    for choice in choices:
        extra = ["data.path=images"] if choice == "folder" else []
        section, name = key.split(".")
        cfg = C.load_config(None, [f"{key}={'null' if choice is None else choice}", *extra])
        assert getattr(getattr(cfg, section), name) == choice
    with pytest.raises(C.ConfigError) as err:
        C.load_config(None, [f"{key}=nonsense"])
    message = str(err.value)
    assert message.startswith(f"config key {key!r}: must be ") and message.endswith(
        "got 'nonsense'"
    )
    for choice in choices:
        assert ("null" if choice is None else repr(choice)) in message


def test_validate_checks_a_config_changed_in_code():
    """Limits and choices hold for a ``Config`` built in Python, not only for YAML and --set."""
    cfg = C.Config()
    cfg.training.device = "tpu"
    with pytest.raises(
        C.ConfigError, match=r"'training.device': must be 'auto', 'cpu' or 'cuda', got 'tpu'"
    ):
        C.validate(cfg)
    cfg = C.Config()
    cfg.masking.num_masks = 0
    with pytest.raises(C.ConfigError, match=r"'masking.num_masks': must be >= 1, got 0"):
        C.validate(cfg)
    cfg = C.Config()
    cfg.metrics.window = "100"
    with pytest.raises(C.ConfigError, match=r"'metrics.window' expects an integer"):
        C.validate(cfg)
    assert C.validate(C.Config()) == C.Config()


def test_a_frequency_for_an_unknown_metric_is_rejected_naming_it():
    with pytest.raises(C.ConfigError, match="metrics.frequencies.*prediction.cosine_sim_stdd"):
        C.load_config(None, ["metrics.frequencies={prediction.cosine_sim_stdd: 5}"])
    cfg = C.load_config(None, ["metrics.frequencies={prediction: 5, collapse.mean_similarity: 20}"])
    assert cfg.metrics.frequencies == {"prediction": 5, "collapse.mean_similarity": 20}
