# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (course)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ECG rhythm classification
#
# In this lab you train convolutional neural networks that recognise the cardiac rhythm of a 10-second,
# single-lead ECG strip. Five rhythms are in the data set:
#
# - atrial fibrillation,
# - atrial flutter,
# - normal sinus rhythm,
# - sinus bradycardia (a slow sinus rhythm),
# - sinus tachycardia (a fast sinus rhythm).
#
# The strips are lead II, in millivolts, sampled at 128 Hz. They follow the layout of a subset of the
# PhysioNet 12-lead ECG database for arrhythmia study
# (<https://physionet.org/content/ecg-arrhythmia/1.0.0/>), with 1500 strips per rhythm. The course ships a
# synthetic stand-in with the same layout, so the lab runs offline; the loading cell prints which one you
# have (`labkit data prepare ecg` converts the real records).
#
# The first cell imports what the lab needs, seeds every random number generator and finds the data and
# log folders. With the seeds, re-running the notebook on the same machine, with the same number of CPU
# threads (or the same GPU), gives the same numbers, also when it is graded. Another thread count, another
# CPU or a GPU adds and multiplies in another order, so the trained models and their accuracies differ
# slightly (by about a percentage point); the thresholds of the graded tests leave room for that.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import IPython.display
import numpy as np
import sklearn.model_selection
import torch

import labkit.notebook
import labkit.tensorboard
from labkit.datasets.ecg import load_ecg, load_ecg_provenance
from labkit.labs.ecg import (
    accuracy_table,
    architecture_signature,
    build_summary,
    check_accuracy,
    check_own_model,
    count_parameters,
    count_table,
    data_origin,
    encoded_preview,
    stratification_errors,
)
from labkit.plots.ecg import plot_confusion_matrices, plot_examples
from labkit.training import Classifier, evaluate_classifier, train_model

LAB = labkit.notebook.setup_lab("ecg_rhythm_classification", seed=42)

# %% [markdown]
# ## 1 The data
#
# `raw_signals` has one row per strip, shaped (strips, leads, samples), in millivolts; `rhythms` holds the
# label of every strip and `fs` the sampling frequency. The loading cell also prints where the strips come
# from and their label noise: the share of labels that are wrong on purpose (swapped between rhythms that
# are easy to confuse, as happens with real annotations), which no model can learn to get right.

# %% nbgrader={"grade": false, "grade_id": "load", "locked": true, "schema_version": 3, "solution": false, "task": false}
raw_signals, rhythms, fs = load_ecg()
duration = raw_signals.shape[-1] / fs
print(f"{len(rhythms)} strips, shape {raw_signals.shape}, {duration:.0f} s at {fs} Hz")
print(data_origin(load_ecg_provenance()))
IPython.display.display(count_table(rhythms))

# %% [markdown]
# One strip of each rhythm (the choice of strips is random, but seeded). With the interactive figures
# you can zoom on a few beats: look at the intervals between R peaks, at what precedes each QRS complex,
# and at the baseline between beats.

# %% nbgrader={"grade": false, "grade_id": "examples", "locked": true, "schema_version": 3, "solution": false, "task": false}
figure = plot_examples(raw_signals, rhythms, fs, seed=LAB.seed)

# %% [markdown]
# ### Question 1 (2 points)
#
# Looking at the examples, how do the five rhythms differ? Think of the heart rate, the regularity of the
# beats, and the activity of the atria (P waves or other waves between the QRS complexes).

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_rhythms", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# - **Normal sinus rhythm**: regular beats at roughly 60-100 bpm (6 to 17 beats in 10 s); every QRS
#   complex is preceded by a P wave at a constant PR interval, and the baseline is flat between beats.
# - **Sinus bradycardia**: the same P-QRS-T sequence, regular, but slow (below 60 bpm, fewer than
#   10 beats per strip, long flat stretches between T and the next P).
# - **Sinus tachycardia**: again P-QRS-T and regular, but fast (above 100 bpm); the T wave of one beat
#   comes close to the P wave of the next.
# - **Atrial fibrillation**: the RR intervals are irregularly irregular (no two successive intervals are
#   alike), there is no P wave, and the baseline shows small, fast, irregular fibrillatory (f) waves.
# - **Atrial flutter**: no P wave either; instead a regular sawtooth of flutter (F) waves at about
#   250-350 per minute, best seen between QRS complexes. The ventricles follow every 2nd to 4th F wave,
#   so the rhythm is regular (fixed block) or irregular in steps of one F cycle (variable block).
#
# Rate separates the three sinus rhythms (their boundaries at 60 and 100 bpm are a convention, so strips
# near them are ambiguous); regularity and the atrial waves separate fibrillation from flutter and from the
# sinus rhythms.
# ### END SOLUTION

# %% [markdown]
# ## 2 Training, validation and test subsets
#
# We split the strips into a training set (to fit the weights), a validation set (to watch for
# overfitting while training) and a test set (touched once, at the end). The split is **stratified**: each
# rhythm keeps the same share in every subset.
#
# **Exercise.** Complete `split_data`: use `sklearn.model_selection.StratifiedKFold(n_splits=5)` (no
# shuffling) to cut the data into 5 folds of equal rhythm composition; folds 0, 1 and 2 form the training
# set, fold 3 the validation set and fold 4 the test set (a 3/1/1 split). `StratifiedKFold.split(X, y)`
# yields `(other_indices, fold_indices)` pairs; only `y` matters here, so `X` can be `np.zeros((n, 1))`.
#
# What the tests check: the three subsets share no strip and together hold every strip (integer indices);
# and, for every rhythm with `n` strips, each of the 5 folds holds `n / 5` of them rounded down or up
# (what `StratifiedKFold` guarantees for any class sizes): so the validation and the test set each hold
# `floor(n / 5)` to `ceil(n / 5)` strips of that rhythm and the training set 3 times that. The hidden tests
# also run your function on other labels with uneven class sizes.


