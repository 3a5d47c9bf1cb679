"""Calibration of the collapse verdicts across widths: ``python -m benchmarks.calibration``.

Feature matrices of healthy shapes (isotropic, power-law spectra, a shared mean
direction) and of pathologies (rank k at 10, 5, 2, 1% of D in random and axis-aligned
bases; one point plus 1, 3, 10% noise) at D = 128, 384, 768, 1024 and N = 2D and 8D
go through the trainer's metric code (``HJepaMetrics``: ``collapse_records`` and the
loss windows), and the curves it writes go through the diagnosis engine as whole runs:

- healthy families: the family from the start to the end, judged at 30%, 60% and 100%
  of the run: must be healthy every time, at every D;
- pathologies: isotropic until mid-run, the pathology from then on, judged at the end;
- partial collapse: a sudden 60% loss drop at mid-run while the rank falls to D/8
  (4x or more), and its control, the same loss drop with the rank unchanged.

Prints the verdict table (overall status at N=2D / N=8D), the healthy values of
std * sqrt(D) and erank / min(N, D), and each requirement with PASS or FAIL; exit
status 1 when one fails. ``--dims 128,384`` and ``--points`` make it shorter.
"""

import argparse
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from hjepa_trainer.health import MetricHistory
from hjepa_trainer.metrics import HJepaMetrics, collapse_records, prediction_records
from hjepa_trainer.probe import knn_top1
from tensorboard_plugin_hjepa.catalog import schema
from tensorboard_plugin_hjepa.diagnosis import diagnose
from tensorboard_plugin_hjepa.summary import RunManifest

from . import families

TOTAL = 4000  # planned steps of each run
WARMUP = 400
EVERY = 100  # collapse statistics every 100 steps: 40 points
MID = TOTAL // 2
DRAWS = 3  # distinct matrices per phase (reused cyclically along the curve)


def _loss(step: int, rng: np.random.Generator, drop: bool, noise: float = 0.03) -> float:
    """A JEPA-like loss: slow decay with batch noise; ``drop``: 60% lower from mid-run."""
    base = 0.5 + 0.5 * np.exp(-step / 800.0)
    if drop and step >= MID:
        base *= 0.4
    return float(abs(base * (1 + noise * rng.standard_normal())))


class Run:
    """One run of ``TOTAL`` steps written by the trainer's metric code into memory."""

    def __init__(self, d: int, n: int, *, drop: bool = False, noise=0.03, levels: int = 1):
        self.d, self.n, self.levels = d, n, levels
        self.history = MetricHistory(max_points=100_000)
        self.metrics = HJepaMetrics(
            self.history, hierarchy_weights=[1.0] * levels, embed_dim=d, window=100
        )
        rng = np.random.default_rng(0)
        # Pooled levels' losses are smaller by construction: 1, 0.8, 0.5, 0.2 of level 0's.
        scale = [1.0, 0.8, 0.5, 0.2][:levels]
        for step in range(TOTAL):
            loss = _loss(step, rng, drop, noise)
            self.metrics.log_losses(step, [s * loss for s in scale])

    def features(self, records_by_phase: Dict[bool, List[list]]) -> "Run":
        """Log the collapse records, phase by phase (False: before mid-run)."""
        for i, step in enumerate(range(0, TOTAL, EVERY)):
            draws = records_by_phase[step >= MID]
            self.history.add_records(draws[i % len(draws)], step)
        return self

    def features_by_step(self, records_at: Callable[[int], list]) -> "Run":
        """Log the collapse records ``records_at(step)`` gives at every logged step."""
        for step in range(0, TOTAL, EVERY):
            self.history.add_records(records_at(step), step)
        return self

    def verdict(self, until: Optional[int] = None) -> dict:
        manifest = RunManifest(
            num_levels=self.levels,
            hierarchy_weights=[1.0] * self.levels,
            embed_dim=self.d,
            total_steps=TOTAL,
            warmup_steps=WARMUP,
            collapse_rows=self.n,
        )
        data = self.history.run_data("calibration", manifest)
        if until is not None:
            for _, series in list(data.series.items()):
                keep = series.steps <= until
                series.steps, series.values = series.steps[keep], series.values[keep]
                series.wall_times = series.wall_times[keep]
        return diagnose(data)


def _records(family: Callable, d: int, n: int, seed: int) -> List[list]:
    return [
        collapse_records(family(n, d, torch.Generator().manual_seed(seed + j)), 0, max_rows=n)
        for j in range(DRAWS)
    ]


# A rank that falls geometrically by ``fall`` between ``start`` and ``stop`` (steps) from
# spanning half of D, and the least its verdict must be: (start, stop, fall, status).
RANK_FALLS = {
    "rank falls 16x right after the warmup (10-20% of the run)": (
        WARMUP,
        2 * WARMUP,
        16.0,
        schema.COLLAPSE,
    ),
    "rank falls slowly 3x after early training (30-100%)": (
        int(0.3 * TOTAL),
        TOTAL,
        3.0,
        schema.WARNING,
    ),
}


