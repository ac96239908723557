"""Lightning modules that say how a model is trained: the loss, the metrics, the optimiser."""

from __future__ import annotations

import pytorch_lightning as pl
import torch


def _input_shape(model: torch.nn.Module) -> tuple[int, ...]:
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise AttributeError(
            f"{type(model).__name__} has no `input_shape` attribute; set `self.input_shape = input_shape` "
            "in its __init__ (the training code uses it to build an example input)"
        )
    return tuple(int(s) for s in shape)


#: The learning-rate schedules :class:`SupervisedModule` knows (``None``: constant).
SCHEDULES: tuple[str | None, ...] = (None, "cosine")


class SupervisedModule(pl.LightningModule):
    """Wrap a ``torch.nn.Module`` for supervised training with Adam.

    Subclasses define :meth:`compute_metrics` and name the metric that is the loss in ``loss_name``;
    metrics are logged per epoch as ``<subset>_<name>`` (``train_loss``, ``val_acc``, ``val_mae``, ...), and
    the learning rate each epoch trains with as ``lr``. A ``train_`` metric is the average over the epoch's
    mini-batches, taken while the weights change and with dropout active; a model evaluated after training
    (``evaluate_classifier``, ``predict``: evaluation mode, final weights) scores differently on the same
    strips.

    Parameters
    ----------
    model
        The network; it must expose ``input_shape`` (without the batch dimension).
    learning_rate
        Adam's learning rate (its starting value when there is a ``schedule``).
    schedule
        ``None``: the learning rate stays constant. ``"cosine"``: it falls from ``learning_rate`` to 0 along
        half a cosine over the run's epochs (:class:`torch.optim.lr_scheduler.CosineAnnealingLR`, stepped
        once per epoch), so the last epochs take small steps and the final weights depend less on where the
        last few mini-batches happened to push them.
    """

    loss_name = "loss"

    def __init__(
        self, model: torch.nn.Module, learning_rate: float = 1e-3, schedule: str | None = None
    ) -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {list(SCHEDULES)}, got {schedule!r}")
        self.save_hyperparameters(ignore=["model"])
        self.model = model
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.example_input_array = torch.zeros((1, *_input_shape(model)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the model."""
        return self.model(x)

    def configure_optimizers(self) -> torch.optim.Optimizer | dict:
        """Adam over every parameter, with the learning-rate schedule when one was chosen."""
        optimizer = torch.optim.Adam(self.parameters(), lr=self.learning_rate)
        if self.schedule is None:
            return optimizer
        epochs = max(1, int(self.trainer.max_epochs))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    def on_train_epoch_start(self) -> None:
        """Log the learning rate of this epoch as ``lr`` (constant, or where the schedule has brought it)."""
        self.log("lr", float(self.trainer.optimizers[0].param_groups[0]["lr"]), on_step=False, on_epoch=True)

    def compute_metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return the metrics of a batch by name; ``loss_name`` names the one to minimise."""
        raise NotImplementedError

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], subset: str) -> torch.Tensor:
        x, y = batch
        metrics = self.compute_metrics(self.model(x), y)
        self.log_dict(
            {f"{subset}_{name}": value for name, value in metrics.items()},
            on_step=False,
            on_epoch=True,
            batch_size=x.shape[0],
        )
        return metrics[self.loss_name]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        """One optimisation step."""
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """Accumulate validation metrics."""
        self._step(batch, "val")


class Classifier(SupervisedModule):
    """Multi-class classification from one-hot targets: cross-entropy loss and accuracy."""

    def compute_metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy against the one-hot targets, and accuracy of the arg-max."""
        loss = torch.nn.functional.cross_entropy(outputs, targets)
        acc = (outputs.argmax(dim=1) == targets.argmax(dim=1)).float().mean()
        return {"loss": loss, "acc": acc}


class Regressor(SupervisedModule):
    """Regression: mean squared error loss, mean absolute error as a metric."""

    loss_name = "mse"

    def compute_metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """MSE (the loss) and MAE."""
        return {
            "mse": torch.nn.functional.mse_loss(outputs, targets),
            "mae": torch.nn.functional.l1_loss(outputs, targets),
        }
