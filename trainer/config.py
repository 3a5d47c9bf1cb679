"""Typed trainer configuration: defaults < YAML file < ``--set key=value``.

Every section is a dataclass with inline comments on units and ranges. Unknown
keys, wrong types and out-of-range values fail at start-up with an error that
names the key. The ``logging`` and ``wandb`` sections follow section 14 of the
metric reference exactly (``logging.log_dir``, ``logging.log_frequency``,
``logging.experiment_name``, ``logging.tensorboard.enabled``, ``wandb.enabled``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
DEFAULT_CONFIG = os.path.join(CONFIG_DIR, "tiny_cpu.yaml")


class ConfigError(ValueError):
    """A bad config key or value; the message names the key."""


@dataclass
class ModelConfig:
    img_size: int = 48  # pixels, square images
    patch_size: int = 6  # pixels; must divide img_size
    embed_dim: int = 128  # encoder width D
    depth: int = 4  # encoder blocks
    num_heads: int = 4
    mlp_ratio: float = 4.0
    predictor_dim: int = 64  # predictor width P, well below D
    predictor_depth: int = 3
    predictor_heads: int = 4
    num_levels: int = 3  # hierarchy levels L, 1..4
    hierarchy_weights: List[float] = field(default_factory=lambda: [1.0, 0.5, 0.25])  # w_i, length L
    loss: str = "smooth_l1"  # "smooth_l1" or "mse"


@dataclass
class MaskingConfig:
    num_masks: int = 4  # target blocks per image
    mask_scale: List[float] = field(default_factory=lambda: [0.15, 0.2])  # target block area fraction
    aspect_ratio: List[float] = field(default_factory=lambda: [0.75, 1.5])  # target block h/w
    context_scale: List[float] = field(default_factory=lambda: [0.85, 1.0])  # context block area fraction
    min_context: int = 4  # minimum visible patches per image


@dataclass
class DataConfig:
    source: str = "procedural"  # "procedural" (embedded) or "folder" (class sub-folders)
    path: str = ""  # folder source: training images root
    val_path: str = ""  # folder source: held-out root; empty = split off val_fraction
    val_fraction: float = 0.1
    train_size: int = 8192  # procedural source: images per split
    val_size: int = 1024
    probe_size: int = 2048  # labelled bank of the kNN probe
    seed: int = 0
    num_workers: int = 0  # folder source: DataLoader workers


@dataclass
class TrainingConfig:
    total_steps: int = 2000  # schedule length and run length
    batch_size: int = 64  # per process
    lr: float = 1.5e-3  # peak LR after warmup
    min_lr: float = 1.0e-5
    warmup_steps: int = 200  # linear warmup from 0 at step 0
    weight_decay: float = 0.04  # cosine from weight_decay ...
    weight_decay_end: float = 0.4  # ... to weight_decay_end
    betas: List[float] = field(default_factory=lambda: [0.9, 0.95])
    ema_momentum_start: float = 0.996  # linear ...
    ema_momentum_end: float = 1.0  # ... to this at total_steps
    clip_grad: float = 1.0  # global-norm threshold; 0 disables clipping
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda"
    amp: str = "auto"  # "auto" (bf16 on CUDA, fp32 on CPU), "bf16", "none"
    compile: bool = False  # torch.compile the model (CUDA)
    checkpoint_every: int = 250  # steps; events are committed to disk at checkpoints
    threads: int = 0  # torch CPU threads; 0 = torch default
    # true (always, for real training): targets come from the EMA target encoder under
    # no_grad. false is a deliberate ABLATION for tests and demonstrations: the targets
    # are the context encoder's own features with gradients flowing into them (no
    # stop-gradient, no EMA target), the classic route to representational collapse.
    stop_gradient: bool = True


@dataclass
class EvalConfig:
    interval: int = 500  # steps between kNN probe + validation loss; 0 = only at the end
    knn_k: int = 20
    knn_temperature: float = 0.07
    val_batches: int = 4  # held-out batches for the validation loss
    random_init_baseline: bool = True  # probe a random-init encoder once


@dataclass
class MetricsConfig:
    loss_only: bool = False  # log only the every-step loss metrics (benchmark baseline)
    collapse_max_rows: int = 0  # rows sampled for collapse stats; 0 = 4 * embed_dim
    window: int = 100  # steps in stability / clipping-percentage / convergence windows
    histogram_max_values: int = 16384  # gradient values sampled per layer group
    plain_scalars: bool = False  # also visible in TensorBoard's Scalars dashboard
    frequencies: Dict[str, int] = field(default_factory=dict)  # catalogue key or category -> steps


@dataclass
class HealthConfig:
    """Online health checks (hjepa_trainer.health): the diagnosis engine every few steps."""

    enabled: bool = True
    every: int = 0  # steps between checks; 0 = the collapse metrics' logging interval
    # Stop (checkpoint, exit status 3) when a check's overall status is at least this
    # severe: null (never), "warning", "collapse" (collapse or critical) or "critical".
    stop_on: Optional[str] = None
    max_points: int = 2000  # values kept in memory per curve (first, thinned middle, recent)


@dataclass
class TensorBoardConfig:
    enabled: bool = True


@dataclass
class LoggingConfig:
    log_dir: str = "runs"
    log_frequency: int = 100  # base interval of the "every 100 steps" metrics (reference §12)
    experiment_name: str = "hjepa_tiny"
    tensorboard: TensorBoardConfig = field(default_factory=TensorBoardConfig)


@dataclass
class WandbConfig:
    enabled: bool = False  # used only if the wandb package is installed


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(key: str, tp, value):
    """Check ``value`` against the annotated type ``tp``; ints are accepted as floats."""
    origin = typing.get_origin(tp)
    if origin in (list, List):
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key {key!r} expects a list of {_type_name(item)}, got {value!r}")
        return [_coerce(f"{key}[{i}]", item, v) for i, v in enumerate(value)]
    if origin in (dict, Dict):
        k_tp, v_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r} expects a mapping, got {value!r}")
        return {_coerce(key, k_tp, k): _coerce(f"{key}.{k}", v_tp, v) for k, v in value.items()}
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"config key {key!r} expects a finite number, got {value!r}")
        return number
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads "1e-4" (no dot) as a string; accept what float() accepts.
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"config key {key!r} expects float, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"config key {key!r} expects a finite number, got {value!r}")
        return number
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {key!r} expects true/false, got {value!r}")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"config key {key!r} expects an integer, got {value!r}")
    if tp in (float, str) and not isinstance(value, tp):
        raise ConfigError(f"config key {key!r} expects {_type_name(tp)}, got {value!r}")
    return value


def _merge(obj, data: Dict[str, Any], prefix: str = "") -> None:
    """Merge a nested mapping into dataclass ``obj`` in place, strictly."""
    if not isinstance(data, dict):
        raise ConfigError(f"config section {prefix.rstrip('.') or '<root>'!r} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(type(obj))
    names = [f.name for f in dataclasses.fields(obj)]
    for name, value in data.items():
        key = prefix + str(name)
        if name not in names:
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f" (did you mean {prefix + close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown config key {key!r}{hint}")
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            _merge(current, value, key + ".")
        else:
            setattr(obj, name, _coerce(key, hints[name], value))


def set_override(cfg: Config, assignment: str) -> None:
    """Apply one ``section.key=value`` override; the value is parsed as YAML.

    Raises:
        ConfigError: malformed assignment, unknown key or bad value.
    """
    import yaml

    if "=" not in assignment:
        raise ConfigError(f"--set expects key=value, got {assignment!r}")
    key, raw = assignment.split("=", 1)
    key = key.strip()
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: cannot parse value {raw!r}: {err}") from err
    nested: Dict[str, Any] = value
    for part in reversed(key.split(".")):
        nested = {part: nested}
    _merge(cfg, nested)


def _check(cond: bool, key: str, message: str) -> None:
    if not cond:
        raise ConfigError(f"config key {key!r}: {message}")


def validate(cfg: Config) -> Config:
    """Check ranges and cross-field constraints.

    Returns:
        ``cfg`` unchanged.

    Raises:
        ConfigError: naming the first bad key.
    """
    m, mk, d, t, e, me, lg = cfg.model, cfg.masking, cfg.data, cfg.training, cfg.eval, cfg.metrics, cfg.logging
    _check(m.img_size > 0 and m.patch_size > 0, "model.patch_size", "sizes must be positive")
    _check(m.num_heads >= 1, "model.num_heads", f"must be >= 1, got {m.num_heads}")
    _check(m.predictor_heads >= 1, "model.predictor_heads", f"must be >= 1, got {m.predictor_heads}")
    _check(m.embed_dim >= 4, "model.embed_dim", f"must be >= 4, got {m.embed_dim}")
    _check(m.predictor_dim >= 4, "model.predictor_dim", f"must be >= 4, got {m.predictor_dim}")
    _check(m.mlp_ratio > 0 and int(m.embed_dim * m.mlp_ratio) >= 1, "model.mlp_ratio",
           f"must be > 0 (an MLP of at least 1 unit), got {m.mlp_ratio}")
    _check(m.img_size % m.patch_size == 0, "model.patch_size", f"{m.patch_size} does not divide img_size {m.img_size}")
    _check(m.embed_dim % m.num_heads == 0, "model.num_heads", f"does not divide embed_dim {m.embed_dim}")
    _check(m.embed_dim % 4 == 0, "model.embed_dim", "must be divisible by 4 (2-D sin-cos positions)")
    _check(m.predictor_dim % m.predictor_heads == 0 and m.predictor_dim % 4 == 0, "model.predictor_dim",
           f"must be divisible by 4 and by predictor_heads {m.predictor_heads}")
    _check(m.depth >= 1 and m.predictor_depth >= 1, "model.depth", "depths must be >= 1")
    _check(1 <= m.num_levels <= 4, "model.num_levels", f"must be 1..4, got {m.num_levels}")
    grid = m.img_size // m.patch_size
    _check(2 ** (m.num_levels - 1) <= grid, "model.num_levels",
           f"{m.num_levels} levels need a patch grid of at least {2 ** (m.num_levels - 1)}, got {grid}")
    _check(len(m.hierarchy_weights) == m.num_levels, "model.hierarchy_weights",
           f"has {len(m.hierarchy_weights)} entries for num_levels={m.num_levels}")
    _check(all(w >= 0 for w in m.hierarchy_weights) and sum(m.hierarchy_weights) > 0,
           "model.hierarchy_weights", "must be >= 0 and not all 0")
    _check(m.loss in ("smooth_l1", "mse"), "model.loss", f"must be 'smooth_l1' or 'mse', got {m.loss!r}")
    for key, pair, lo, hi in (("masking.mask_scale", mk.mask_scale, 0.0, 1.0),
                              ("masking.context_scale", mk.context_scale, 0.0, 1.0),
                              ("masking.aspect_ratio", mk.aspect_ratio, 0.0, float("inf"))):
        _check(len(pair) == 2 and lo < pair[0] <= pair[1] <= hi, key,
               f"must be [min, max] with {lo} < min <= max <= {hi}, got {pair}")
    _check(mk.num_masks >= 1, "masking.num_masks", "must be >= 1")
    _check(mk.min_context >= 1, "masking.min_context", "must be >= 1")
    _check(d.source in ("procedural", "folder"), "data.source", f"must be 'procedural' or 'folder', got {d.source!r}")
    _check(d.source != "folder" or bool(d.path), "data.path", "is required when data.source is 'folder'")
    _check(0.0 < d.val_fraction < 1.0, "data.val_fraction", "must be in (0, 1)")
    for key in ("train_size", "val_size", "probe_size"):
        _check(getattr(d, key) > 0, f"data.{key}", "must be positive")
    _check(t.total_steps >= 1, "training.total_steps", "must be >= 1")
    _check(t.batch_size >= 2, "training.batch_size", "must be >= 2")
    _check(t.lr > 0 and 0 <= t.min_lr <= t.lr, "training.min_lr", "need lr > 0 and 0 <= min_lr <= lr")
    _check(0 <= t.warmup_steps <= t.total_steps, "training.warmup_steps", "must be in [0, total_steps]")
    _check(len(t.betas) == 2 and all(0 <= b < 1 for b in t.betas), "training.betas", "must be two values in [0, 1)")
    _check(0 <= t.ema_momentum_start <= t.ema_momentum_end <= 1, "training.ema_momentum_start",
           "need 0 <= ema_momentum_start <= ema_momentum_end <= 1")
    _check(t.clip_grad >= 0, "training.clip_grad", "must be >= 0")
    _check(t.weight_decay >= 0 and t.weight_decay_end >= 0, "training.weight_decay",
           f"weight_decay and weight_decay_end must be >= 0, got {t.weight_decay}, {t.weight_decay_end}")
    _check(t.device in ("auto", "cpu", "cuda"), "training.device", f"must be auto, cpu or cuda, got {t.device!r}")
    _check(t.amp in ("auto", "bf16", "none"), "training.amp", f"must be auto, bf16 or none, got {t.amp!r}")
    _check(t.checkpoint_every >= 1, "training.checkpoint_every", "must be >= 1")
    _check(e.interval >= 0, "eval.interval", "must be >= 0")
    _check(e.knn_k >= 1 and e.knn_temperature > 0, "eval.knn_k", "need knn_k >= 1 and knn_temperature > 0")
    _check(e.val_batches >= 1, "eval.val_batches", "must be >= 1")
    _check(me.collapse_max_rows >= 0, "metrics.collapse_max_rows", "must be >= 0")
    _check(me.window >= 2, "metrics.window", "must be >= 2")
    _check(me.histogram_max_values >= 2, "metrics.histogram_max_values", "must be >= 2")
    _check(all(v >= 0 for v in me.frequencies.values()), "metrics.frequencies", "steps must be >= 0")
    h = cfg.health
    _check(h.every >= 0, "health.every", "must be >= 0 (0 = the collapse metrics' interval)")
    _check(h.stop_on in (None, "warning", "collapse", "critical"), "health.stop_on",
           f"must be null, 'warning', 'collapse' or 'critical', got {h.stop_on!r}")
    _check(h.max_points >= 20, "health.max_points", "must be >= 20")
    _check(lg.log_frequency >= 1, "logging.log_frequency", "must be >= 1")
    _check(bool(lg.experiment_name) and os.sep not in lg.experiment_name
           and lg.experiment_name not in (".", ".."), "logging.experiment_name",
           "must be a non-empty name without path separators, not '.' or '..'")
    return cfg


def load_config(path: Optional[str] = None, overrides: Optional[List[str]] = None) -> Config:
    """Build a validated config from defaults, an optional YAML file and overrides.

    Args:
        path: YAML file; None = defaults only.
        overrides: ``key=value`` strings applied in order.

    Returns:
        The validated ``Config``.

    Raises:
        ConfigError: bad key or value (names the key).
        OSError: the file cannot be read.
    """
    import yaml

    cfg = Config()
    if path is not None:
        with open(path, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f) or {}
            except yaml.YAMLError as err:
                raise ConfigError(f"{path}: invalid YAML: {err}") from err
        _merge(cfg, data)
    for assignment in overrides or []:
        set_override(cfg, assignment)
    return validate(cfg)


def to_dict(cfg: Config) -> Dict[str, Any]:
    """The config as plain nested dicts (JSON/YAML-serialisable)."""
    return dataclasses.asdict(cfg)


def from_dict(data: Dict[str, Any]) -> Config:
    """Rebuild and validate a config from ``to_dict`` output (e.g. from a checkpoint)."""
    cfg = Config()
    _merge(cfg, data)
    return validate(cfg)


def dump(cfg: Config, path: str) -> None:
    """Write the resolved config as YAML to ``path``."""
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(to_dict(cfg), f, sort_keys=False)
