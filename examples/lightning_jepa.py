"""A JEPA LightningModule with H-JEPA health metrics and online checks (``HJepaHealth``).

The model, images, masks and probe are those of ``own_training_loop.py`` (a two-level
JEPA written from scratch); the training is PyTorch Lightning's: its optimizer loop, LR
scheduler, gradient clipping (``gradient_clip_val``), validation and TensorBoard logger.
What connects it to this project is the ``hjepa`` entry that ``training_step`` returns
and the callback (the lines marked ``# hjepa``).

    python examples/lightning_jepa.py --logdir runs/lightning           # ~1 min on a CPU
    python examples/lightning_jepa.py --logdir runs/lightning --name broken --no-stop-gradient
    tensorboard --logdir runs

Exit status: 0 done, 3 stopped by the online checks (a checkpoint was written).
See docs/lightning.md.
"""

import argparse
import os
import sys

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers import TensorBoardLogger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # own_training_loop beside
from own_training_loop import (  # noqa: E402
    CLASSES,
    DIM,
    GRID,
    WEIGHTS,
    Encoder,
    Predictor,
    forward,
    images,
    pool,
    probe,
)

from hjepa_trainer.health import EXIT_HEALTH_STOP  # noqa: E402  # hjepa
from hjepa_trainer.lightning_callback import HJepaHealth, JepaStep  # noqa: E402  # hjepa


class Batches(torch.utils.data.IterableDataset):
    """Endless batches of procedural images (the DataLoader batches nothing more)."""

    def __init__(self, batch: int, seed: int) -> None:
        self.batch, self.seed = batch, seed

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        while True:
            yield images(self.batch, gen)


class StopAt(pl.Callback):
    """End ``fit`` after ``step`` optimizer steps; the schedules keep ``--steps``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        trainer.should_stop = trainer.should_stop or trainer.global_step >= self.step


class LitJepa(pl.LightningModule):
    def __init__(self, steps: int, stop_gradient: bool = True, lr: float = 1e-3) -> None:
        super().__init__()
        self.context_encoder, self.predictor = Encoder(), Predictor()
        self.target_encoder = Encoder().requires_grad_(False)
        self.target_encoder.load_state_dict(self.context_encoder.state_dict())
        self.steps, self.stop_gradient, self.lr = steps, stop_gradient, lr
        self.masks = torch.Generator().manual_seed(0)

    def momentum(self) -> float:  # EMA schedule 0.996 -> 1.0
        return 0.996 + 0.004 * self.global_step / self.steps

    def training_step(self, x, batch_idx):
        losses, preds, targets, target, n_ctx, n_tgt = forward(
            self.context_encoder,
            self.target_encoder,
            self.predictor,
            x,
            self.masks,
            stop_gradient=self.stop_gradient,
        )
        loss = sum(w * l for w, l in zip(WEIGHTS, losses))
        self.log("train_loss", loss)
        if target.requires_grad:  # hjepa: only without stop-gradient: keep its gradient
            target.retain_grad()  # hjepa
        hjepa = JepaStep(  # hjepa
            level_losses=losses,  # hjepa
            preds=preds,  # hjepa
            targets=targets,  # hjepa
            features=[target, pool(target)],  # hjepa: all cells of both levels
            cells=[GRID * GRID, (GRID // 2) ** 2],  # hjepa
            target_features=target,  # hjepa: the stop-gradient's signal
            num_context=n_ctx,  # hjepa
            num_target=n_tgt,  # hjepa
            num_patches=GRID * GRID,  # hjepa
            ema_momentum=self.momentum(),  # hjepa
        )  # hjepa
        return {"loss": loss, "hjepa": hjepa}  # hjepa: was `return loss`

    def optimizer_step(self, *args, **kwargs):
        super().optimizer_step(*args, **kwargs)
        with torch.no_grad():  # the EMA teacher follows the optimizer step
            m = self.momentum()
            for t, c in zip(self.target_encoder.parameters(), self.context_encoder.parameters()):
                t.lerp_(c, 1.0 - m)

    def validation_step(self, x, batch_idx):
        gen = torch.Generator().manual_seed(2)
        losses = forward(self.context_encoder, self.target_encoder, self.predictor, x, gen)[0]
        self.log("val_loss", sum(w * l for w, l in zip(WEIGHTS, losses)))

    def configure_optimizers(self):
        params = list(self.context_encoder.parameters()) + list(self.predictor.parameters())
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=0.05)
        warmup = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": warmup, "interval": "step"}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", default="runs")
    parser.add_argument("--name", default="lightning", help="the run's folder under --logdir")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--check-every", type=int, default=50, help="steps between online checks")
    parser.add_argument("--stop-on", default="collapse", help="warning, collapse, critical or none")
    parser.add_argument("--no-stop-gradient", action="store_true", help="targets with gradients")
    parser.add_argument("--clip", type=float, default=5.0, help="Lightning's gradient_clip_val")
    parser.add_argument("--accumulate", type=int, default=1, help="accumulate_grad_batches")
    parser.add_argument("--resume", default=None, help="a Lightning checkpoint to go on from")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps (of --steps)")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bank, queries = (images(256, torch.Generator().manual_seed(s), labels=True) for s in (3, 4))
    val = torch.utils.data.DataLoader(
        [images(64, torch.Generator().manual_seed(1))], batch_size=None
    )

    health = HJepaHealth(  # hjepa
        hierarchy_weights=WEIGHTS,  # hjepa
        embed_dim=DIM,  # hjepa
        patch_grid=[GRID, GRID],  # hjepa
        every=args.check_every,  # hjepa
        stop_on=None if args.stop_on == "none" else args.stop_on,  # hjepa
        log_frequency=10,  # hjepa: a short run: "every 100 steps" -> every 10
        window=50,  # hjepa
        probe=lambda m: probe(m.target_encoder, bank, queries),  # hjepa
        probe_classes=CLASSES,  # hjepa
        probe_queries=len(queries[1]),  # hjepa
    )  # hjepa
    trainer = pl.Trainer(
        max_steps=args.steps,
        accelerator="cpu",
        devices=1,
        gradient_clip_val=args.clip,
        accumulate_grad_batches=args.accumulate,
        val_check_interval=args.check_every,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=10,
        logger=TensorBoardLogger(args.logdir, name=args.name, version=""),
        callbacks=[health, StopAt(args.max_steps or args.steps)],  # hjepa: health
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    model = LitJepa(args.steps, stop_gradient=not args.no_stop_gradient)
    trainer.fit(
        model,
        torch.utils.data.DataLoader(Batches(args.batch, seed=0), batch_size=None),
        val,
        ckpt_path=args.resume,
    )
    trainer.save_checkpoint(os.path.join(args.logdir, args.name, "last.ckpt"))
    if health.stopped is not None:  # hjepa
        print(f"stopped: {health.stopped.line}; {health.stop_checkpoint}", file=sys.stderr)  # hjepa
        return EXIT_HEALTH_STOP  # hjepa
    return 0


if __name__ == "__main__":
    sys.exit(main())