# %% nbgrader={"grade": false, "grade_id": "split", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split_data(rhythms):
    """Split the strips into stratified training, validation and test subsets (3/1/1).

    Parameters
    ----------
    rhythms : numpy.ndarray
        (N,) rhythm label of every strip.

    Returns
    -------
    i_train, i_val, i_test : numpy.ndarray
        Integer indices of the strips of each subset.
    """
    ### BEGIN SOLUTION
    splitter = sklearn.model_selection.StratifiedKFold(n_splits=5)
    folds = [fold for _, fold in splitter.split(np.zeros((rhythms.size, 1)), rhythms)]
    return np.concatenate(folds[:3]), folds[3], folds[4]
    ### END SOLUTION


i_train, i_val, i_test = split_data(rhythms)

# %% nbgrader={"grade": true, "grade_id": "test_split_partition", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# No strip is in two subsets (train/val, train/test, val/test), and every strip is in one of them.
subsets = {"train": np.asarray(i_train), "val": np.asarray(i_val), "test": np.asarray(i_test)}
print({name: index.size for name, index in subsets.items()})
for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
    shared = np.intersect1d(subsets[a], subsets[b]).size
    assert shared == 0, f"{shared} strips are both in the {a} and the {b} set"
missing = np.setdiff1d(np.arange(rhythms.size), np.concatenate(list(subsets.values()))).size
assert missing == 0, f"{missing} strips are in no subset"
### BEGIN HIDDEN TESTS
### BEGIN SHARED INPUT
import numpy as np  # noqa: F811 (the grader check runs this block too, outside the notebook)


def _uneven_labels(rhythms):
    """The course's rhythms with uneven class sizes (6, 17, 101, 58 and 24 strips), shuffled."""
    return np.random.default_rng(5).permutation(np.repeat(np.unique(rhythms), [6, 17, 101, 58, 24]))


### END SHARED INPUT
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)


def _probe_split_data():
    """The notebook's split of the data file's strips, and split_data on labels with uneven class sizes."""
    probe.emit("the data file's strips", {"train": np.asarray(i_train), "val": np.asarray(i_val), "test": np.asarray(i_test)})
    probe.emit("split_data on uneven labels", [np.asarray(index) for index in split_data(_uneven_labels(rhythms))])


_probe_split_data()
### BEGIN GRADER CHECK
def split_cases(results):
    """(where, subsets, labels) of both splits the probe reported (shared with the stratification check)."""
    from labkit.datasets.ecg import load_ecg

    _, rhythms, _ = load_ecg()
    uneven = _uneven_labels(rhythms)  # the grader's own copy, from the data file's rhythms
    split = results["split_data on uneven labels"]
    assert len(split) == 3, f"split_data returned {len(split)} values, expected 3 (i_train, i_val, i_test)"
    return (
        ("the data file's strips", results["the data file's strips"], rhythms),
        ("split_data on uneven labels", dict(zip(("train", "val", "test"), split, strict=True)), uneven),
    )


def check_split_partition(results):
    import numpy as np

    for where, subsets_, labels_ in split_cases(results):
        for name, index in subsets_.items():
            assert np.issubdtype(index.dtype, np.integer), f"{where}: i_{name} has dtype {index.dtype}, not integer"
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = np.intersect1d(subsets_[a], subsets_[b]).size
            assert shared == 0, f"{where}: {shared} strips are in both the {a} and the {b} set"
        missing = np.setdiff1d(np.arange(labels_.size), np.concatenate(list(subsets_.values()))).size
        assert missing == 0, f"{where}: {missing} strips are in no subset"
### END GRADER CHECK
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_split_stratified", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Every rhythm is split 3/1/1: each of the 5 folds holds n / 5 of its n strips, rounded down or up.
folds_per_subset = {"train": (i_train, 3), "val": (i_val, 1), "test": (i_test, 1)}
problems = stratification_errors(rhythms, folds_per_subset)
assert not problems, "the split is not stratified: " + "; ".join(problems)
### BEGIN HIDDEN TESTS
_probe_split_data()  # defined in the first test cell
### BEGIN GRADER CHECK
def check_split_stratified(results):
    from labkit.labs.splits import stratification_errors

    for where, subsets_, labels_ in split_cases(results):  # defined in the first test cell's check
        folds = {name: (subsets_[name], k) for name, k in (("train", 3), ("val", 1), ("test", 1))}
        problems = stratification_errors(labels_, folds)
        assert not problems, f"{where}: the split is not stratified: " + "; ".join(problems)
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# How many strips of each rhythm ended up in each subset:

# %% nbgrader={"grade": false, "grade_id": "summary", "locked": true, "schema_version": 3, "solution": false, "task": false}
IPython.display.display(build_summary(rhythms, {"train": i_train, "val": i_val, "test": i_test}))

# %% [markdown]
# ## 3 Scaling and label encoding
#
# Networks train best on inputs of about unit variance. We scale every strip by one factor `alpha` so
# that the **training** signals get a standard deviation of 1. The factor is computed on the training set
# only: the validation and test sets play the role of future, unseen data, and nothing about them may
# leak into the model (their scaled standard deviation will be close to, not exactly, 1).
#
# **Exercise.** Complete `compute_scaling(signals)`: return the number `alpha` such that
# `signals * alpha` has a standard deviation of 1 (over all samples of all strips given).
#
# The cell after your function computes `alpha` from the raw training strips and keeps the scaled copy in
# `signals` (the raw values stay in `raw_signals`), so running it again gives the same result. The tests
# check `alpha` against the raw training strips (relative error below 1e-4; computing it from all the strips
# is an error) and run `compute_scaling` on another array.


