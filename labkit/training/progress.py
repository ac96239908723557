"""One tidy progress display per trained model.

In a student's JupyterLab: a single progress bar over epochs with the latest metrics. When nbgrader or a
script executes the notebook: one line when training starts and one when it ends, so executed notebooks and
feedback files stay small.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pytorch_lightning as pl

from labkit import runtime

SHOWN = ("train_loss", "train_mse", "train_acc", "train_mae", "val_loss", "val_mse", "val_acc", "val_mae")


def format_metrics(metrics: dict[str, Any]) -> str:
    """Format the shown metrics of ``trainer.callback_metrics`` as ``name value`` pairs."""
    parts = [f"{name} {float(metrics[name]):.4g}" for name in SHOWN if name in metrics]
    return ", ".join(parts)


class EpochProgress(pl.Callback):
    """Report training progress once per epoch (live) or at start and end (headless).

    Parameters
    ----------
    name
        The model's name, shown in front of the bar or lines.
    interactive
        Live bar (default: whether this is a student's kernel, see :func:`labkit.runtime.is_interactive`).
    """

    def __init__(self, name: str, interactive: bool | None = None) -> None:
        self.name = name
        self.interactive = runtime.is_interactive() if interactive is None else interactive
        self.bar: Any = None
        self.started = 0.0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Open the bar or print the start line."""
        self.started = time.perf_counter()
        if self.interactive:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=trainer.max_epochs, desc=self.name, unit="epoch", file=sys.stdout)
        else:
            print(f"{self.name}: training for {trainer.max_epochs} epochs on {_device(trainer)}", flush=True)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Advance the bar with the epoch's metrics (train and validation)."""
        if self.bar is not None:
            self.bar.set_postfix_str(format_metrics(trainer.callback_metrics), refresh=False)
            self.bar.update(1)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Close the bar, or print the end line with the final metrics."""
        elapsed = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        print(
            f"{self.name}: {trainer.current_epoch} epochs in {elapsed:.0f} s; "
            f"{format_metrics(trainer.callback_metrics)}",
            flush=True,
        )


def _device(trainer: pl.Trainer) -> str:
    return str(trainer.strategy.root_device)
