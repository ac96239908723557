"""Training plumbing shared by both labs: Lightning modules, tensor batches, training and evaluation."""

from labkit.training.evaluation import accuracy, evaluate_classifier, evaluate_regressor
from labkit.training.loaders import TensorBatches, as_tensor
from labkit.training.loop import effective_epochs, predict, train_model, training_device
from labkit.training.modules import Classifier, Regressor, SupervisedModule

__all__ = [
    "Classifier",
    "Regressor",
    "SupervisedModule",
    "TensorBatches",
    "accuracy",
    "as_tensor",
    "effective_epochs",
    "evaluate_classifier",
    "evaluate_regressor",
    "predict",
    "train_model",
    "training_device",
]