def _falling_rank(d: int, n: int, start: int, stop: int, fall: float):
    """records_at(step) of features spanning D/2 directions, then fewer, down by ``fall``."""
    cache: Dict[int, list] = {}

    def records_at(step: int) -> list:
        t = min(1.0, max(0.0, (step - start) / (stop - start)))
        k = max(1, int(round(0.5 * d / fall**t)))
        if k not in cache:
            family = families.rank(k / d, False)
            cache[k] = collapse_records(
                family(n, d, torch.Generator().manual_seed(5000 + k)), 0, max_rows=n
            )
        return cache[k]

    return records_at


def _small_batch(d: int, n: int, iso: List[list]) -> dict:
    """Batch 8: the per-step loss noise is 26% of its level all run (batch 64: 7-9%)."""
    run = Run(d, n, noise=0.26).features({False: iso, True: iso})
    return max((run.verdict(u) for u in (int(0.3 * TOTAL), None)), key=_severity)


def _four_levels(d: int, n: int, iso: List[list]) -> dict:
    """Four equally weighted levels: the pooled coarsest contributes ~0.2 of its configured
    share and its predictions are all nearly as good (cosine spread ~0.008), all run."""
    run = Run(d, n, levels=4).features({False: iso, True: iso})
    rng = torch.Generator().manual_seed(7)
    for step in range(0, TOTAL, EVERY):
        target = torch.randn(256, d, generator=rng)
        for level in range(4):
            spread = 0.3 if level < 3 else 0.01  # relative noise of the predictions
            pred = target + spread * torch.linspace(0.5, 1.5, 256).unsqueeze(1) * torch.randn(
                256, d, generator=rng
            )
            run.history.add_records(prediction_records(pred, target, level), step)
    return max((run.verdict(u) for u in (int(0.3 * TOTAL), None)), key=_severity)