# %% nbgrader={"grade": false, "grade_id": "scaling", "locked": false, "schema_version": 3, "solution": true, "task": false}
def compute_scaling(signals):
    """Return the factor that gives ``signals * alpha`` a standard deviation of 1.

    Parameters
    ----------
    signals : numpy.ndarray
        The signals the factor is computed from (any shape).

    Returns
    -------
    float
        The scaling factor ``alpha``.
    """
    ### BEGIN SOLUTION
    return 1.0 / float(np.std(signals))
    ### END SOLUTION


alpha = compute_scaling(raw_signals[i_train])
signals = raw_signals * alpha
print(f"alpha = {alpha:.4f}")
for name, index in (("train", i_train), ("val", i_val), ("test", i_test)):
    print(f"standard deviation of the scaled {name} signals: {np.std(signals[index]):.4f}")

# %% nbgrader={"grade": true, "grade_id": "test_scaling", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# alpha is a positive number and the scaled training signals have unit standard deviation.
assert np.ndim(alpha) == 0 and alpha > 0, f"alpha should be one positive number, got {alpha!r}"
assert abs(np.std(signals[i_train]) - 1) < 1e-3, f"scaled training std is {np.std(signals[i_train]):.4f}"
### BEGIN HIDDEN TESTS
### BEGIN SHARED INPUT
import numpy as np  # noqa: F811 (the grader check runs this block too, outside the notebook)

_SCALING_INPUT = np.linspace(-1.0, 3.0, 3 * 1280, dtype=np.float64).reshape(3, 1, 1280) ** 3  # offset, skewed
### END SHARED INPUT
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)

probe.emit("alpha", float(alpha))
probe.emit("i_train", np.asarray(i_train))
probe.emit("compute_scaling on a test array", float(compute_scaling(_SCALING_INPUT.copy())))
### BEGIN GRADER CHECK
def check_scaling(results):
    import numpy as np

    from labkit.datasets.ecg import load_ecg

    signals = load_ecg()[0].astype(np.float64)
    alpha = results["alpha"]
    # The raw strips of the notebook's own training set: a wrong split is graded by the split tests only.
    std_all, std_train = float(np.std(signals)), float(np.std(signals[results["i_train"]]))
    if abs(alpha * std_all - 1) < 1e-4 and abs(std_all / std_train - 1) > 1e-4:
        raise AssertionError(f"alpha = {alpha:.6g} was computed from all the signals; use the training set only")
    error = abs(alpha * std_train - 1)
    assert error < 1e-4, (
        f"alpha = {alpha:.6g} but 1 / std of the raw training signals is {1 / std_train:.6g} "
        f"(relative error {error:.1e} > 1e-4)"
    )
    expected = 1.0 / float(np.std(_SCALING_INPUT))  # the grader's own copy
    got = results["compute_scaling on a test array"]
    assert abs(got / expected - 1) < 1e-6, (
        f"compute_scaling on a test array returned {got:.6g}, expected 1 / std = {expected:.6g}"
    )
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# The network outputs one score per rhythm, so the labels become **one-hot** vectors: one column per
# rhythm, in sorted label order, with a 1 in the column of the strip's rhythm and 0 elsewhere.
#
# **Exercise.** Complete `encode_rhythms(rhythms)`: return an array of shape (N, number of rhythms) with
# the columns in the order of `np.unique(rhythms)` (e.g. with `sklearn.preprocessing.OneHotEncoder`, or
# by comparing the labels with the sorted list of rhythms).


# %% nbgrader={"grade": false, "grade_id": "encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def encode_rhythms(rhythms):
    """One-hot encode rhythm labels, one column per rhythm in sorted label order.

    Parameters
    ----------
    rhythms : numpy.ndarray
        (N,) rhythm labels.

    Returns
    -------
    numpy.ndarray
        (N, number of distinct rhythms) array of zeros and ones.
    """
    ### BEGIN SOLUTION
    labels = np.unique(rhythms)
    return (np.asarray(rhythms)[:, None] == labels[None, :]).astype(np.float32)
    ### END SOLUTION


labels = np.unique(rhythms)
encoded_rhythms = encode_rhythms(rhythms)
IPython.display.display(encoded_preview(rhythms, encoded_rhythms))

# %% nbgrader={"grade": true, "grade_id": "test_encoding", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# One row per strip, one column per rhythm, a single 1 per row.
assert np.shape(encoded_rhythms) == (rhythms.size, labels.size), f"shape {np.shape(encoded_rhythms)}"
assert np.all(np.sum(encoded_rhythms, axis=1) == 1), "every row must hold exactly one 1"
### BEGIN HIDDEN TESTS
### BEGIN SHARED INPUT
import numpy as np  # noqa: F811 (the grader check runs this block too, outside the notebook)

_ENCODING_INPUT = np.array(
    "sinus_tachycardia atrial_flutter sinus_bradycardia normal_sinus_rhythm atrial_fibrillation atrial_flutter".split()
)
### END SHARED INPUT
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)

