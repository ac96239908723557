"""labkit.training: tensor batches, epoch cap, training determinism, prediction, evaluation, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from labkit.reproducibility import seed_everything
from labkit.training import (
    Classifier,
    Regressor,
    TensorBatches,
    accuracy,
    effective_epochs,
    evaluate_classifier,
    evaluate_regressor,
    predict,
    train_model,
)


class Tiny(torch.nn.Module):
    """A small classifier of (1, 16) inputs."""

    def __init__(self, n_out: int = 3) -> None:
        super().__init__()
        self.input_shape = (1, 16)
        self.layers = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def _data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, 16)).astype(np.float32)
    x[np.arange(n), 0, labels] += 3.0  # learnable: the class is where the bump is
    return x, np.eye(3, dtype=np.float32)[labels]


def test_batches_cover_every_sample_once_and_last_is_short():
    x = torch.arange(10.0)[:, None]
    batches = TensorBatches(x, x, batch_size=4, shuffle=True, seed=1)
    assert len(batches) == 3
    seen = torch.cat([bx for bx, _ in batches]).flatten()
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    assert sorted(seen.tolist()) == list(range(10))
    assert all(torch.equal(bx, by) for bx, by in batches), "inputs and targets must stay paired"


def test_batches_shuffle_is_seeded_and_changes_between_epochs():
    x = torch.arange(20.0)[:, None]
    first = [torch.cat([b for b, _ in TensorBatches(x, x, 5, shuffle=True, seed=7)]) for _ in range(2)]
    assert torch.equal(first[0], first[1])
    batches = TensorBatches(x, x, 5, shuffle=True, seed=7)
    epoch1, epoch2 = (torch.cat([b for b, _ in batches]) for _ in range(2))
    assert not torch.equal(epoch1, epoch2)
    ordered = torch.cat([b for b, _ in TensorBatches(x, x, 5)])
    assert torch.equal(ordered, x)


@pytest.mark.parametrize(
    ("x", "y", "size", "message"),
    [
        (torch.zeros(3, 1), torch.zeros(4, 1), 2, "x has 3 samples but y has 4"),
        (torch.zeros(0, 1), torch.zeros(0, 1), 2, "empty subset"),
        (torch.zeros(3, 1), torch.zeros(3, 1), 0, "batch_size must be at least 1"),
    ],
)
def test_batches_reject_bad_input(x, y, size, message):
    with pytest.raises(ValueError, match=message):
        TensorBatches(x, y, size)


def test_epoch_cap_lowers_never_raises_the_epochs(monkeypatch):
    """The cap's parsing is tested in test_paths_and_runtime; here what the training loop makes of it."""
    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    assert effective_epochs(50) == 50
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "2")
    assert effective_epochs(50) == 2 and effective_epochs(1) == 1
    with pytest.raises(ValueError, match="n_epochs must be at least 1"):
        effective_epochs(0)


def test_module_needs_input_shape():
    with pytest.raises(AttributeError, match="input_shape"):
        Classifier(torch.nn.Linear(3, 2))


def test_train_model_rejects_bad_indices():
    x, y = _data()
    module = Classifier(Tiny(), 1e-2)
    with pytest.raises(ValueError, match="i_val is empty"):
        train_model(module, x, y, np.arange(10), np.array([], dtype=int), n_epochs=1, name="t", summary=False)
    with pytest.raises(IndexError, match="outside 0..59"):
        train_model(module, x, y, np.arange(10), np.array([60]), n_epochs=1, name="t", summary=False)
    with pytest.raises(TypeError, match="integer indices"):
        train_model(module, x, y, np.arange(10.0), np.arange(3), n_epochs=1, name="t", summary=False)
    with pytest.raises(ValueError, match="x has 60 samples but y has 59"):
        train_model(module, x, y[:-1], np.arange(10), np.arange(3), n_epochs=1, name="t", summary=False)


def _train(seed: int, n_epochs: int = 3, log_dir=None, schedule: str | None = None) -> Classifier:
    seed_everything(seed)
    x, y = _data()
    module = Classifier(Tiny(), 5e-2, schedule)
    return train_model(
        module,
        x,
        y,
        np.arange(40),
        np.arange(40, 60),
        n_epochs=n_epochs,
        name="tiny",
        batch_size=8,
        log_dir=log_dir,
        summary=False,
    )


