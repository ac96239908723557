"""The grader half of the own-model checks: decide whether a graded model is the student's own.

A custom model earns its points only as a fresh instance of the student's class, built by the given
training cell, trained there from its own random initialisation, and predicting with its own layers and
parameters only: it may not call, copy or return another model (the given CNN, the other custom model,
anything trained before). The kernel reports raw facts (:func:`autograder.checks.provenance.report`);
:func:`check_own_model` decides here, in the grading process, and raises :class:`NotOwnModel` with a
message in the student's terms. The grader records that failure as a note of the submission (the grade
table names the student and the finding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograder.checks.steps import FindingError
from labkit.labs.signatures import contains_sequence

#: A tensor correlating at least this much with another model's tensor is a copy of it (honest tensors of
#: independently initialised models correlate by chance: below 0.3 for the smallest tensors compared).
COPY_CORRELATION = 0.9
#: With its parameters reset to a fresh initialisation, a model predicting at least this share of the
#: evaluation strips right does not predict with its own trained parameters (the accuracy bar's floor).
REINITIALISED_ACCURACY = 0.5
#: Share of predictions allowed to change when the other models' parameters change (float round-off).
CHANGED_PREDICTIONS = 0.01


class NotOwnModel(FindingError):  # noqa: N818 (a finding, named as the student reads it)
    """The graded model is not the student's own, trained by the given cell (message for the student)."""


def check_own_model(
    report: Mapping[str, Any], class_name: str, labels: np.ndarray, given: Sequence[Sequence[Any]]
) -> None:
    """Decide whether the graded model is the student's own; raise :class:`NotOwnModel` when it is not.

    Parameters
    ----------
    report
        What :func:`autograder.checks.provenance.report` measured in the kernel.
    class_name
        The student's class (``CustomModel1``).
    labels
        The evaluation strips' labels (class indices), never seen by the kernel.
    given
        The architecture signature of a fresh given CNN, as the probe reported it.
    """
    for problem in (_trained(report, class_name), _fresh(report["fresh"], class_name, given)):
        if problem:
            raise NotOwnModel(f"{class_name}: {problem}; {RULE}")
    problem = _predictions(report, class_name, np.asarray(labels))
    if problem:
        raise NotOwnModel(f"{class_name}: {problem}; {RULE}")


#: The rule, as the lab states it, appended to every finding.
RULE = (
    "a custom model must be a new instance of your own class, trained from its own initialisation by the "
    "given training cell, predicting with its own layers and parameters only"
)


def _trained(report: Mapping[str, Any], class_name: str) -> str | None:
    """Return what is wrong with the trained object itself (None: nothing)."""
    if not report["is_class"]:
        return f"the training cell trained a {report['class']} object, not a new {class_name}"
    if not report["is_built"]:
        return "the model evaluated is not the one the training cell built"
    if report["shared_layers"] or report["shared_storage"]:
        others = _names({*report["shared_layers"], *report["shared_storage"]})
        return f"it shares layers or parameters with {others}"
    copied = _copies(report["trained_similar"])
    if copied:
        return f"its trained parameters are a copy of {copied}"
    return None


def _fresh(fresh: Mapping[str, Any], class_name: str, given: Sequence[Sequence[Any]]) -> str | None:
    """Return what is wrong with a new instance of the class (None: nothing)."""
    if not fresh["is_class"]:
        return (
            f"{class_name}(input_shape, output_shape) gave a {fresh['class']} object, not a new {class_name}"
        )
    if not fresh["is_new"] or fresh["shared_storage"]:
        others = _names(set(fresh["shared_storage"])) if fresh["shared_storage"] else "an existing model"
        return f"a new {class_name} reuses the layers or parameters of {others}"
    copied = _copies(fresh["similar"])
    if copied:
        return f"a new {class_name} already holds the trained parameters of {copied}"
    if contains_sequence(fresh["signature"], given):
        return "its layers contain the given CnnModel's whole layer sequence"
    return None


def _predictions(report: Mapping[str, Any], class_name: str, labels: np.ndarray) -> str | None:
    """Return what its predictions reveal (None: nothing)."""
    if report["modules_run"]:
        return f"it ran {_names(set(report['modules_run']))} while predicting"
    if report["changed_while_predicting"]:
        return "it changed its own parameters while predicting"
    step = int(report["subset_step"])
    graded = np.asarray(report["predictions"])[::step]
    perturbed = np.asarray(report["others_perturbed"])
    if perturbed.shape != graded.shape or np.mean(perturbed != graded) > CHANGED_PREDICTIONS:
        return "its predictions changed when the parameters of the other models in the notebook changed"
    reset = report["reinitialised"]
    if reset is not None:
        accuracy = float(np.mean(np.asarray(reset) == labels[::step]))
        if accuracy >= REINITIALISED_ACCURACY:
            return (
                f"with its parameters reset to a fresh initialisation it still classifies {accuracy:.2f} of "
                "the held-out strips correctly, so its predictions do not come from its trained parameters"
            )
    return None


def _copies(similar: Sequence[Mapping[str, Any]]) -> str:
    """Return the copied tensors, named for the student ('' when none).

    A tensor is a copy when it correlates with another model's tensor at least :data:`COPY_CORRELATION`
    and more than with the fresh initialisation it would share with that model (a model that seeds its
    own ``__init__`` starts like another one built from the same seed; that is not a copy).
    """
    found = []
    for row in similar:
        baseline = row["initial_correlation"]
        if row["correlation"] >= COPY_CORRELATION and (baseline is None or row["correlation"] > baseline):
            found.append(f"{_name(row['other'])} ('{row['tensor']}' is '{row['other_tensor']}')")
    return ", ".join(found[:3])


def _name(label: str) -> str:
    return "the given CnnModel" if label == "CnnModel" else label


def _names(labels: set[str]) -> str:
    return ", ".join(_name(label) for label in sorted(labels))
