"""The kernel half of the own-model checks: what a trained model is made of and what its predictions use.

The ECG lab grades models of the student's own design (`CustomModel1`, `CustomModel2`): a custom model is a
fresh instance of the student's class, built by the given training cell and trained there from its own
random initialisation, predicting with its own layers and parameters only. :func:`report` measures, in
the student's kernel, the raw facts that rule is decided on in the grading process
(:mod:`autograder.checks.ownership`); nothing here compares with a threshold or decides.

It measures, in this order (the instructor's code first, the submission's code last):

1. the trained object: its exact class, whether it is the object the training cell built, which layers and
   tensor storage it shares with the other models alive in the kernel, and how strongly each of its
   tensors correlates with a tensor of another model (and with its own fresh initialisation);
2. a fresh instance built here from the student's class: whether it is a new object with new layers and
   new tensors, its correlation with the other models' trained tensors (and with their fresh
   initialisation, which a model seeding its own ``__init__`` shares), its architecture signature;
3. its predictions on the evaluation strips, with the modules outside it that ran while it predicted;
   on every fifth strip, the same predictions again with the parameters of every other model replaced by
   noise, and with its own parameters reset to the fresh instance's (both put back afterwards).

The other models are the ``torch.nn.Module`` objects alive in the kernel (found through the garbage
collector) that neither belong to the graded model nor wrap it, grouped by their outermost module.
"""

from __future__ import annotations

import gc
import hashlib
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

#: Seed of the fresh instances built by the probe (the same for every class: a model that seeds its own
#: ``__init__`` gets its own seed anyway, and two classes sharing a layer then start alike).
FRESH_SEED = 20261207
#: Every this-many-th evaluation strip is predicted again under the two changes.
SUBSET_STEP = 5
#: Tensors with fewer elements are not compared (a bias of 5 numbers correlates by chance).
MIN_ELEMENTS = 16
#: Correlations below this are not reported (only the grader's threshold, higher, decides).
REPORTED = 0.5


def _torch():
    import torch

    return torch


def _module_class():
    return _torch().nn.Module


def named_modules(module: Any) -> list[tuple[str, Any]]:
    """Return ``module``'s named submodules through ``torch.nn.Module``'s own method (not an override)."""
    return list(_module_class().named_modules(module))


def named_tensors(module: Any) -> list[tuple[str, Any]]:
    """Return the parameters and floating-point buffers of ``module`` (base-class methods, no override)."""
    base = _module_class()
    params = list(base.named_parameters(module, remove_duplicate=True))
    buffers = [(n, b) for n, b in base.named_buffers(module, remove_duplicate=True) if b.is_floating_point()]
    return params + buffers


def _storage(tensor: Any) -> int:
    return int(tensor.untyped_storage().data_ptr())


def _network(root: Any) -> Any:
    """Return the network a wrapper (a Lightning module with ``model``) trains, else ``root`` itself."""
    inner = getattr(root, "model", None)
    return inner if isinstance(inner, _module_class()) else root


def _label(root: Any) -> str:
    """Name an outer module as a student would: its class, or the class of the network a wrapper trains."""
    return type(_network(root)).__name__


def other_models(model: Any) -> dict[int, tuple[str, Any]]:
    """Return id -> (label, outermost module) of every model alive in the kernel apart from ``model``.

    A module that belongs to ``model`` or wraps it (the Lightning module training it) is not another model.
    """
    base = _module_class()
    gc.collect()
    with warnings.catch_warnings():  # isinstance() on some lazy module attributes warns of deprecations
        warnings.simplefilter("ignore")
        alive = [obj for obj in gc.get_objects() if issubclass(type(obj), base)]  # not weakref proxies
    children = {id(child) for obj in alive for child in base.children(obj)}
    own = {id(m) for _, m in named_modules(model)}
    own_storage = {_storage(t) for _, t in named_tensors(model)}
    roots = {}
    for obj in alive:
        if id(obj) in children or id(obj) in own:
            continue
        if id(model) in {id(m) for _, m in named_modules(obj)}:
            continue  # a wrapper of the graded model (its training module)
        tensors = named_tensors(obj)
        if tensors and all(_storage(t) in own_storage for _, t in tensors) and not _shares_module(obj, model):
            continue  # a shadow of the graded model's own parameters (torch.jit.script's original module)
        roots[id(obj)] = (_label(obj), obj)
    return roots


def _standardised(tensor: Any) -> Any:
    if tensor.numel() < MIN_ELEMENTS:
        return None
    values = tensor.detach().to("cpu", dtype=_torch().float64).flatten()
    spread = values.std()
    if not bool(spread > 0):
        return None
    return (values - values.mean()) / spread


def _correlation(a: Any, b: Any) -> float:
    return abs(float((a * b).mean()))


