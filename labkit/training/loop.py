"""Train a Lightning module on arrays and apply it, with the data kept on the training device."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

from labkit import runtime
from labkit.training import reuse
from labkit.training.loaders import TensorBatches, as_tensor
from labkit.training.modules import SupervisedModule
from labkit.training.progress import EpochProgress, format_metrics
from labkit.training.reuse import REUSE_NOTE

#: Lightning's loggers (both package names): their INFO lines (GPU available, max_epochs reached) are noise.
LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning")


def quiet_lightning_logs() -> None:
    """Let Lightning's loggers through at ERROR only (called before every Trainer is built)."""
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def training_device() -> torch.device:
    """Return the device training runs on: the (first visible) GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def effective_epochs(n_epochs: int) -> int:
    """Return ``n_epochs``, lowered to ``$LABKIT_MAX_EPOCHS`` when that documented test cap is set."""
    if n_epochs < 1:
        raise ValueError(f"n_epochs must be at least 1, got {n_epochs}")
    cap = runtime.epoch_cap()
    return n_epochs if cap is None else min(n_epochs, cap)


def train_model(
    module: SupervisedModule,
    x: np.ndarray,
    y: np.ndarray,
    i_train: np.ndarray,
    i_val: np.ndarray,
    *,
    n_epochs: int,
    name: str,
    batch_size: int = 100,
    log_dir: str | os.PathLike[str] | None = None,
    summary: bool = True,
) -> SupervisedModule:
    """Fit ``module`` on ``x[i_train]`` and validate on ``x[i_val]`` after every epoch.

    Parameters
    ----------
    module
        A :class:`~labkit.training.Classifier` or :class:`~labkit.training.Regressor` wrapping the model.
    x, y
        All inputs and targets; ``i_train`` and ``i_val`` select the subsets.
    i_train, i_val
        Integer indices of the training and validation samples.
    n_epochs
        Passes over the training set.
    name
        Name of the run: shown in the progress display and used as the TensorBoard run folder.
    batch_size
        Samples per optimisation step.
    log_dir
        TensorBoard log folder of the lab (``None``: no TensorBoard logs).
    summary
        Print the layer table (shapes and parameter counts) first.

    Returns
    -------
    SupervisedModule
        The trained module (the same object), in evaluation mode.
    """
    _check_subsets(x, y, i_train, i_val)
    device = training_device()
    shuffle_seed = int(torch.randint(0, 2**31 - 1, (1,)).item())  # drawn from the seeded global RNG
    tensors = {
        "x_train": as_tensor(x[i_train], device),
        "y_train": as_tensor(y[i_train], device),
        "x_val": as_tensor(x[i_val], device),
        "y_val": as_tensor(y[i_val], device),
    }
    train = TensorBatches(tensors["x_train"], tensors["y_train"], batch_size, shuffle=True, seed=shuffle_seed)
    val = TensorBatches(tensors["x_val"], tensors["y_val"], batch_size)
    if summary:
        print(pl.utilities.model_summary.ModelSummary(module, max_depth=-1))
    epochs = effective_epochs(n_epochs)
    key = None
    if reuse.active():  # only while grading: the grader set up a training store
        settings = {"n_epochs": epochs, "batch_size": batch_size, "shuffle_seed": shuffle_seed}
        key = reuse.training_key(module, tensors, settings, device)
        entry = reuse.lookup(key)
        if entry is not None:
            _trainer(name, epochs, None, progress=False)  # the same global settings a Trainer makes
            reuse.restore(module, entry)
            print(
                f"{name}: {epochs} {REUSE_NOTE} on "
                f"identical inputs (key {key[:12]}); its state is reused; {format_metrics(entry.metrics)}",
                flush=True,
            )
            return module.eval()
    trainer = _trainer(name, epochs, log_dir)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning)
        warnings.filterwarnings("ignore", module="pytorch_lightning")
        trainer.fit(module, train, val)
    if key is not None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
        reuse.record(key, module, reuse.capture(module, metrics))
    return module.eval()


def _trainer(
    name: str, n_epochs: int, log_dir: str | os.PathLike[str] | None, progress: bool = True
) -> pl.Trainer:
    quiet_lightning_logs()
    logger: pl.loggers.Logger | bool = False
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        logger = pl.loggers.TensorBoardLogger(str(log_dir), name=name, default_hp_metric=False)
    return pl.Trainer(
        max_epochs=n_epochs,
        accelerator="auto",
        devices=1,
        logger=logger,
        callbacks=[EpochProgress(name)] if progress else [],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        default_root_dir=str(log_dir) if log_dir is not None else None,
    )


def _check_subsets(x: np.ndarray, y: np.ndarray, i_train: np.ndarray, i_val: np.ndarray) -> None:
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}; pass matching inputs and targets")
    for label, index in (("i_train", i_train), ("i_val", i_val)):
        index = np.asarray(index)
        if index.size == 0:
            raise ValueError(f"{label} is empty: the split gave this subset no samples")
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(f"{label} must hold integer indices, got dtype {index.dtype}")
        if index.min() < 0 or index.max() >= len(x):
            raise IndexError(f"{label} holds indices outside 0..{len(x) - 1}")


@torch.no_grad()
def predict(module: torch.nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Apply a (trained) module to ``x`` in evaluation mode, batch by batch.

    Parameters
    ----------
    module
        A Lightning module or plain ``torch.nn.Module``.
    x
        Inputs, first dimension = samples.
    batch_size
        Samples per forward pass.

    Returns
    -------
    numpy.ndarray
        The outputs, one row per sample.
    """
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    try:
        outputs = [
            module(as_tensor(x[s : s + batch_size], device)).cpu() for s in range(0, len(x), batch_size)
        ]
    finally:
        module.train(was_training)
    return torch.cat(outputs).numpy()
