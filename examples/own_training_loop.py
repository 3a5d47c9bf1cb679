"""Bring your own loop: H-JEPA health metrics and online checks in a plain PyTorch loop.

This is NOT the bundled trainer: a tiny two-level JEPA written from scratch (a ViT-ish
context encoder, an EMA target encoder, a narrow predictor, procedural images) that
adds only two things from this project:

- ``hjepa_trainer.metrics.HJepaMetrics``: computes and writes every catalogue metric
  (losses, contributions, collapse, prediction, gradients, EMA, masks, performance);
- ``hjepa_trainer.health.HealthMonitor``: the online checks. It wraps the writer,
  keeps the recent values in memory and runs the same diagnosis as the TensorBoard tab
  every ``--check-every`` steps; on a new problem it prints one line and writes it to
  the logs as text; with ``--stop-on collapse`` it asks the loop to stop.

    python examples/own_training_loop.py --logdir runs/own  # 300 steps, ~30 s on a CPU; no collapse
    python examples/own_training_loop.py --logdir runs/own_broken --no-stop-gradient
    tensorboard --logdir runs        # the H-JEPA Health tab reads every light

Exit status: 0 done, 3 stopped by the online checks (a checkpoint was written).
See docs/own_training_loop.md.
"""

import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from hjepa_trainer.health import EXIT_HEALTH_STOP, HealthMonitor
from hjepa_trainer.metrics import FrequencyPolicy, HJepaMetrics, StepTimer, global_grad_norm
from hjepa_trainer.probe import knn_top1
from tensorboard_plugin_hjepa.summary import RunManifest, SummaryWriter

IMG, PATCH, DIM, PDIM = 32, 4, 64, 32  # 8x8 patch grid; level 1 pools it 2x2 -> 4x4 cells
GRID = IMG // PATCH
WEIGHTS = [1.0, 0.5]  # loss weight of level 0 (patches) and level 1 (2x2 cells)


def blocks(dim, depth):
    layer = nn.TransformerEncoderLayer(
        dim, 4, 4 * dim, dropout=0.0, batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def gather(x, idx):  # x (B, N, C), idx (B, K) -> (B, K, C)
    return torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[-1]))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, DIM, PATCH, PATCH)
        self.pos = nn.Parameter(0.02 * torch.randn(1, GRID * GRID, DIM))
        self.blocks, self.norm = blocks(DIM, 2), nn.LayerNorm(DIM)

    def forward(self, images, keep=None):  # -> (B, N or K, D)
        x = self.patch(images).flatten(2).transpose(1, 2) + self.pos
        return self.norm(self.blocks(x if keep is None else gather(x, keep)))


class Predictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.out = nn.Linear(DIM, PDIM), nn.Linear(PDIM, DIM)
        self.pos = nn.Parameter(0.02 * torch.randn(1, GRID * GRID, PDIM))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, PDIM))
        self.blocks = blocks(PDIM, 2)

    def forward(self, ctx, ctx_idx, tgt_idx):  # -> (B, Nt, D) predictions at the targets
        pos = self.pos.expand(ctx.shape[0], -1, -1)
        tokens = torch.cat(
            [self.inp(ctx) + gather(pos, ctx_idx), self.mask_token + gather(pos, tgt_idx)], 1
        )
        return self.out(self.blocks(tokens)[:, ctx.shape[1] :])


CLASSES = 4  # probe labels: the orientation of an image's strongest grating, in 4 bins


def images(batch, gen, *, labels=False):
    """Procedural images: a few random colour gratings each, (B, 3, IMG, IMG); with
    ``labels``, also the orientation bin of the first (strongest) grating, (B,)."""
    v, u = torch.meshgrid(torch.linspace(0, 1, IMG), torch.linspace(0, 1, IMG), indexing="ij")
    out = torch.zeros(batch, 3, IMG, IMG)
    for k in range(3):
        theta, freq, phase = (
            torch.rand(batch, 1, 1, generator=gen) * s for s in (math.pi, 8.0, 6.3)
        )
        wave = torch.sin(2 * math.pi * (freq + 1) * (u * theta.cos() + v * theta.sin()) + phase)
        out += (1.0 if k == 0 else 0.4) * torch.rand(batch, 3, 1, 1, generator=gen) * wave[:, None]
        if k == 0:
            y = (theta.flatten() / math.pi * CLASSES).long().clamp(max=CLASSES - 1)
    return (out, y) if labels else out