def test_training_learns_is_deterministic_and_logs(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    x, y = _data()
    a, b = _train(0, log_dir=tmp_path), _train(0)
    assert not a.training, "train_model returns the module in evaluation mode"
    assert np.array_equal(predict(a, x), predict(b, x)), "same seed, different model"
    assert not np.array_equal(predict(a, x), predict(_train(1), x))
    matrices = evaluate_classifier(a, x, y, {"train": np.arange(40), "val": np.arange(40, 60)})
    assert accuracy(matrices["train"]) > 0.8
    assert any((tmp_path / "tiny").rglob("events.out.tfevents.*")), "no TensorBoard log written"


def test_cosine_schedule_ends_at_zero_and_constant_stays(monkeypatch):
    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    rates = {}
    for schedule in (None, "cosine"):
        module = _train(0, n_epochs=4, schedule=schedule)
        rates[schedule] = module.trainer.optimizers[0].param_groups[0]["lr"]
    assert rates[None] == pytest.approx(5e-2)
    assert rates["cosine"] == pytest.approx(0.0, abs=1e-12), "the cosine schedule did not reach 0"
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "2")  # capped: the half cosine spans the epochs really run
    assert _train(0, n_epochs=50, schedule="cosine").trainer.optimizers[0].param_groups[0]["lr"] < 1e-12
    with pytest.raises(ValueError, match="schedule must be one of"):
        Classifier(Tiny(), 1e-3, "step")


def test_tensorboard_logs_the_learning_rate_of_every_epoch(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    _train(0, n_epochs=4, log_dir=tmp_path, schedule="cosine")
    (events,) = (tmp_path / "tiny").rglob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(events.parent))
    accumulator.Reload()
    rates = [event.value for event in accumulator.Scalars("lr")]
    # half a cosine from 5e-2 over 4 epochs, logged as each epoch starts: 5e-2 * (1 + cos(pi * k / 4)) / 2
    assert rates == pytest.approx([5e-2 * (1 + np.cos(np.pi * k / 4)) / 2 for k in range(4)], rel=1e-6)


def test_training_honours_the_epoch_cap(monkeypatch):
    monkeypatch.setenv("LABKIT_MAX_EPOCHS", "1")
    module = _train(0, n_epochs=50)
    assert module.trainer.current_epoch == 1


def test_predict_batches_and_restores_mode():
    model = Tiny().train()
    x = np.random.default_rng(0).normal(size=(25, 1, 16)).astype(np.float32)
    out = predict(model, x, batch_size=7)
    assert out.shape == (25, 3)
    assert model.training
    with torch.no_grad():
        assert np.allclose(out, model.eval()(torch.as_tensor(x)).numpy(), atol=1e-6)


def test_evaluate_classifier_and_accuracy():
    class Fixed(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0, :3]

    model = torch.nn.Sequential(Fixed(), torch.nn.Identity())
    model.register_parameter("dummy", torch.nn.Parameter(torch.zeros(1)))  # predict reads the device from it
    x = np.zeros((4, 1, 3), np.float32)
    x[[0, 1, 2, 3], 0, [0, 1, 2, 2]] = 1  # predictions 0, 1, 2, 2
    y = np.eye(3)[[0, 1, 2, 0]]
    matrices = evaluate_classifier(model, x, y, {"all": np.arange(4), "first": np.array([0])})
    assert matrices["all"].tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert matrices["first"].shape == (3, 3), "every class gets a row, even when absent from a subset"
    assert accuracy(matrices["all"]) == 0.75


def test_evaluate_regressor_one_row_per_subset():
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.zero_()
    x = np.arange(4, dtype=np.float32)[:, None]
    table = evaluate_regressor(
        model,
        x,
        2 * x,
        {"a": np.arange(2), "b": np.arange(2, 4)},
        lambda t, p: {"mae": float(np.abs(t - p).mean())},
    )
    assert table["subset"].tolist() == ["a", "b"]
    assert table["mae"].tolist() == [0.0, 0.0]
    assert Regressor.loss_name == "mse"


def test_lightning_is_quiet_while_training_and_importing_changes_no_logger(capfd):
    import logging
    import subprocess
    import sys

    from labkit.training.loop import LIGHTNING_LOGGERS

    probe = (
        "import logging, pytorch_lightning\n"
        "before = logging.getLogger('pytorch_lightning').level\n"
        "import labkit.training\n"
        "print(before == logging.getLogger('pytorch_lightning').level)"
    )
    same = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert same.stdout.strip() == "True", "importing labkit.training changed Lightning's logger level"
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    _train(0, n_epochs=1)
    assert all(logging.getLogger(name).level == logging.ERROR for name in LIGHTNING_LOGGERS)
    assert "GPU available" not in "".join(capfd.readouterr())


def test_confusion_matrix_counts_as_scikit_learn() -> None:
    import sklearn.metrics

    from labkit.training.evaluation import confusion_matrix

    rng = np.random.default_rng(5)
    references, predictions = rng.integers(0, 5, 400), rng.integers(0, 5, 400)
    predictions[:50] = 4  # a class never referenced still gets its column
    expected = sklearn.metrics.confusion_matrix(references, predictions, labels=np.arange(6))
    assert np.array_equal(confusion_matrix(references, predictions, 6), expected)