probe.emit("encoded_rhythms", np.asarray(encoded_rhythms, dtype=float))
probe.emit("encode_rhythms of 6 labels", np.asarray(encode_rhythms(_ENCODING_INPUT.copy()), dtype=float))
### BEGIN GRADER CHECK
def check_encoding(results):
    import numpy as np

    from labkit.datasets.ecg import load_ecg

    rhythms = load_ecg()[1]
    expected = (rhythms[:, None] == np.unique(rhythms)).astype(float)
    encoded = results["encoded_rhythms"]
    assert encoded.shape == expected.shape, f"encoded_rhythms has shape {encoded.shape}, expected {expected.shape}"
    wrong = int(np.sum(np.any(encoded != expected, axis=1)))
    assert wrong == 0, f"{wrong} rows of encoded_rhythms differ from the one-hot code in sorted label order"
    got = results["encode_rhythms of 6 labels"]
    order = np.unique(_ENCODING_INPUT)  # the grader's own copy
    columns = np.searchsorted(order, _ENCODING_INPUT)
    assert got.shape == (len(_ENCODING_INPUT), len(order)), (
        f"encode_rhythms gave shape {got.shape} for {len(_ENCODING_INPUT)} labels of {len(order)} rhythms"
    )
    assert np.array_equal(np.argmax(got, axis=1), columns), (
        f"columns are not in sorted label order: arg-max per row {np.argmax(got, axis=1).tolist()}, "
        f"expected {columns.tolist()}"
    )
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# ## 4 Training and evaluating a network
#
# The course library `labkit` holds the training plumbing, so the notebook can focus on the models:
#
# - `Classifier(model, learning_rate)` (a PyTorch Lightning module) says *how* a network is trained: the
#   loss is the cross-entropy between the network's scores and the one-hot labels, the optimiser is Adam,
#   and the loss and accuracy are logged for the training and validation sets after every epoch.
# - `train_model(classifier, x, y, i_train, i_val, n_epochs=..., name=..., batch_size=...)` keeps the
#   data on the training device (the GPU when there is one), trains for `n_epochs` passes over the
#   training set in shuffled mini-batches, validates after each epoch and writes TensorBoard logs.
# - `evaluate_classifier(classifier, x, y, splits)` returns the confusion matrix of every subset.
#
# Run `Classifier??` or `train_model??` in a cell to read their code.
#
# TensorBoard shows the logged curves while models train (press its refresh button, or enable automatic
# reload in its settings): the loss and accuracy on the training and validation sets (`train_loss`,
# `train_acc`, `val_loss`, `val_acc`) and the learning rate of every epoch (`lr`). `train_acc` is the
# average over an epoch's mini-batches, taken while the weights still change, with dropout active in
# models that have it and batch normalisation using each mini-batch's statistics; the training accuracy
# the notebook shows after training is measured with the final weights in evaluation mode (no dropout,
# batch normalisation with its running statistics), so the two differ by a few points.

# %% nbgrader={"grade": false, "grade_id": "tensorboard", "locked": true, "schema_version": 3, "solution": false, "task": false}
labkit.tensorboard.show(LAB.log_dir)

# %% [markdown]
# The first network is given: four convolution blocks (8, 16, 32 then 64 filters; batch normalisation,
# ReLU, and max pooling that halves the time axis), a global average over time, and a linear layer that
# maps the 64 averaged features to one score per rhythm. Every network in this lab stores `input_shape`
# and `output_shape` (without the batch dimension); `Classifier` needs `input_shape`.


# %% nbgrader={"grade": false, "grade_id": "cnn_model", "locked": true, "schema_version": 3, "solution": false, "task": false}
class CnnModel(torch.nn.Module):
    """The given CNN: four convolution blocks, global average pooling, one linear layer."""

    def __init__(self, input_shape, output_shape, kernel_size=5):
        super().__init__()
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.layers = torch.nn.Sequential(
            torch.nn.Conv1d(input_shape[0], 8, kernel_size, padding="same"),
            torch.nn.BatchNorm1d(8),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(2),
            torch.nn.Conv1d(8, 16, kernel_size, padding="same"),
            torch.nn.BatchNorm1d(16),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(2),
            torch.nn.Conv1d(16, 32, kernel_size, padding="same"),
            torch.nn.BatchNorm1d(32),
            torch.nn.ReLU(),
            torch.nn.MaxPool1d(2),
            torch.nn.Conv1d(32, 64, kernel_size, padding="same"),
            torch.nn.BatchNorm1d(64),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool1d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(64, output_shape[0]),
        )

    def forward(self, x):
        return self.layers(x)


# %% [markdown]
# We train it for 50 epochs with a learning rate of 1e-4 and mini-batches of 100 strips (a few minutes on
# a laptop CPU), then compute its confusion matrices.

# %% nbgrader={"grade": false, "grade_id": "cnn_training", "locked": true, "schema_version": 3, "solution": false, "task": false}
input_shape = signals.shape[1:]
output_shape = encoded_rhythms.shape[1:]
N_EPOCHS = 50
BATCH_SIZE = 100
LEARNING_RATE = 1e-4
splits = {"train": i_train, "val": i_val, "test": i_test}


def train_network(model, name, learning_rate, n_epochs, schedule=None):
    """Train ``model`` on the training strips (validating on the validation strips); return the trained
    classifier and its confusion matrix on every subset. ``schedule``: ``None`` keeps the learning rate
    constant, ``"cosine"`` lowers it to 0 over the epochs."""
    classifier = train_model(
        Classifier(model, learning_rate, schedule),
        signals,
        encoded_rhythms,
        i_train,
        i_val,
        n_epochs=n_epochs,
        name=name,
        batch_size=BATCH_SIZE,
        log_dir=LAB.log_dir,
    )
    return classifier, evaluate_classifier(classifier, signals, encoded_rhythms, splits)


cnn, cnn_matrices = train_network(CnnModel(input_shape, output_shape), "cnn", LEARNING_RATE, N_EPOCHS)

# %% [markdown]
# Rows are the true rhythms, columns the predicted ones: the diagonal counts the correct answers.

# %% nbgrader={"grade": false, "grade_id": "cnn_confusion", "locked": true, "schema_version": 3, "solution": false, "task": false}
figure = plot_confusion_matrices(cnn_matrices, labels, model="Given CNN")

