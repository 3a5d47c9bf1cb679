"""Typed trainer configuration: defaults < YAML file < ``--set key=value``.

Every section is a dataclass. Each field carries its default, its allowed values and
its unit: a choice is a ``Literal`` type (shared with the module that acts on it:
``model`` takes ``LossKind`` from here, ``StopOn`` is ``health.STOP_ON``), a limit sits
in the field's declaration (``_field(..., ge=1)``), and a constraint between fields of
a section is its ``_relations`` method, right below the fields. ``validate`` runs them
all. Unknown keys, wrong types and out-of-range values fail at start-up with an error
that names the key. The ``logging`` and ``wandb`` sections follow section 14 of the
metric reference exactly (``logging.log_dir``, ``logging.log_frequency``,
``logging.experiment_name``, ``logging.tensorboard.enabled``, ``wandb.enabled``).

This module imports no other trainer module but ``health`` (no torch): the modules a
config builds for (``data``, ``masking``, ``model``, ``metrics``, ``events``) import it,
each with the builder of its own part (``build_model(cfg)``, ...).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import operator
import os
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Literal, NamedTuple, Optional, Tuple

from tensorboard_plugin_hjepa import catalog

from .health import STOP_ON

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
DEFAULT_CONFIG = os.path.join(CONFIG_DIR, "tiny_cpu.yaml")

# Choices of the fields that take one of a few strings (the training loop acts on them).
Device = Literal["auto", "cpu", "cuda"]
Amp = Literal["auto", "bf16", "none"]
DataSource = Literal["procedural", "folder"]
StopOn = Literal[STOP_ON]  # "warning", "collapse" or "critical": health.STOP_ON
# The per-level prediction losses ``model.level_loss`` computes (``model.loss``).
LossKind = Literal["smooth_l1", "mse"]
LOSS_KINDS = typing.get_args(LossKind)
MAX_LEVELS = 4  # hierarchy levels: the patch grid and 3 pooled grids (2x2, 4x4, 8x8 windows)
# Seeds are mixed into torch generator seeds (e.g. seed * 100_003 + epoch), which must
# fit in 64 bits.
SEED_LIMIT = 2**32


class ConfigError(ValueError):
    """A bad config key or value; the message names the key."""


class _Rule(NamedTuple):
    """A limit on one field's value: ``ok(value)`` must hold; ``text`` says the limit."""

    ok: Callable[[Any], bool]
    text: str


_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def _field(default, *, ge=None, gt=None, le=None, lt=None, check: Optional[_Rule] = None):
    """A config field with its limits: bounds (``ge``/``gt``/``le``/``lt``) and/or a
    ``check``; ``validate`` tests them. Lists and dicts are copied per instance."""
    bounds = [(op, b) for op, b in ((">=", ge), (">", gt), ("<=", le), ("<", lt)) if b is not None]
    rules = [check] if check is not None else []
    if bounds:
        rules.insert(
            0,
            _Rule(
                lambda v: all(_COMPARE[op](v, b) for op, b in bounds),
                "must be " + " and ".join(f"{op} {b}" for op, b in bounds),
            ),
        )
    metadata = {"rules": tuple(rules)}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _min_max(lo: float, hi: float) -> _Rule:
    """A ``[min, max]`` pair with ``lo < min <= max <= hi``."""
    return _Rule(
        lambda p: len(p) == 2 and lo < p[0] <= p[1] <= hi,
        f"must be [min, max] with {float(lo)} < min <= max <= {float(hi)}",
    )


# What metrics.frequencies may name: every catalogue key and category (each is honoured).
_FREQUENCY_NAMES = frozenset(name for m in catalog.metrics() for name in (m.key, m.category))
_SEED = _Rule(lambda v: -SEED_LIMIT < v < SEED_LIMIT, "must be in (-2**32, 2**32)")
_SINCOS = _Rule(lambda v: v % 4 == 0, "must be divisible by 4 (2-D sin-cos positions)")

Relations = Iterator[Tuple[str, bool, str]]  # (field name, holds, what must hold)


