"""The own-model checks: autograder.checks.provenance (kernel) and autograder.checks.ownership (grader).

Honest custom models of many kinds pass; models that pass off another model's work are found. Each case is
a notebook cell of tests/own_model_support.py run beside the lab's real given CnnModel (its cell is read
from the source notebook), trained briefly on a learnable toy task so that trained and fresh states differ.
"""

from __future__ import annotations

import copy
import gc
import linecache

import numpy as np
import pytest
import torch
from e2e_support import source_notebook
from own_model_support import DISGUISED, DISGUISED_SECOND, HONEST, HONEST_SECOND

from autograder.cells import grade_id, read_notebook
from autograder.checks import provenance
from autograder.checks.ownership import NotOwnModel, check_own_model
from autograder.checks.steps import FindingError, run_checks
from labkit.training import Classifier, predict

#: Shorter strips than the lab's 1280 samples keep the test fast; the checks do not depend on the length.
ARGS = ((1, 320), (5,))


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Strips whose class is the frequency of a noisy sine (learnable in a few dozen steps)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    t = np.arange(ARGS[0][1]) / 128
    x = np.sin(2 * np.pi * (1.0 + 2.5 * y[:, None]) * t + rng.uniform(0, 6, (n, 1)))
    return (x + 0.1 * rng.normal(size=x.shape)).astype(np.float32)[:, None, :], y


X_TRAIN, Y_TRAIN = _toy(200, 0)
X_EVAL, Y_EVAL = _toy(150, 1)


def _run_cell(source: str, namespace: dict) -> None:
    """Run ``source`` as a notebook cell (its text kept where ``inspect``, and so ``torch.jit``, finds it)."""
    filename = f"<cell {abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (the test's own catalogue)


def _train(model: torch.nn.Module, steps: int = 40) -> Classifier:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.from_numpy(X_TRAIN), torch.from_numpy(Y_TRAIN)
    model.train()
    for step in range(steps):
        batch = slice((step * 40) % 200, (step * 40) % 200 + 40)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return Classifier(model, 1e-3)


@pytest.fixture(scope="module")
def notebook() -> dict:
    """A namespace as the lab's notebook has it after the given CNN's training cell."""
    cells = {grade_id(c): c.source for c in read_notebook(source_notebook("ecg_rhythm_classification")).cells}
    namespace: dict = {"torch": torch}
    exec(cells["cnn_model"], namespace)  # noqa: S102 (the lab's own given cell)
    torch.manual_seed(1)
    namespace["cnn"] = _train(namespace["CnnModel"](*ARGS), steps=60)
    return namespace


def _graded(notebook: dict, source: str, name: str = "CustomModel1", first: str | None = None) -> dict:
    """Run ``source`` as the student's cell, train the model as the given cell would, and probe it."""
    namespace = {**notebook, "cnn": copy.deepcopy(notebook["cnn"])}
    if first is not None:
        _run_cell(first, namespace)
        namespace["custom1"] = _train(namespace["CustomModel1"](*ARGS))
    _run_cell(source, namespace)
    model_class = namespace[name]
    torch.manual_seed(2)
    model = model_class(*ARGS)
    trained = _train(model)
    other = "CustomModel1" if name == "CustomModel2" else "CustomModel2"
    classes = {"CnnModel": namespace["CnnModel"], **({other: namespace[other]} if other in namespace else {})}
    report = provenance.report(trained, model, model_class, ARGS, X_EVAL, classes, predict)
    given = provenance.signature(provenance.build_fresh(namespace["CnnModel"], ARGS))
    namespace.clear()
    gc.collect()
    return {"report": report, "given": given, "name": name}


def _decide(graded: dict) -> str | None:
    try:
        check_own_model(graded["report"], graded["name"], Y_EVAL, graded["given"])
    except NotOwnModel as finding:
        return str(finding)
    return None


@pytest.mark.parametrize("case", sorted(HONEST))
def test_an_honest_custom_model_passes(notebook, case):
    graded = _graded(notebook, HONEST[case])
    assert _decide(graded) is None
    accuracy = float(np.mean(graded["report"]["predictions"] == Y_EVAL))
    assert accuracy > 0.4, f"{case} did not learn the toy task ({accuracy:.2f}): the case proves nothing"


@pytest.mark.parametrize("case", sorted(HONEST_SECOND))
def test_an_honest_second_model_built_on_the_first_passes(notebook, case):
    graded = _graded(notebook, HONEST_SECOND[case], "CustomModel2", first=HONEST["residual"])
    assert _decide(graded) is None


@pytest.mark.parametrize("case", sorted(DISGUISED))
def test_a_disguised_model_is_found_with_a_message_in_the_students_terms(notebook, case):
    finding = _decide(_graded(notebook, DISGUISED[case]))
    assert finding is not None and finding.startswith("CustomModel1: "), finding
    assert "a custom model must be a new instance of your own class" in finding


@pytest.mark.parametrize("case", sorted(DISGUISED_SECOND))
def test_a_second_model_passing_off_the_first_is_found(notebook, case):
    finding = _decide(_graded(notebook, DISGUISED_SECOND[case], "CustomModel2", first=HONEST["recurrent"]))
    assert finding is not None and "CustomModel1" in finding, finding


def test_the_probe_leaves_the_models_and_the_random_state_as_they_were(notebook):
    namespace = {**notebook}
    _run_cell(HONEST["residual"], namespace)
    model = namespace["CustomModel1"](*ARGS)
    trained = _train(model)
    cnn = notebook["cnn"]
    before = [t.clone() for t in [*cnn.state_dict().values(), *model.state_dict().values()]]
    state = torch.random.get_rng_state()
    classes = {"CnnModel": notebook["CnnModel"]}
    report = provenance.report(trained, model, type(model), ARGS, X_EVAL, classes, predict)
    after = [*cnn.state_dict().values(), *model.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert torch.equal(state, torch.random.get_rng_state())
    assert np.array_equal(report["predictions"], predict(trained, X_EVAL).argmax(axis=1))


def test_a_finding_fails_the_cell_and_is_noted():
    def check_x(results):
        raise NotOwnModel("CustomModel1: it ran the given CnnModel while predicting")

    failure = run_checks([check_x], {"results": {}})
    assert failure is not None and failure.finding and "ran the given CnnModel" in failure.message
    assert issubclass(NotOwnModel, FindingError) and issubclass(NotOwnModel, AssertionError)

    def check_y(results):
        raise AssertionError("accuracy 0.3 is below 0.5")

    assert run_checks([check_y], {"results": {}}) == ("accuracy 0.3 is below 0.5", False)