# %% [markdown]
# ### Question 2 (2 points)
#
# Look at the loss and accuracy curves in TensorBoard and at the confusion matrices. Does the model
# overfit? Which rhythms are hard to tell apart, and why could that be, given what the network can see?
# (Compare accuracies measured the same way: the confusion matrices' training accuracy with their test
# accuracy, TensorBoard's `train_acc` with `val_acc`; section 4's introduction says why `train_acc` differs
# from the training accuracy of the confusion matrices.)

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_overfitting", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# **Overfitting: no.** Training, validation and test accuracies are close (on the default synthetic data all
# three between about 0.82 and 0.85, within about 0.03 of each other, over data seeds and thread counts;
# another machine moves them by a point or two, not apart), and in TensorBoard the validation loss falls
# along with the training loss until the last epoch. The model rather *underfits*: its curves are still improving at epoch 50 (small learning rate, a
# small network), and it does not even fit the training set well.
#
# **Hard rhythms.**
# - *Normal sinus rhythm against sinus bradycardia or tachycardia* is the largest error (normal strips
#   predicted as bradycardia above all): the same waveform, separated only by the rate, with sharp
#   conventional limits (60 and 100 bpm). Strips near a limit are ambiguous, and the network has to infer
#   the rate indirectly from how often QRS-like features occur.
# - *Atrial fibrillation and atrial flutter* are confused in both directions. Neither has P waves, and
#   flutter with a variable block has irregular RR intervals too. Telling them apart needs the shape and
#   regularity of the atrial waves between the QRS complexes and a comparison of intervals across several
#   beats; each feature of this CNN sees only about half a second (4 convolutions of 5 samples and 3
#   poolings: 67 samples), and the global average then discards the order of events.
#
# Some labels are also wrong on purpose (a few percent of the synthetic labels are swapped between these
# confusable pairs, as happens with real annotations), which caps the accuracy any model can reach.
# ### END SOLUTION

# %% [markdown]
# ### Question 3 (6 points, graded by the three test cells below)
#
# Design two networks of your own, `CustomModel1` and `CustomModel2`, and try to classify the rhythms
# better than the given CNN. Write their layers in `__init__` and how they are applied in `forward`. What
# the tests check (the test cell after the two model cells checks the first three, and the test cell after
# each training cell the last two, all with your numbers; each test cell is worth 2 points):
#
# - built as `CustomModel1(input_shape, output_shape)`, output of shape (batch, 5) (one score per rhythm,
#   no softmax: the loss applies it);
# - each different from the given CNN and from the other: another list of layers or parameter shapes
#   (`labkit.labs.ecg.architecture_signature` compares them);
# - at most 500 000 parameters each (`labkit.labs.ecg.count_parameters`);
# - your own models, trained here: each is a new instance of your class, built by the given training
#   cell below and trained there from its own random initialisation. A custom model may not call, copy or
#   return another model (the given CNN, your other custom model, anything trained before): no other
#   model may run while it predicts, its layers and parameters are its own, and it may not contain the
#   given CNN's layer sequence. Reusing your own helper functions or base class is fine. The check before
#   each accuracy line tests the part of this rule a notebook can see; the hidden test checks all of it,
#   and a custom model that breaks it gets no accuracy points;
# - trained with the cells below, a test accuracy of at least 0.5 and at least the given CNN's test
#   accuracy minus 0.10. Beating the given CNN is the goal; the graded bar is 0.10 lower because the same
#   notebook trained on another machine, thread count or GPU ends up a little different (the reference
#   models move by up to a few points), and a model as good as the given one must not fail on one machine
#   and pass on another. The hidden test measures both accuracies on held-out strips that the grader keeps
#   (they are not in your data file), so the graded numbers depend on your models only.
#
# Keep the training time reasonable: an epoch should cost about as much as the given CNN's. Shrinking the
# time axis early (a stride in the first convolutions) makes the later layers cheap.
#
# Ideas: each feature of the given CNN sees about half a second of signal before the global average, but
# rhythm is about the relation *between* beats. Dilated convolutions or more downsampling widen the view;
# residual connections (adding a block's input to its output) help deeper networks train; recurrent
# layers (`torch.nn.GRU`) can read the sequence of beats; combining average and maximum over time keeps
# both typical and rare events.