def _probe_at_random_init(d: int, n: int, iso: List[list]) -> dict:
    """The trainer's kNN probe as good as the random-init encoder's to the end of training."""
    run = Run(d, n).features({False: iso, True: iso})
    centres = torch.nn.functional.normalize(
        torch.randn(10, 32, generator=torch.Generator().manual_seed(100)), dim=1
    )
    labels = torch.arange(10).repeat_interleave(40)

    def accuracy(seed: int) -> float:
        g = torch.Generator().manual_seed(seed)
        bank = centres[labels] + 0.6 * torch.randn(len(labels), 32, generator=g)
        queries = centres[labels] + 0.6 * torch.randn(len(labels), 32, generator=g)
        return knn_top1(bank, labels, queries, labels, k=20, temperature=0.07, num_classes=10)

    run.metrics.log_probe_setup(
        0, num_classes=10, num_queries=len(labels), knn_top1_random_init=accuracy(0)
    )
    for i, step in enumerate(range(TOTAL // 5, TOTAL, TOTAL // 5)):
        run.metrics.log_eval(step, knn_top1=accuracy(i + 1))
    run.metrics.log_eval(TOTAL - 1, knn_top1=accuracy(99))
    return run.verdict()


def _severity(health: dict) -> int:
    return schema.severity(health["status"])


# name -> (build(d, n, isotropic records) -> health, the status it must get)
OTHER_CASES = {
    "batch 8: loss noise 26% of its level (30% and 100%)": (_small_batch, schema.HEALTHY),
    "4 levels: the coarsest at 0.2 of its share, cosine spread 0.008 (30% and 100%)": (
        _four_levels,
        schema.HEALTHY,
    ),
    "probe no better than the random-init encoder at the end": (
        _probe_at_random_init,
        schema.WARNING,
    ),
}


def _value(records: List[list], key: str) -> float:
    return float(np.median([next(r.value for r in draw if r.key == key) for draw in records]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", default="128,384,768,1024")
    parser.add_argument("--rows", default="2,8", help="N as multiples of D")
    args = parser.parse_args(argv)
    dims = [int(x) for x in args.dims.split(",")]
    multiples = [int(x) for x in args.rows.split(",")]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    start = time.time()
    table: Dict[str, Dict[int, List[str]]] = {}
    healthy_values: Dict[str, Dict[int, str]] = {}
    failures: List[str] = []

    def record(row, d, status):
        table.setdefault(row, {}).setdefault(d, []).append(status)

    for d in dims:
        for m in multiples:
            n = m * d
            iso = _records(families.isotropic, d, n, 1000)
            for name, family in families.HEALTHY.items():
                recs = iso if name == "isotropic" else _records(family, d, n, 2000)
                run = Run(d, n).features({False: recs, True: recs})
                statuses = [
                    run.verdict(until)["status"]
                    for until in (int(0.3 * TOTAL), int(0.6 * TOTAL), None)
                ]
                worst = max(statuses, key=schema.severity)
                record(name, d, worst)
                if worst != schema.HEALTHY:
                    failures.append(
                        "%s at D=%d N=%d is %s (30/60/100%%: %s)"
                        % (name, d, n, worst, "/".join(statuses))
                    )
                if m == multiples[-1]:
                    r = _value(recs, "collapse.mean_std_per_dim") * d**0.5
                    f = _value(recs, "collapse.effective_rank") / min(n, d)
                    cos = _value(recs, "collapse.mean_similarity")
                    healthy_values.setdefault(name, {})[d] = "%.2f / %.2f / %.2f" % (r, f, cos)
            pathologies = {name: (None, family) for name, family in families.POINT.items()}
            pathologies.update(families.RANK)
            for name, (fraction, family) in pathologies.items():
                status = (
                    Run(d, n)
                    .features({False: iso, True: _records(family, d, n, 3000)})
                    .verdict()["status"]
                )
                record(name + " (mid-run)", d, status)
                if fraction is None and status != schema.COLLAPSE:
                    failures.append("%s at D=%d N=%d is %s, not collapse" % (name, d, n, status))
                if (
                    fraction is not None
                    and fraction <= 0.05
                    and d >= 384
                    and schema.severity(status) < schema.severity(schema.WARNING)
                ):
                    failures.append("%s at D=%d N=%d is %s" % (name, d, n, status))
            low = _records(families.rank(1 / 8, False), d, n, 4000)
            partial = Run(d, n, drop=True).features({False: iso, True: low}).verdict()
            record("loss drop 60% + rank to D/8 (mid-run)", d, partial["status"])
            fall = next(x for x in partial["lights"] if x["key"] == "derived.rank_fall_from_peak")
            detected = [p["id"] for p in partial["patterns"] if p["detected"]]
            if fall["value"] is None or fall["value"] < 4:
                failures.append(
                    "partial collapse at D=%d N=%d: the rank fell only %s x" % (d, n, fall["value"])
                )
            if (
                schema.severity(partial["status"]) < schema.severity(schema.WARNING)
                or "partial_collapse" not in detected
            ):
                failures.append(
                    "partial collapse at D=%d N=%d is %s, patterns %s"
                    % (d, n, partial["status"], detected)
                )
            for name, (begin, end, fall, need) in RANK_FALLS.items():
                status = Run(d, n).features_by_step(_falling_rank(d, n, begin, end, fall)).verdict()
                record(name, d, status["status"])
                if schema.severity(status["status"]) < schema.severity(need):
                    failures.append("%s at D=%d N=%d is %s" % (name, d, n, status["status"]))
            for name, (build, want) in OTHER_CASES.items():
                health = build(d, n, iso)
                record(name, d, health["status"])
                if health["status"] != want:
                    failures.append(
                        "%s at D=%d N=%d is %s (%s)" % (name, d, n, health["status"], want)
                    )
            control = Run(d, n, drop=True).features({False: iso, True: iso}).verdict()
            record("loss drop 60%, rank unchanged (control)", d, control["status"])
            if control["status"] != schema.HEALTHY:
                failures.append("a loss drop alone at D=%d N=%d is %s" % (d, n, control["status"]))
            print("D=%d N=%d done (%.0f s)" % (d, n, time.time() - start), file=sys.stderr)

    rows_text = " / ".join("N=%dD" % m for m in multiples)
    print("## Collapse verdicts by width (overall status, %s)\n" % rows_text)
    print("| family | " + " | ".join("D=%d" % d for d in dims) + " |")
    print("|---|" + "---|" * len(dims))
    for name, by_dim in table.items():
        print("| %s | %s |" % (name, " | ".join(" / ".join(by_dim.get(d, [])) for d in dims)))
    print(
        "\n## Healthy families at N=%dD: std*sqrt(D) / erank/min(N,D) / raw mean cosine\n"
        % multiples[-1]
    )
    print("| family | " + " | ".join("D=%d" % d for d in dims) + " |")
    print("|---|" + "---|" * len(dims))
    for name, by_dim in healthy_values.items():
        print("| %s | %s |" % (name, " | ".join(by_dim.get(d, "") for d in dims)))
    print("\n## Requirements\n")
    checks = [
        "every healthy family is healthy at every D, at 30%, 60% and 100% of the run",
        "point collapse with up to 10% noise is collapse at every D",
        "a rank that falls to 5% of D or less from a healthy start is at least warning at D >= 384",
        (
            "a sudden loss drop with the rank falling 4x or more is at least warning "
            "(partial_collapse)"
        ),
        "a sudden loss drop with an unchanged rank stays healthy",
        "a rank falling 16x right after the warmup is collapse; one falling slowly 3x after "
        "early training is at least warning",
        "batch 8 and a 4-level hierarchy stay healthy; a probe no better than the random-init "
        "encoder's at the end of training is a warning",
    ]
    for text in checks:
        print("- %s" % text)
    if failures:
        print("\nFAIL (%d):" % len(failures))
        for line in failures:
            print("- " + line)
    else:
        print("\nPASS: every requirement met (%.0f s)" % (time.time() - start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