@torch.no_grad()
def probe(encoder, bank, queries):
    """kNN top-1 of mean-pooled, L2-normalised features (hjepa_trainer.probe.knn_top1)."""

    def encode(x):
        return F.normalize(encoder(x).mean(1), dim=1)  # (M, D)

    return knn_top1(
        encode(bank[0]),
        bank[1],
        encode(queries[0]),
        queries[1],
        k=20,
        temperature=0.07,
        num_classes=CLASSES,
    )


def masks(batch, gen):
    """Half of the 4x4 level-1 cells are targets (whole cells, so both levels see them)."""
    cells = torch.rand(batch, (GRID // 2) ** 2, generator=gen).argsort(1)
    tgt_cells, ctx_cells = cells[:, :8].sort(1).values, cells[:, 8:].sort(1).values  # (B, 8) each

    def patches(c):  # cell (r, q) of the 4x4 grid -> its 4 patches of the 8x8 grid
        r, q = (c // (GRID // 2)) * 2, (c % (GRID // 2)) * 2
        return torch.stack(
            [r * GRID + q, r * GRID + q + 1, (r + 1) * GRID + q, (r + 1) * GRID + q + 1], -1
        ).flatten(1)

    return patches(ctx_cells), patches(tgt_cells), tgt_cells


def pool(tokens):  # (B, 64, D) -> (B, 16, D): level 1 = 2x2 average pooling of the patch grid
    b, _, d = tokens.shape
    grid = tokens.transpose(1, 2).reshape(b, d, GRID, GRID)
    return F.avg_pool2d(grid, 2).flatten(2).transpose(1, 2)


def forward(context_encoder, target_encoder, predictor, x, gen, stop_gradient=True):
    ctx_idx, tgt_idx, tgt_cells = masks(x.shape[0], gen)
    with torch.set_grad_enabled(not stop_gradient):  # targets: no gradient (unless broken)
        encoder = target_encoder if stop_gradient else context_encoder
        target = F.layer_norm(encoder(x), (DIM,))  # (B, 64, D)
    pred = predictor(context_encoder(x, ctx_idx), ctx_idx, tgt_idx)  # (B, 32, D)
    full = torch.zeros_like(target).scatter(1, tgt_idx[..., None].expand(-1, -1, DIM), pred)
    preds = [pred, gather(pool(full), tgt_cells)]  # level 0 patches, level 1 cells
    targets = [gather(target, tgt_idx), gather(pool(target), tgt_cells)]
    losses = [F.smooth_l1_loss(p, t) for p, t in zip(preds, targets)]
    return losses, preds, targets, target, ctx_idx.shape[1], tgt_idx.shape[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", default="runs/own_loop")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--check-every", type=int, default=50, help="steps between online checks")
    parser.add_argument("--stop-on", default="collapse", help="warning, collapse, critical or none")
    parser.add_argument(
        "--no-stop-gradient", action="store_true", help="break the JEPA: targets with gradients"
    )
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)

    context_encoder, predictor = Encoder(), Predictor()
    target_encoder = Encoder().requires_grad_(False)
    target_encoder.load_state_dict(context_encoder.state_dict())  # the target starts as a copy
    params = list(context_encoder.parameters()) + list(predictor.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.05)
    val_x = images(64, torch.Generator().manual_seed(1))  # fixed held-out batch
    # The kNN probe: a labelled bank and held-out queries (chance = 1 / CLASSES).
    bank, queries = (images(256, torch.Generator().manual_seed(s), labels=True) for s in (3, 4))

    manifest = RunManifest(
        num_levels=2,
        hierarchy_weights=WEIGHTS,
        embed_dim=DIM,
        patch_grid=[GRID, GRID],
        total_steps=args.steps,
        collapse_rows=4 * DIM,
        trainer="examples/own_training_loop.py",
    )
    writer = SummaryWriter(args.logdir, manifest=manifest)
    monitor = HealthMonitor(
        manifest,
        writer=writer,
        run=args.logdir,
        every=args.check_every,
        stop_on=None if args.stop_on == "none" else args.stop_on,
    )
    # The monitor is the metrics' writer: it records every value and forwards it.
    metrics = HJepaMetrics(
        monitor,
        hierarchy_weights=WEIGHTS,
        embed_dim=DIM,
        window=50,
        policy=FrequencyPolicy(log_frequency=10),
    )  # "every 100 steps" -> every 10
    timer, device = StepTimer(torch.device("cpu")), torch.device("cpu")
    parts = {
        "context_encoder": context_encoder,
        "predictor": predictor,
        "target_encoder": target_encoder,
    }
    status = 0
    # What the probe lights compare with: chance, the probe's size (its noise) and the
    # random-init encoder's accuracy, through the metrics logger (the monitor sees them).
    metrics.log_probe_setup(
        0,
        num_classes=CLASSES,
        num_queries=len(queries[1]),
        knn_top1_random_init=probe(target_encoder, bank, queries),
    )
    for step in range(args.steps):
        last = step == args.steps - 1
        lr = 1e-3 * min(1.0, (step + 1) / 20)  # short warmup
        momentum = 0.996 + 0.004 * step / args.steps  # EMA schedule 0.996 -> 1.0
        for g in opt.param_groups:
            g["lr"] = lr
        timer.reset()
        timer.mark()
        x = images(args.batch, gen)
        losses, preds, targets, target, n_ctx, n_tgt = forward(
            context_encoder,
            target_encoder,
            predictor,
            x,
            gen,
            stop_gradient=not args.no_stop_gradient,
        )
        loss = sum(w * l for w, l in zip(WEIGHTS, losses))
        if target.requires_grad:  # only without stop-gradient: keep the gradient it gets
            target.retain_grad()
        timer.mark()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        timer.mark()
        pre = global_grad_norm(params)
        metrics.log_losses(step, [l.item() for l in losses])
        metrics.log_gradients(  # before clipping; the targets carry the stop-gradient's signal
            step, parts=parts, global_norm=pre, target_features=target, last_step=last
        )
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        metrics.log_clipping(step, pre, min(pre, 5.0))
        metrics.log_schedule(step, opt, last_step=last)
        metrics.begin_update(step, params, last_step=last)
        opt.step()
        metrics.end_update(step, params)
        with torch.no_grad():  # EMA after the optimizer step
            for t, c in zip(target_encoder.parameters(), context_encoder.parameters()):
                t.lerp_(c, 1.0 - momentum)
        metrics.log_ema(
            step,
            context_encoder=context_encoder,
            target_encoder=target_encoder,
            momentum=momentum,
            momentum_target=1.0,
            last_step=last,
        )
        metrics.log_masks(
            step, num_context=n_ctx, num_target=n_tgt, num_patches=GRID * GRID, last_step=last
        )
        if metrics.levels_due(step, last_step=last):
            features = [
                target.reshape(-1, DIM),
                pool(target).reshape(-1, DIM),
            ]  # all cells, both levels
            metrics.log_levels(
                step,
                preds=[p.reshape(-1, DIM) for p in preds],
                targets=[t.reshape(-1, DIM) for t in targets],
                features=features,
                cells=[GRID * GRID, (GRID // 2) ** 2],
                last_step=last,
            )
        metrics.count_samples(args.batch)
        metrics.log_performance(step, timer=timer, device=device, last_step=last)
        if (step + 1) % 50 == 0 or last:  # held-out loss -> val/train ratio
            with torch.no_grad():
                val = sum(
                    w * l
                    for w, l in zip(
                        WEIGHTS,
                        forward(
                            context_encoder,
                            target_encoder,
                            predictor,
                            val_x,
                            torch.Generator().manual_seed(2),
                        )[0],
                    )
                )
            metrics.log_eval(
                step, val_loss=float(val), knn_top1=probe(target_encoder, bank, queries)
            )
        alert = monitor.maybe_check(step)  # the online check, after this step's metrics
        if alert is not None and alert.stop:
            torch.save(
                {
                    "step": step + 1,
                    "context_encoder": context_encoder.state_dict(),
                    "target_encoder": target_encoder.state_dict(),
                    "predictor": predictor.state_dict(),
                    "optimizer": opt.state_dict(),
                },
                os.path.join(args.logdir, "checkpoint.pt"),
            )
            status = EXIT_HEALTH_STOP
            break
    writer.close()
    checks = monitor.check_seconds
    print(
        f"{step + 1} steps; {len(checks)} online checks, "
        f"{1000 * sum(checks) / max(1, len(checks)):.1f} ms each; "
        f"{len(monitor.alerts)} alert(s); logs in {args.logdir}",
        file=sys.stderr,
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