# %% nbgrader={"grade": false, "grade_id": "custom_model_1", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CustomModel1(torch.nn.Module):
    """Your first network."""

    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape = input_shape
        self.output_shape = output_shape
        ### BEGIN SOLUTION
        # A residual CNN: a strided stem (1280 -> 640 samples), then four residual blocks that each halve
        # the time axis (down to 40 steps of 0.3 s) while growing dilations widen the view to several beats.
        self.stem = torch.nn.Sequential(
            torch.nn.Conv1d(input_shape[0], 12, 9, stride=2, padding=4, bias=False),
            torch.nn.BatchNorm1d(12),
            torch.nn.ReLU(),
        )
        self.blocks = torch.nn.ModuleList()
        self.shortcuts = torch.nn.ModuleList()
        for c_in, c_out, dilation in ((12, 16, 1), (16, 24, 2), (24, 32, 4), (32, 48, 8)):
            self.blocks.append(
                torch.nn.Sequential(
                    torch.nn.Conv1d(c_in, c_out, 5, stride=2, padding=2, bias=False),
                    torch.nn.BatchNorm1d(c_out),
                    torch.nn.ReLU(),
                    torch.nn.Conv1d(c_out, c_out, 5, padding=2 * dilation, dilation=dilation, bias=False),
                    torch.nn.BatchNorm1d(c_out),
                )
            )
            self.shortcuts.append(
                torch.nn.Sequential(
                    torch.nn.Conv1d(c_in, c_out, 1, stride=2, bias=False),
                    torch.nn.BatchNorm1d(c_out),
                )
            )
        self.dropout = torch.nn.Dropout(0.3)  # the data set is small: fight overfitting
        self.head = torch.nn.Linear(2 * 48, output_shape[0])
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = self.stem(x)
        for block, shortcut in zip(self.blocks, self.shortcuts, strict=True):
            x = torch.relu(block(x) + shortcut(x))
        features = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)  # typical and strongest responses
        return self.head(self.dropout(features))
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "custom_model_2", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CustomModel2(torch.nn.Module):
    """Your second network."""

    def __init__(self, input_shape, output_shape):
        super().__init__()
        self.input_shape = input_shape
        self.output_shape = output_shape
        ### BEGIN SOLUTION
        # A convolutional encoder turns the strip into 40 steps of 0.3 s (about one feature vector per
        # half beat); a bidirectional GRU then reads that sequence, which suits rhythm: it can compare
        # successive beats and intervals.
        layers = []
        for c_in, c_out, kernel in (
            (input_shape[0], 16, 9),
            (16, 24, 5),
            (24, 32, 5),
            (32, 48, 5),
            (48, 64, 5),
        ):
            layers += [
                torch.nn.Conv1d(c_in, c_out, kernel, stride=2, padding=kernel // 2, bias=False),
                torch.nn.BatchNorm1d(c_out),
                torch.nn.ReLU(),
            ]
        self.encoder = torch.nn.Sequential(*layers)
        self.gru = torch.nn.GRU(64, 32, batch_first=True, bidirectional=True)
        self.dropout = torch.nn.Dropout(0.3)
        self.head = torch.nn.Linear(4 * 32, output_shape[0])
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        steps = self.encoder(x).transpose(1, 2)  # (batch, time, features)
        outputs, last = self.gru(steps)
        final = last.transpose(0, 1).flatten(1)  # last state of both directions
        return self.head(self.dropout(torch.cat([outputs.mean(dim=1), final], dim=1)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_custom_architectures", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Both models build from (input_shape, output_shape), give one score per rhythm for each strip, have at most
# 500 000 parameters, and differ from the given CNN and from each other.
MAX_PARAMETERS = 500_000
with torch.random.fork_rng():  # building test models must not change the random numbers of the training
    signatures = {"the given CnnModel": architecture_signature(CnnModel(input_shape, output_shape))}
    for name, model_class in (("CustomModel1", CustomModel1), ("CustomModel2", CustomModel2)):
        model = model_class(input_shape, output_shape)
        scores = model.eval()(torch.zeros((4, *input_shape)))
        n_parameters = count_parameters(model)
        print(f"{name}: {n_parameters} parameters, output shape {tuple(scores.shape)}")
        assert tuple(scores.shape) == (4, *output_shape), f"{name} output shape {tuple(scores.shape)}"
        assert n_parameters <= MAX_PARAMETERS, (
            f"{name} has {n_parameters} parameters, {n_parameters - MAX_PARAMETERS} more than allowed"
        )
        signature = architecture_signature(model)
        for other, known in signatures.items():
            assert signature != known, f"{name} has the same layers and parameter shapes as {other}"
        signatures[name] = signature
### BEGIN HIDDEN TESTS
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)


def _probe_architectures():
    """Fresh instances, in training mode, on 7 strips; the given CNN's signature first."""
    with torch.random.fork_rng():
        probe.emit("the given CnnModel", {"signature": architecture_signature(CnnModel(input_shape, output_shape))})
        for name, model_class in (("CustomModel1", CustomModel1), ("CustomModel2", CustomModel2)):
            model = model_class(input_shape, output_shape)
            report = {"input_shape": [int(n) for n in model.input_shape], "parameters": count_parameters(model)}
            report["output"] = [int(n) for n in model.train()(torch.randn((7, *input_shape))).shape]
            probe.emit(name, {**report, "signature": architecture_signature(model)})


_probe_architectures()
### BEGIN GRADER CHECK
def check_custom_architectures(results):
    known = {"the given CnnModel": results["the given CnnModel"]["signature"]}
    for name in ("CustomModel1", "CustomModel2"):
        report = results[name]
        assert report["input_shape"] == [1, 1280], f"{name}.input_shape is {report['input_shape']}"
        n = report["parameters"]
        assert n <= 500_000, f"{name} has {n} parameters, {n - 500_000} more than the 500000 allowed"
        assert report["output"] == [7, 5], f"{name} gives {tuple(report['output'])} for 7 strips"
        for other, signature in known.items():
            assert report["signature"] != signature, f"{name} has the same layers and parameter shapes as {other}"
        known[name] = report["signature"]
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# Train and evaluate the first custom model. The next cell is yours to edit: `CUSTOM_LEARNING_RATE`,
# `CUSTOM_N_EPOCHS` and `CUSTOM_SCHEDULE` are used for both custom models. Networks with residual
# connections, dropout or recurrent layers often train well at 1e-3, ten times the given CNN's rate, and
# then need far fewer epochs: watch the validation loss in TensorBoard and stop near where it stops falling
# (more epochs cost time and, once the model starts memorising the training strips, accuracy too).
#
# At a constant rate of 1e-3 the test accuracy still jumps by a few points from one epoch to the next (now
# and then by much more), so the final score depends on where the last mini-batches happened to push the
# weights, and the same notebook ends differently on another machine. `CUSTOM_SCHEDULE = "cosine"` lowers
# the learning rate from `CUSTOM_LEARNING_RATE` to 0 along half a cosine over the epochs: the first epochs
# learn fast, the last ones only settle. Set it to `None` to see the difference. Change the values if your
# models need it, within the time you can afford. The training cells after it are given code (read-only;
# the grader runs them as written).

# %% tags=["student-free"]
CUSTOM_LEARNING_RATE = 1e-3
CUSTOM_N_EPOCHS = 15
CUSTOM_SCHEDULE = "cosine"  # or None: a constant learning rate

# %% nbgrader={"grade": false, "grade_id": "custom1_training", "locked": true, "schema_version": 3, "solution": false, "task": false}
model = CustomModel1(input_shape, output_shape)
custom1, custom1_matrices = train_network(
    model, "custom1", CUSTOM_LEARNING_RATE, CUSTOM_N_EPOCHS, schedule=CUSTOM_SCHEDULE
)
figure = plot_confusion_matrices(custom1_matrices, labels, model="Custom model 1")

# %% nbgrader={"grade": true, "grade_id": "test_custom1_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Graded: your own model, built and trained by the cell above (the first line checks the part of the rule
# a notebook can see); and the accuracy bar: the second line fails unless the model's accuracy on your test
# set is at least 0.5 and at least the given CNN's minus 0.10 (printed as the graded bar). The hidden test
# checks all of the rule, and the same bar on held-out strips.
check_own_model(custom1, model, CustomModel1, cnn, (input_shape, output_shape))
check_accuracy(custom1_matrices, cnn_matrices, "custom model 1")
### BEGIN HIDDEN TESTS
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)
import autograder.checks.provenance as provenance


def _probe_custom(name, trained, model_class, other_class):
    """Held-out strips (labels stay with the grader), scaled as in training: the given CNN's predictions,
    a fresh given CNN's signature, then what the custom model is made of and what its predictions use."""
    x = probe.inputs("ecg_rhythm_classification") * float(alpha)
    args = (input_shape, output_shape)
    probe.emit("given CNN", np.argmax(labkit.training.predict(cnn, x), axis=1))
    probe.emit("given CNN signature", provenance.signature(provenance.build_fresh(CnnModel, args)))
    others = {"CnnModel": CnnModel, other_class.__name__: other_class}
    probe.emit(name, provenance.report(trained, model, model_class, args, x, others, labkit.training.predict))


_probe_custom("custom model 1", custom1, CustomModel1, CustomModel2)
### BEGIN GRADER CHECK
def custom_accuracy(results, labels, name, class_name):
    import numpy as np

    from autograder.checks.ownership import check_own_model

    report = results[name]
    check_own_model(report, class_name, labels, results["given CNN signature"])
    given, own = results["given CNN"], np.asarray(report["predictions"])
    assert own.shape == labels.shape, f"{name} gave {own.shape} predictions for {labels.size} held-out strips"
    acc, ref = float(np.mean(own == labels)), float(np.mean(given == labels))
    assert acc >= 0.5, f"{name}: held-out accuracy {acc:.3f} is below 0.5 (given CNN {ref:.3f})"
    assert acc >= ref - 0.10, f"{name}: held-out accuracy {acc:.3f} is below the given CNN's {ref:.3f} - 0.10"


def check_custom1_accuracy(results, evaluation_labels):
    custom_accuracy(results, evaluation_labels(), "custom model 1", "CustomModel1")
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# And the second one.

# %% nbgrader={"grade": false, "grade_id": "custom2_training", "locked": true, "schema_version": 3, "solution": false, "task": false}
model = CustomModel2(input_shape, output_shape)
custom2, custom2_matrices = train_network(
    model, "custom2", CUSTOM_LEARNING_RATE, CUSTOM_N_EPOCHS, schedule=CUSTOM_SCHEDULE
)
figure = plot_confusion_matrices(custom2_matrices, labels, model="Custom model 2")

# %% nbgrader={"grade": true, "grade_id": "test_custom2_accuracy", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Graded: your own model, and the accuracy bar on your test set, as for model 1.
check_own_model(custom2, model, CustomModel2, cnn, (input_shape, output_shape))
check_accuracy(custom2_matrices, cnn_matrices, "custom model 2")
### BEGIN HIDDEN TESTS
import autograder.checks.probe as probe  # noqa: F811 (each hidden region imports it)

_probe_custom("custom model 2", custom2, CustomModel2, CustomModel1)
### BEGIN GRADER CHECK
def check_custom2_accuracy(results, evaluation_labels):
    custom_accuracy(results, evaluation_labels(), "custom model 2", "CustomModel2")
### END GRADER CHECK
### END HIDDEN TESTS

# %% [markdown]
# The three models side by side (accuracy per subset, measured after training with the final weights in
# evaluation mode: the `train` column is not TensorBoard's `train_acc`, see section 4):

# %% nbgrader={"grade": false, "grade_id": "comparison", "locked": true, "schema_version": 3, "solution": false, "task": false}
IPython.display.display(
    accuracy_table(
        {"given CNN": cnn_matrices, "custom model 1": custom1_matrices, "custom model 2": custom2_matrices}
    )
)

# %% [markdown]
# ### Question 4 (2 points)
#
# How do your two models perform compared with the given CNN? Do they overfit? Which confusions remain,
# and what would you try next?

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_comparison", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# (Reference models on the default synthetic data, 15 epochs each. The figures are ranges over data seeds
# and CPU thread counts, measured with `bench/metric_spread.py` (docs/benchmarks.md); a student's own numbers
# land near them on any machine. Any well-argued comparison of the student's own numbers earns the points.)
#
# **Performance.** Both custom models beat the given CNN on the test set after 15 epochs (against its 50,
# with the cosine schedule): about 0.88-0.90 (residual CNN with dilations) and 0.88-0.91 (convolutional
# encoder + bidirectional GRU) against about 0.82-0.84, at a similar training cost per epoch (they shrink the time
# axis with strided convolutions first). The gain comes from the two weak spots of the given CNN: normal
# sinus rhythm is less often taken for bradycardia (both models measure the rate over several beats), and
# fibrillation and flutter are confused less (the dilated blocks and the GRU compare successive beats and
# the atrial waves between them).
#
# **Overfitting: it starts.** Training accuracy reaches about 0.91-0.95 while validation accuracy stays at
# about 0.88-0.91; in TensorBoard the validation loss flattens after about 10 epochs while the training loss
# keeps falling. Training longer widens the gap: at 50 epochs the training accuracy reaches 1.00 and the
# models memorise the training strips, including the few deliberately wrong labels. Dropout before the last
# layer slows this down but does not stop it.
#
# **Remaining errors.** Fibrillation against flutter (variable-block flutter is irregular too), and normal
# sinus rhythm against brady- or tachycardia near 60 and 100 bpm, where the label is a matter of convention
# (and a few labels are wrong).
#
# **Next steps.** Keep the model of the epoch with the best validation loss (early stopping), weight decay
# or more dropout, data augmentation (amplitude scaling, time shifts, added noise, baseline wander), a
# learning-rate schedule; feeding the network the RR intervals or a spectrum of the atrial activity would
# target the remaining confusions directly.
# ### END SOLUTION

# %% [markdown]
# ## 5 Beyond the course's data: real ECGs
#
# Your models learned from the course's strips. How do they do on recordings they have never met? labkit
# ships a small set of **real** strips: one 10-s strip from each record of the PhysioNet/CinC Challenge 2017
# validation set labelled atrial fibrillation or normal rhythm, the normal ones split into normal sinus
# rhythm, bradycardia and tachycardia by their heart rate (there is no flutter). They come from a hand-held
# device held between two hands: a single lead close to lead I, not lead II, sometimes upside down, often
# noisier. (Open Data Commons Attribution licence; Clifford GD et al., *AF Classification from a Short
# Single Lead ECG Recording: the PhysioNet/Computing in Cardiology Challenge 2017*, Computing in Cardiology
# 44, 2017; Goldberger AL et al., *PhysioBank, PhysioToolkit, and PhysioNet*, Circulation 101(23), 2000.)
#
# The cell below scales them with your `alpha`, as the training strips, applies the three trained models
# unchanged and shows each model's confusion matrices on its test set and on the real strips. Nothing here
# is graded automatically.

# %% nbgrader={"grade": false, "grade_id": "real_strips", "locked": true, "schema_version": 3, "solution": false, "task": false}
from labkit.datasets.ecg_real import load_real_ecg_eval

raw_real_signals, real_rhythms, _ = load_real_ecg_eval()
known = np.isin(real_rhythms, labels)  # a rhythm the course's data lacks cannot be predicted
real_x = raw_real_signals[known] * alpha
real_y = np.searchsorted(labels, real_rhythms[known])
IPython.display.display(count_table(real_rhythms[known]))
real_matrices = {}
for name, model, matrices in (
    ("given CNN", cnn, cnn_matrices),
    ("custom model 1", custom1, custom1_matrices),
    ("custom model 2", custom2, custom2_matrices),
):
    real = evaluate_classifier(model, real_x, real_y, {"real strips": np.arange(len(real_y))})
    real_matrices[name] = {"test": matrices["test"], **real}
    plot_confusion_matrices(real_matrices[name], labels, model=name)
IPython.display.display(accuracy_table(real_matrices))

# %% [markdown]
# ### Question 5 (2 points)
#
# Compare each model's accuracy on its test set with its accuracy on the real strips. Which model loses
# the most, and on which rhythms (use the confusion matrices)? What does the difference tell you about what
# the models learned and about how far a test-set accuracy can be trusted? Name two things that would make
# a model hold better on recordings like these.

# %% [markdown] nbgrader={"grade": true, "grade_id": "q5_real_data", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# (Any answer built on the student's own figures earns the points when it compares the two accuracies per
# model, names the rhythms behind the loss and draws a sound conclusion.)
#
# **The gap.** Every model loses a third to a half of its accuracy. On the default synthetic data (data
# seeds 0 and 1, bench/real_transfer_ecg.py) the given CNN falls from about 0.82 on the test set to about
# 0.44 on the real strips, the reference residual model from about 0.89 to about 0.6, the convolutional +
# GRU model from about 0.89 to about 0.5. Normal sinus rhythm is the rhythm most often lost, mostly taken
# for fibrillation (the real strips' artefacts and noise look irregular, and on the training data only
# fibrillation is irregular); the single tachycardia strip is missed.
#
# **What it means.** A test set drawn from the same source as the training set measures how well a model
# learned *that source*, not the task in general: the test strips share the training strips' lead, device,
# amplitude, noise and (here) the generator's regularity. The real strips differ in all of these (a lead
# close to lead I, inverted recordings, lower amplitude, motion artefacts), a *domain shift*. A bigger
# model fits the particular regularities of its training data better, and they may not exist elsewhere:
# higher test accuracy does not mean a better model for real use. A model must be evaluated on data from the
# setting it will be used in (other devices, leads, patients and hospitals).
#
# **What would help.** Training data with the variety of real recordings (several leads and devices,
# real data, or a generator with more varied morphology, polarity, amplitude and noise); data augmentation
# (flipping the polarity, scaling the amplitude, adding baseline wander and muscle noise); per-strip
# normalisation instead of one global `alpha`; features that do not depend on the waveform (RR intervals);
# and a validation set from the target domain to choose the model.
# ### END SOLUTION
