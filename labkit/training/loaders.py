"""Mini-batches from tensors that already sit on the training device.

The original labs wrapped arrays in ``TensorDataset`` + ``DataLoader``: every epoch then indexes each sample
in Python and stacks them again. Here a batch is one slice of a permuted index: no per-sample cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch


def as_tensor(array: np.ndarray | torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """Return a float32 tensor on ``device`` (no copy when it already is one)."""
    tensor = torch.as_tensor(array)
    if not torch.is_floating_point(tensor) or tensor.dtype != torch.float32:
        tensor = tensor.float()
    return tensor.to(device)


class TensorBatches:
    """Iterate over ``(x, y)`` mini-batches of two tensors, optionally reshuffled every epoch.

    Parameters
    ----------
    x, y
        Inputs and targets, same first dimension, already on the training device.
    batch_size
        Samples per batch (the last batch may be smaller).
    shuffle
        Draw a new permutation at each iteration (epoch).
    seed
        Seed of the permutation generator (reproducible shuffles).
    """

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 100, shuffle: bool = False, seed: int = 0
    ) -> None:
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}; they must match")
        if x.shape[0] == 0:
            raise ValueError("cannot train or evaluate on an empty subset (0 samples); check the split")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator(device="cpu").manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(self.x.shape[0] / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.x.shape[0]
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.x.device)
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                yield self.x[index], self.y[index]
        else:
            for start in range(0, n, self.batch_size):
                yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