def _candidates(
    roots: Mapping[int, tuple[str, Any]], skip: set[int]
) -> dict[int, list[tuple[str, str, Any]]]:
    """Return numel -> [(label, tensor name, standardised values)] of the other models' tensors."""
    found: dict[int, list[tuple[str, str, Any]]] = {}
    for label, root in roots.values():
        for name, tensor in named_tensors(_network(root)):
            values = None if id(tensor) in skip else _standardised(tensor)
            if values is not None:
                found.setdefault(values.numel(), []).append((label, name, values))
    return found


def similar_tensors(
    tensors: list[tuple[str, Any]],
    candidates: Mapping[int, list[tuple[str, str, Any]]],
    reference: Callable[[str, str, str], Any],
) -> list[dict[str, Any]]:
    """Return, per tensor of ``tensors``, its best-correlated tensor of another model (when >= REPORTED).

    Parameters
    ----------
    tensors
        (name, tensor) of the graded model.
    candidates
        The other models' tensors by number of elements (:func:`_candidates`).
    reference
        ``reference(own name, other label, other name)`` -> standardised values the similarity is compared
        with (the same tensor's fresh initialisation), or None.
    """
    found = []
    for name, tensor in tensors:
        values = _standardised(tensor)
        if values is None:
            continue
        best = max(
            ((_correlation(values, other), label, other_name) for label, other_name, other in
             candidates.get(values.numel(), [])),
            default=None,
            key=lambda item: item[0],
        )  # fmt: skip
        if best is None or best[0] < REPORTED:
            continue
        baseline = reference(name, best[1], best[2])
        found.append(
            {
                "tensor": name,
                "other": best[1],
                "other_tensor": best[2],
                "correlation": round(best[0], 4),
                "initial_correlation": None if baseline is None else round(_correlation(values, baseline), 4),
            }
        )
    return found


def _digest(tensors: list[tuple[str, Any]]) -> str:
    digest = hashlib.sha256()
    for name, tensor in tensors:
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def signature(model: Any) -> list[list[Any]]:
    """Return the architecture signature of ``model`` as plain lists (see ``architecture_signature``)."""
    base = _module_class()
    rows = []
    for _, module in named_modules(model):
        shapes = [list(p.shape) for p in base.parameters(module, recurse=False)]
        if shapes:
            rows.append([type(module).__name__, shapes])
    return rows


def build_fresh(model_class: Any, args: tuple) -> Any:
    """Build ``model_class(*args)`` under the probe's seed, leaving the kernel's random state unchanged."""
    torch = _torch()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(FRESH_SEED)
        return model_class(*args)


@contextmanager
def _modules_run(own: set[int]) -> Iterator[list[Any]]:
    """Record the modules outside ``own`` that run a forward pass inside the block."""
    ran: list[Any] = []

    def hook(module: Any, _inputs: Any) -> None:
        if id(module) not in own:
            ran.append(module)

    handle = _torch().nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        yield ran
    finally:
        handle.remove()


@contextmanager
def _replaced(tensors: list[Any], values: list[Any]) -> Iterator[None]:
    """Copy ``values`` into ``tensors`` in place for the block, then put the originals back."""
    torch = _torch()
    saved = [t.detach().clone() for t in tensors]
    try:
        with torch.no_grad():
            for tensor, value in zip(tensors, values, strict=True):
                tensor.copy_(value)
        yield
    finally:
        with torch.no_grad():
            for tensor, value in zip(tensors, saved, strict=True):
                tensor.copy_(value)


def _noise_like(tensors: list[Any]) -> list[Any]:
    torch = _torch()
    generator = torch.Generator().manual_seed(FRESH_SEED)
    noise = []
    for t in tensors:
        scale = float(t.detach().float().std()) if t.numel() > 1 else 1.0
        values = torch.randn(t.shape, generator=generator, dtype=torch.float32) * max(scale, 0.1)
        noise.append(values.to(t.device, t.dtype))
    return noise


def _argmax(predict: Callable[[Any, Any], Any], module: Any, x: Any) -> Any:
    return predict(module, x).argmax(axis=1)