@dataclass
class ModelConfig:
    """The H-JEPA model; every field is the ``model.HJEPA`` argument of the same name."""

    img_size: int = _field(48, gt=0)  # pixels, square images
    patch_size: int = _field(6, gt=0)  # pixels; must divide img_size
    embed_dim: int = _field(128, ge=4, check=_SINCOS)  # encoder width D
    depth: int = _field(4, ge=1)  # encoder blocks
    num_heads: int = _field(4, ge=1)  # must divide embed_dim
    mlp_ratio: float = _field(4.0, gt=0)  # MLP hidden width / width
    predictor_dim: int = _field(64, ge=4, check=_SINCOS)  # predictor width P, well below D
    predictor_depth: int = _field(3, ge=1)
    predictor_heads: int = _field(4, ge=1)  # must divide predictor_dim
    num_levels: int = _field(3, ge=1, le=MAX_LEVELS)  # hierarchy levels L
    hierarchy_weights: List[float] = _field(  # w_i, length L
        [1.0, 0.5, 0.25],
        check=_Rule(
            lambda w: all(x >= 0 for x in w) and (not w or sum(w) > 0), "must be >= 0 and not all 0"
        ),
    )
    loss: LossKind = "smooth_l1"  # per-level prediction loss

    def _relations(self) -> Relations:
        yield (
            "mlp_ratio",
            int(self.embed_dim * self.mlp_ratio) >= 1,
            f"gives an MLP of 0 units at embed_dim {self.embed_dim}, got {self.mlp_ratio}",
        )
        yield (
            "patch_size",
            self.img_size % self.patch_size == 0,
            f"{self.patch_size} does not divide img_size {self.img_size}",
        )
        yield (
            "num_heads",
            self.embed_dim % self.num_heads == 0,
            f"does not divide embed_dim {self.embed_dim}",
        )
        yield (
            "predictor_dim",
            self.predictor_dim % self.predictor_heads == 0,
            f"must be divisible by predictor_heads {self.predictor_heads}",
        )
        grid = self.img_size // self.patch_size
        yield (
            "num_levels",
            2 ** (self.num_levels - 1) <= grid,
            f"{self.num_levels} levels need a patch grid of at least "
            f"{2 ** (self.num_levels - 1)}, got {grid}",
        )
        yield (
            "hierarchy_weights",
            len(self.hierarchy_weights) == self.num_levels,
            f"has {len(self.hierarchy_weights)} entries for num_levels={self.num_levels}",
        )


@dataclass
class MaskingConfig:
    num_masks: int = _field(4, ge=1)  # target blocks per image
    # [min, max] area fractions of the grid: mask_scale per target block, context_scale of
    # the context block.
    mask_scale: List[float] = _field([0.15, 0.2], check=_min_max(0, 1))
    aspect_ratio: List[float] = _field([0.75, 1.5], check=_min_max(0, math.inf))  # target block h/w
    context_scale: List[float] = _field([0.85, 1.0], check=_min_max(0, 1))
    min_context: int = _field(4, ge=1)  # minimum visible patches per image


@dataclass
class DataConfig:
    source: DataSource = "procedural"  # "procedural" (embedded) or "folder" (class sub-folders)
    path: str = ""  # folder source: training images root
    val_path: str = ""  # folder source: held-out root; empty = split off val_fraction
    val_fraction: float = _field(0.1, gt=0, lt=1)
    train_size: int = _field(8192, gt=0)  # procedural source: images per split
    val_size: int = _field(1024, gt=0)
    probe_size: int = _field(2048, gt=0)  # labelled bank of the kNN probe
    seed: int = _field(0, check=_SEED)
    num_workers: int = _field(0, ge=0)  # folder source: DataLoader workers; 0 = in the main process

    def _relations(self) -> Relations:
        yield (
            "path",
            self.source != "folder" or bool(self.path),
            "is required when data.source is 'folder'",
        )


@dataclass
class TrainingConfig:
    total_steps: int = _field(2000, ge=1)  # schedule length and run length
    batch_size: int = _field(64, ge=2)  # per process
    lr: float = _field(1.5e-3, gt=0)  # peak LR after warmup
    min_lr: float = _field(1.0e-5, ge=0)  # <= lr
    warmup_steps: int = _field(200, ge=0)  # linear warmup from 0 at step 0; <= total_steps
    weight_decay: float = _field(0.04, ge=0)  # cosine from weight_decay ...
    weight_decay_end: float = _field(0.4, ge=0)  # ... to weight_decay_end
    betas: List[float] = _field(
        [0.9, 0.95],
        check=_Rule(
            lambda b: len(b) == 2 and all(0 <= x < 1 for x in b), "must be two values in [0, 1)"
        ),
    )
    ema_momentum_start: float = _field(0.996, ge=0, le=1)  # linear ...
    ema_momentum_end: float = _field(1.0, ge=0, le=1)  # ... to this at total_steps
    clip_grad: float = _field(1.0, ge=0)  # global-norm threshold; 0 disables clipping
    seed: int = _field(0, check=_SEED)
    device: Device = "auto"  # "auto": CUDA when available, else the CPU
    amp: Amp = "auto"  # "auto": bf16 autocast on CUDA, float32 on the CPU; "bf16": both bf16
    compile: bool = False  # torch.compile the model (CUDA)
    checkpoint_every: int = _field(250, ge=1)  # steps; events are committed to disk at checkpoints
    threads: int = _field(0, lt=2**31)  # torch CPU threads; <= 0 = torch default
    # true (always, for real training): targets come from the EMA target encoder under
    # no_grad. false is a deliberate ABLATION for tests and demonstrations: the targets
    # are the context encoder's own features with gradients flowing into them (no
    # stop-gradient, no EMA target), the classic route to representational collapse.
    stop_gradient: bool = True

    def _relations(self) -> Relations:
        yield "min_lr", self.min_lr <= self.lr, f"must be <= training.lr ({self.lr})"
        yield "warmup_steps", self.warmup_steps <= self.total_steps, "must be in [0, total_steps]"
        yield (
            "ema_momentum_start",
            self.ema_momentum_start <= self.ema_momentum_end,
            "need 0 <= ema_momentum_start <= ema_momentum_end <= 1",
        )


