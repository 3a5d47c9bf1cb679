"""What the lead-time benchmark trains: two healthy recipes, the faults, the controls.

A recipe is a healthy run of the reference trainer on one dataset (``--set`` overrides of
``trainer/configs/tiny_cpu.yaml``). A case changes a few settings of its recipe:

- from step 0 (``onset=0``): a whole run with the changed settings;
- mid-run (``onset=K``): a copy of the recipe's base run, trained to step K and
  checkpointed, resumed with the changed settings (``hjepa-train --resume``), as a user
  changes a config and resumes, or a bug lands in a restarted job.

Faults are the causes of a failing run; controls are healthy or validly configured runs
(other seeds, level counts, batch sizes, a resume with the same config or a lower LR)
and must raise no alert.
"""

import dataclasses
import os
from typing import Callable, Optional, Tuple

FAULT = "fault"
CONTROL = "control"

# The online checks run every ``logging.log_frequency`` steps (health.every defaults to
# the collapse metrics' interval): one check every 10 steps in every recipe.
CHECK_EVERY = 10


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A healthy run on one dataset.

    Attributes:
      name: the dataset's name.
      sets: ``--set`` overrides of the tiny demo config.
      steps: the run's planned length T.
      onset: K, the step mid-run faults start at (the base run is checkpointed there).
      eval_every: steps between kNN probes (at most 5% of T).
      prepare: writes what the run needs under the logdir (an image folder) and returns
        more overrides; None for the embedded procedural dataset.
      probe_sees_collapse: whether the probe is known to fall on a collapse here (the
        procedural data's 6 classes are not: its probe rose while the rank fell 6x).
    """

    name: str
    sets: Tuple[str, ...]
    steps: int
    onset: int
    eval_every: int
    prepare: Optional[Callable[[str], Tuple[str, ...]]] = None
    probe_sees_collapse: bool = True

    def common(self, steps: Optional[int] = None) -> Tuple[str, ...]:
        """Overrides every run of this recipe shares."""
        total = steps or self.steps
        return (
            "training.threads=1",
            "training.total_steps=%d" % total,
            "training.warmup_steps=%d" % (total // 10),
            "logging.log_frequency=%d" % CHECK_EVERY,
            "metrics.window=%d" % max(10, total // 10),
            "eval.interval=%d" % self.eval_every,
            "training.checkpoint_every=%d" % total,
        ) + self.sets


@dataclasses.dataclass(frozen=True)
class Case:
    """One run of the benchmark.

    Attributes:
      name: unique within its recipe.
      recipe: the recipe's name.
      kind: FAULT or CONTROL.
      sets: the settings that differ from the recipe.
      onset: 0 (the whole run) or the recipe's K (resumed from its base run).
      cause: for a fault, the injected cause in words.
      fast: part of the ``--fast`` subset (CI).
      names_cause: words of which the first action must hold one to name the cause.
    """

    name: str
    recipe: str
    kind: str
    sets: Tuple[str, ...]
    onset: int
    cause: str = ""
    fast: bool = False
    names_cause: Tuple[str, ...] = ()

    @property
    def resumed(self) -> bool:
        return self.onset > 0


def _digits(logdir: str) -> Tuple[str, ...]:
    from scenarios.images import write_digits_folder

    root = write_digits_folder(os.path.join(logdir, "_images", "digits"))
    # 30% held out: 540 probe queries (a binomial standard error of ~2 points).
    return ("data.source=folder", "data.path=%s" % root, "data.val_fraction=0.3")


RECIPES = (
    Recipe(
        "procedural",
        ("training.batch_size=32",),
        steps=600,
        onset=300,
        eval_every=30,
        probe_sees_collapse=False,
    ),
    # 12-pixel patches see 2x2 scanned pixels each (the demo's 6-pixel patches see one
    # uniform pixel, and its probe falls below the random-init encoder's from step ~100):
    # a 4x4 grid, so two levels (4x4 and 2x2).
    Recipe(
        "digits",
        (
            "training.batch_size=32",
            "model.patch_size=12",
            "model.num_levels=2",
            "model.hierarchy_weights=[1.0,1.0]",
            "masking.mask_scale=[0.15,0.2]",
        ),
        steps=400,
        onset=200,
        eval_every=20,
        prepare=_digits,
    ),
)
RECIPE_BY_NAME = {r.name: r for r in RECIPES}

# Faults: (name, settings, cause, words an action naming the cause holds). Each runs
# mid-run on both recipes.
_FAULTS = (
    (
        "lr_x20",
        ("training.lr=0.03", "training.min_lr=0.0003"),
        "a far too high LR (x20)",
        ("learning rate",),
    ),
    (
        "ema_low",
        ("training.ema_momentum_start=0.5", "training.ema_momentum_end=0.5"),
        "a far too low EMA momentum (0.5)",
        ("EMA momentum",),
    ),
    (
        "ema_frozen",
        ("training.ema_momentum_start=1.0", "training.ema_momentum_end=1.0"),
        "a frozen target encoder (EMA momentum 1)",
        ("EMA momentum",),
    ),
    (
        "no_stop_gradient",
        ("training.stop_gradient=false",),
        "no stop-gradient on the targets",
        ("stop-gradient",),
    ),
    (
        "wd_x1000",
        ("training.weight_decay=40.0", "training.weight_decay_end=400.0"),
        "a far too high weight decay (x1000)",
        ("weight decay",),
    ),
    (
        "clip_tiny",
        ("training.clip_grad=0.0001",),
        "gradients clipped to nothing (1e-4)",
        ("clip",),
    ),
)
_BY_FAULT = {f[0]: f for f in _FAULTS}
_FAST_FAULTS = ("lr_x20", "no_stop_gradient", "ema_frozen", "clip_tiny")


def _at_0(fault: str):
    """(sets, onset, cause, fast, names_cause) of a fault from step 0."""
    _, sets, cause, words = _BY_FAULT[fault]
    return sets, 0, cause, False, words


def _cases():
    out = []
    for recipe in RECIPES:
        k = recipe.onset
        fast = recipe.name == "digits"
        for name, sets, cause, words in _FAULTS:
            fast_case = fast and name in _FAST_FAULTS
            out.append(Case(name, recipe.name, FAULT, sets, k, cause, fast_case, words))
        out.append(Case("resume_same", recipe.name, CONTROL, (), k, fast=fast))
        out.append(Case("resume_lr_half", recipe.name, CONTROL, ("training.lr=7.5e-4",), k))
        for seed in range(1, 5):
            out.append(
                Case(
                    "seed%d" % seed,
                    recipe.name,
                    CONTROL,
                    ("training.seed=%d" % seed, "data.seed=%d" % seed),
                    0,
                )
            )
        out.append(Case("batch8", recipe.name, CONTROL, ("training.batch_size=8",), 0))
    # Faults from the first step, and a 4-level hierarchy (the procedural 8x8 grid).
    out += [
        Case("no_stop_gradient_at_0", "procedural", FAULT, *_at_0("no_stop_gradient")),
        Case("lr_x20_at_0", "procedural", FAULT, *_at_0("lr_x20")),
        Case(
            "levels4",
            "procedural",
            CONTROL,
            ("model.num_levels=4", "model.hierarchy_weights=[1.0,1.0,1.0,1.0]"),
            0,
        ),
    ]
    return tuple(out)


CASES = _cases()