def report(
    trained: Any,
    built: Any,
    model_class: Any,
    args: tuple,
    x: Any,
    classes: Mapping[str, Any],
    predict: Callable[[Any, Any], Any],
) -> dict[str, Any]:
    """Measure what the graded model is made of and what its predictions use; return plain data.

    Parameters
    ----------
    trained
        What the training cell returned (the Lightning module whose ``model`` was trained).
    built
        The object the training cell built with ``model_class(*args)`` (its global ``model``).
    model_class
        The student's class (``CustomModel1``).
    args
        Its constructor's arguments (``(input_shape, output_shape)``).
    x
        The evaluation strips, scaled as in training.
    classes
        Class name -> class of the other models whose fresh initialisation a similarity is compared with
        (the given CNN's and the other custom model's classes).
    predict
        ``predict(module, x)`` -> scores (``labkit.training.predict``).
    """
    net = getattr(trained, "model", trained)
    own_tensors = named_tensors(net)
    own_ids = {id(t) for _, t in own_tensors}
    roots = other_models(net)
    candidates = _candidates(roots, own_ids)
    pre_modules = {id(m) for _, root in roots.values() for _, m in named_modules(root)}
    pre_modules |= {id(m) for _, m in named_modules(net)}
    other_storage = {_storage(t): label for label, root in roots.values() for _, t in named_tensors(root)}
    out: dict[str, Any] = {
        "class": type(net).__name__,
        "is_class": type(net) is model_class,
        "is_built": net is built,
        "shared_layers": sorted({label for label, root in roots.values() if _shares_module(root, net)}),
        "shared_storage": sorted(
            {other_storage[_storage(t)] for _, t in own_tensors if _storage(t) in other_storage}
        ),
    }
    # the submission's code runs from here on: fresh instances, then predictions
    fresh = build_fresh(model_class, args)
    inits = {name: build_fresh(cls, args) for name, cls in classes.items()}
    fresh_tensors = named_tensors(fresh)
    fresh_values = dict(fresh_tensors)
    inits_values = {name: dict(named_tensors(model)) for name, model in inits.items()}
    out["trained_similar"] = similar_tensors(
        own_tensors, candidates, lambda own, _label, _other: _fresh_values(fresh_values, own)
    )
    out["fresh"] = {
        "class": type(fresh).__name__,
        "is_class": type(fresh) is model_class,
        "is_new": not ({id(m) for _, m in named_modules(fresh)} & pre_modules),
        "shared_storage": _fresh_shared(fresh_tensors, own_tensors, other_storage, type(net).__name__),
        "similar": similar_tensors(
            fresh_tensors,
            candidates,
            lambda _own, label, other: _fresh_values(inits_values.get(label, {}), other),
        ),
        "signature": signature(fresh),
    }
    out.update(_predictions(trained, own_tensors, roots, fresh_values, x, predict))
    return out


def _fresh_shared(
    fresh: list[tuple[str, Any]], own: list[tuple[str, Any]], other_storage: Mapping[int, str], own_label: str
) -> list[str]:
    """Return the models whose tensor storage a fresh instance shares (the trained model's own included)."""
    shared = {other_storage[_storage(t)] for _, t in fresh if _storage(t) in other_storage}
    if {_storage(t) for _, t in fresh} & {_storage(t) for _, t in own}:
        shared.add(own_label)
    return sorted(shared)


def _shares_module(root: Any, net: Any) -> bool:
    theirs = {id(m) for _, m in named_modules(root)}
    return any(id(m) in theirs for _, m in named_modules(net))


def _fresh_values(values: Mapping[str, Any], name: str) -> Any:
    tensor = values.get(name)
    return None if tensor is None else _standardised(tensor)


def _predictions(
    trained: Any,
    own_tensors: list[tuple[str, Any]],
    roots: Mapping[int, tuple[str, Any]],
    fresh_values: Mapping[str, Any],
    x: Any,
    predict: Callable[[Any, Any], Any],
) -> dict[str, Any]:
    """Predict the strips as graded, then every fifth strip under two changes (each undone afterwards).

    The changes: the other models' parameters replaced by noise; the model's own reset to a fresh instance's.
    """
    own = {id(m) for _, m in named_modules(trained)}
    labels = {id(m): label for label, root in roots.values() for _, m in named_modules(root)}
    before = _digest(own_tensors)
    with _modules_run(own) as ran:
        predictions = _argmax(predict, trained, x)
    subset = x[::SUBSET_STEP]
    own_storage = {_storage(t) for _, t in own_tensors}
    others = [
        t for _, root in roots.values() for _, t in named_tensors(root) if _storage(t) not in own_storage
    ]
    with _replaced(others, _noise_like(others)):
        perturbed = _argmax(predict, trained, subset)
    reinitialised = None
    if all(name in fresh_values and fresh_values[name].shape == t.shape for name, t in own_tensors):
        with _replaced([t for _, t in own_tensors], [fresh_values[name] for name, _ in own_tensors]):
            reinitialised = _argmax(predict, trained, subset)
    return {
        "predictions": predictions,
        "modules_run": sorted(
            {labels.get(id(m), f"a {type(m).__name__} built while predicting") for m in ran}
        ),
        "changed_while_predicting": _digest(own_tensors) != before,
        "others_perturbed": perturbed,
        "reinitialised": reinitialised,
        "subset_step": SUBSET_STEP,
    }