@dataclass
class EvalConfig:
    interval: int = _field(
        500, ge=0
    )  # steps between kNN probe + validation loss; 0 = only at the end
    knn_k: int = _field(20, ge=1)
    knn_temperature: float = _field(0.07, gt=0)
    val_batches: int = _field(4, ge=1)  # held-out batches for the validation loss
    random_init_baseline: bool = True  # probe a random-init encoder once


@dataclass
class MetricsConfig:
    loss_only: bool = False  # log only the every-step loss metrics (benchmark baseline)
    collapse_max_rows: int = _field(0, ge=0)  # rows sampled for collapse stats; 0 = 4 * embed_dim
    window: int = _field(
        100, ge=2
    )  # steps in stability / clipping-percentage / convergence windows
    histogram_max_values: int = _field(16384, ge=2)  # gradient values sampled per layer group
    plain_scalars: bool = False  # also visible in TensorBoard's Scalars dashboard
    frequencies: Dict[str, int] = _field(  # catalogue key or category -> steps (0 = never)
        {},
        check=_Rule(
            lambda f: all(v >= 0 and k in _FREQUENCY_NAMES for k, v in f.items()),
            "keys must be catalogue keys or categories (hjepa-doctor catalog) and steps >= 0",
        ),
    )


@dataclass
class HealthConfig:
    """Online health checks (hjepa_trainer.health): the diagnosis engine every few steps."""

    enabled: bool = True
    every: int = _field(
        0, check=_Rule(lambda v: v >= 0, "must be >= 0 (0 = the collapse metrics' interval)")
    )
    # Stop (checkpoint, exit status 3) when a check's overall status is at least this
    # severe: null (never), "warning", "collapse" (collapse or critical) or "critical".
    stop_on: Optional[StopOn] = None
    max_points: int = _field(
        2000, ge=20
    )  # values kept in memory per curve (first, thinned middle, recent)


@dataclass
class TensorBoardConfig:
    enabled: bool = True


def _plain_name(name: str) -> bool:
    return bool(name) and os.sep not in name and name not in (".", "..")


@dataclass
class LoggingConfig:
    log_dir: str = "runs"
    log_frequency: int = _field(
        100, ge=1
    )  # base interval of the "every 100 steps" metrics (reference section 12)
    experiment_name: str = _field(  # the run's directory under log_dir
        "hjepa_tiny",
        check=_Rule(
            _plain_name, "must be a non-empty name without path separators, not '.' or '..'"
        ),
    )
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


def _choices(tp) -> Optional[tuple]:
    """The values a ``Literal`` (or ``Optional[Literal]``) type allows; None for others."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return typing.get_args(tp)
    if origin is typing.Union:
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and typing.get_origin(inner[0]) is Literal:
            return ((None,) if len(inner) < len(args) else ()) + typing.get_args(inner[0])
    return None


def _choice_words(choices: tuple) -> str:
    words = ["null" if c is None else repr(c) for c in choices]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(key: str, tp, value):
    """Check ``value`` against the annotated type ``tp``; ints are accepted as floats."""
    choices = _choices(tp)
    if choices is not None:
        if not any(value == c and type(value) is type(c) for c in choices):
            raise ConfigError(
                f"config key {key!r}: must be {_choice_words(choices)}, got {value!r}"
            )
        return value
    origin = typing.get_origin(tp)
    if origin in (list, List):
        (item,) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(
                f"config key {key!r} expects a list of {_type_name(item)}, got {value!r}"
            )
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
        raise ConfigError(
            f"config section {prefix.rstrip('.') or '<root>'!r} must be a mapping, got {data!r}"
        )
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


def _check_section(obj, prefix: str) -> None:
    """Check every field of the dataclass ``obj`` (its type, choices and limits), its
    subsections, then the section's ``_relations``; raise at the first failure."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        key, value = prefix + f.name, getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            _check_section(value, key + ".")
            continue
        _coerce(key, hints[f.name], value)
        for rule in f.metadata.get("rules", ()):
            if not rule.ok(value):
                raise ConfigError(f"config key {key!r}: {rule.text}, got {value!r}")
    relations = getattr(obj, "_relations", None)
    for name, holds, message in relations() if relations is not None else ():
        if not holds:
            raise ConfigError(f"config key {prefix + name!r}: {message}")


def validate(cfg: Config) -> Config:
    """Check every field's type, choices and limits and the constraints between fields.

    Returns:
        ``cfg`` unchanged.

    Raises:
        ConfigError: naming the first bad key.
    """
    _check_section(cfg, "")
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
