"""A class of a lab built programmatically: honest independent work and planted, disguised copies.

The honest-variety model. Every honest student writes each exercise from independent random choices:

- the approach and helper calls, loop or comprehension, inline or intermediate variables (a few forms per
  exercise: a short exercise with one natural solution has few);
- names, comments and numbers (layer widths, kernel sizes, rates, the results an answer quotes);
- for the custom models, the family of network, layers, activations, normalisation, pooling, widths, head
  and layout;
- for the short code exercises, their habits (`with_habits`): a conversion or a check of the input first,
  a debugging line left in, a check or conversion of the result last; each of these slots is empty for
  about half the class. Two honest students of a short exercise can still write the same thing (the report
  says such an exercise converges), but rarely with the same habits;
- for the written answers, which points they make, in what order, in which of a few phrasings per point,
  with each interchangeable word drawn per occurrence, and their own numbers.

A planted copy re-renders a randomly chosen honest student's structural choices, habits and wording (their
idiosyncrasies) with the copier's own names, comments and numbers, and the disguises the issue names:
renamed variables, comments changed, methods reordered (forward before __init__), a custom model's layer
widths and kernel sizes changed, a written answer reworded (about a third of its interchangeable words
swapped, the first two sentences exchanged) with the copier's numbers. A copy of a student who wrote the
common form with no habits is, as in a real class, indistinguishable from the other students who did.
"""

from __future__ import annotations

import copy
import random
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
LAB = "ecg_rhythm_classification"
HR_LAB = "hr_estimation"
RELEASE = REPO / "release" / LAB / f"{LAB}.ipynb"
STUB = "# YOUR CODE HERE\n{indent}raise NotImplementedError()"
ANSWER_STUB = "YOUR ANSWER HERE"


@dataclass
class Style:
    """Independent random streams of one student's rendering of one exercise.

    A copier's ``structure``, ``wording`` and ``habits`` are their source's; names, values and comments
    their own.
    """

    structure: random.Random
    names: random.Random
    values: random.Random
    comments: random.Random
    wording: random.Random
    habits: random.Random
    reorder: bool = False

    @classmethod
    def of(cls, student: str, exercise: str, seed: int, structure_of: str | None = None) -> Style:
        """Return the streams of ``student`` (``structure_of``: take another student's choices)."""

        def rng(who: str, stream: str) -> random.Random:
            return random.Random(zlib.crc32(f"{seed}/{who}/{exercise}/{stream}".encode()))

        owner = structure_of or student
        streams = (rng(owner, "s"), rng(student, "n"), rng(student, "v"), rng(student, "c"), rng(owner, "w"))
        return cls(*streams, rng(owner, "h"))

    def name(self, *pool: str) -> str:
        """Return one of ``pool`` (the student's own naming)."""
        return self.names.choice(pool)

    def pick(self, *options):
        """Return one of ``options`` (a structural choice)."""
        return self.structure.choice(options)

    def comment(self, indent: str, *pool: str) -> str:
        """Return a comment line from ``pool`` or nothing (the student's own habit)."""
        return f"{indent}# {self.comments.choice(pool)}\n" if self.comments.random() < 0.5 else ""


# ------------------------------------------------------------------------------------------------ habits
#: What a student adds around a short exercise's work, out of habit: a conversion or a check of the input
#: first, a debugging line left in, a check or conversion of the result last. Each slot is empty for about
#: half the class and otherwise one of these, so two honest students rarely have the same habits, and a
#: copy keeps its source's (a copier renames and re-comments, and leaves the rest).
FIRST = (
    "{arg} = np.asarray({arg})",
    "{arg} = np.array({arg})",
    "assert len({arg}) > 0",
    "n = len({arg})",
    "{arg} = np.asarray({arg}).copy()",
)
#: The first slot for an argument that is a mapping (a record or a configuration), not an array.
FIRST_MAPPING = (
    "assert {arg}",
    "{arg} = dict({arg})",
    "print({arg}.keys())",
    "n = len({arg})",
    "assert isinstance({arg}, dict)",
)
DEBUG = (
    "print({arg}[0])",
    "print(len({arg}))",
    "print(type({arg}))",
    "print({label}, len({arg}))",
    "print({arg}[:5])",
)
LAST = (
    "print({out}.shape)",
    "assert {out} is not None",
    "assert len({out}) > 0",
    "{out} = np.asarray({out})",
    'print("done")',
)


def with_habits(body: str, s: Style, arg: str) -> str:
    """Return ``body`` (a function body of argument ``arg``) with the student's habits around the work."""
    lines = body.splitlines(keepends=True)
    comments = 0
    while comments < len(lines) and lines[comments].lstrip().startswith("#"):
        comments += 1
    label = s.habits.choice(('"input:"', '"n ="', '"check"', "'size'"))
    mapping = arg in ("record", "config")
    first = [f.format(arg=arg, label=label) for f in _slot(s, FIRST_MAPPING if mapping else FIRST, DEBUG)]
    lines[comments:comments] = [f"    {line}\n" for line in first]
    last = re.fullmatch(r"    return (\w+)\n?", lines[-1])
    if last:
        lines[-1:-1] = [f"    {f.format(out=last[1])}\n" for f in _slot(s, LAST)]
    return "".join(lines)


def _slot(s: Style, *slots: tuple[str, ...]) -> list[str]:
    """Return one line of each slot for a student who fills it (about half do)."""
    return [s.habits.choice(slot) for slot in slots if s.habits.random() < 0.5]


# ------------------------------------------------------------------------------------------------- split
def split_body(s: Style) -> str:
    """Return a body of ``split_data(rhythms)``."""
    splitter = s.name("skf", "splitter", "kfold", "strat", "cv", "folder", "sk")
    folds = s.name("folds", "fold_list", "parts", "chunks", "pieces", "groups", "subsets", "test_folds")
    idx = s.name("idx", "fold", "test_idx", "indices", "part", "f", "ix")
    x = s.pick(
        "np.zeros((len(rhythms), 1))",
        "np.zeros((rhythms.size, 1))",
        "np.zeros((rhythms.shape[0], 1))",
        "np.zeros(len(rhythms))",
        "np.empty((len(rhythms), 1))",
        "np.ones((len(rhythms), 1))",
    )
    make = s.pick(
        "sklearn.model_selection.StratifiedKFold(n_splits=5)",
        "sklearn.model_selection.StratifiedKFold(5)",
        "sklearn.model_selection.StratifiedKFold(n_splits=5, shuffle=False)",
    )
    lines = s.comment("    ", "5 stratified folds", "no shuffling", "StratifiedKFold keeps class ratios")
    xname = s.name("dummy", "X", "features", "placeholder", "x_dummy", "zeros")
    inline = s.pick(True, False)
    if not inline:
        lines += f"    {xname} = {x}\n"
    xarg = x if inline else xname
    lines += f"    {splitter} = {make}\n"
    how = s.pick("loop", "comprehension", "list", "enumerate")
    if how == "loop":
        lines += f"    {folds} = []\n    for _, {idx} in {splitter}.split({xarg}, rhythms):\n"
        lines += s.comment("        ", "keep the test part", "only the fold matters")
        lines += f"        {folds}.append({idx})\n"
    elif how == "comprehension":
        lines += f"    {folds} = [{idx} for _, {idx} in {splitter}.split({xarg}, rhythms)]\n"
    elif how == "list":
        pairs = s.name("pairs", "splits", "result", "all_splits")
        lines += f"    {pairs} = list({splitter}.split({xarg}, rhythms))\n"
        lines += f"    {folds} = [{pairs}[k][1] for k in range(5)]\n"
    else:
        train = s.name("train", "train_idx", "tr", "train_parts")
        lines += f"    {train} = []\n"
        lines += f"    for k, (_, {idx}) in enumerate({splitter}.split({xarg}, rhythms)):\n"
        lines += f"        if k < 3:\n            {train}.append({idx})\n"
        lines += f"        elif k == 3:\n            val = {idx}\n        else:\n            test = {idx}\n"
        join = s.pick("np.concatenate", "np.hstack")
        return lines + f"    return {join}({train}), val, test\n"
    train_expr = s.pick(
        f"np.concatenate({folds}[:3])",
        f"np.concatenate([{folds}[0], {folds}[1], {folds}[2]])",
        f"np.hstack({folds}[:3])",
        f"np.sort(np.concatenate({folds}[:3]))",
        f"np.r_[{folds}[0], {folds}[1], {folds}[2]]",
    )
    if s.pick(True, False):
        return lines + f"    return {train_expr}, {folds}[3], {folds}[4]\n"
    a, b, c = (
        s.name(*pool)
        for pool in (("i_tr", "train", "tr_idx"), ("i_v", "val", "va_idx"), ("i_te", "test", "te_idx"))
    )
    return (
        lines
        + f"    {a} = {train_expr}\n    {b} = {folds}[3]\n    {c} = {folds}[4]\n    return {a}, {b}, {c}\n"
    )


# ----------------------------------------------------------------------------------------------- scaling
def scaling_body(s: Style) -> str:
    """Return a body of ``compute_scaling(signals)`` (a one-liner for most: this exercise converges)."""
    std = s.pick("np.std(signals)", "signals.std()", "np.sqrt(np.var(signals))", "float(np.std(signals))")
    one = s.pick("1", "1.0")
    lines = s.comment("    ", "unit standard deviation", "alpha * std = 1")
    if s.pick(True, False):
        name = s.name("std", "sd", "sigma", "spread", "s")
        return lines + f"    {name} = {std}\n    return {one} / {name}\n"
    return lines + f"    return {one} / {std}\n"


# ---------------------------------------------------------------------------------------------- encoding
def encoding_body(s: Style) -> str:
    """Return a body of ``encode_rhythms(rhythms)``."""
    labels = s.name("labels", "classes", "names", "uniq", "categories", "kinds")
    out = s.name("onehot", "encoded", "result", "out", "y", "codes")
    lines = s.comment("    ", "one column per rhythm", "sorted order like np.unique")
    lines += f"    {labels} = np.unique(rhythms)\n"
    how = s.pick("broadcast", "eye", "loop", "encoder", "searchsorted")
    dtype = s.pick("float", "np.float32", "int", "np.float64")
    if how == "broadcast":
        lines += f"    {out} = (rhythms[:, None] == {labels}[None, :]).astype({dtype})\n"
    elif how == "eye":
        pos = s.name("positions", "idx", "where", "k")
        lines += f"    {pos} = np.searchsorted({labels}, rhythms)\n"
        lines += f"    {out} = np.eye(len({labels}), dtype={dtype})[{pos}]\n"
    elif how == "loop":
        i, lab = s.name("i", "row", "n"), s.name("r", "rhythm", "label", "lab")
        lines += f"    {out} = np.zeros((len(rhythms), len({labels})), dtype={dtype})\n"
        lines += f"    for {i}, {lab} in enumerate(rhythms):\n"
        lines += f"        {out}[{i}, list({labels}).index({lab})] = 1\n"
    elif how == "encoder":
        enc = s.name("enc", "encoder", "ohe", "one_hot")
        lines += (
            f"    {enc} = sklearn.preprocessing.OneHotEncoder(categories=[{labels}], sparse_output=False)\n"
        )
        lines += f"    {out} = {enc}.fit_transform(np.asarray(rhythms).reshape(-1, 1)).astype({dtype})\n"
    else:
        col = s.name("column", "col", "c")
        lines += f"    {out} = np.zeros((rhythms.shape[0], {labels}.size), dtype={dtype})\n"
        lines += f"    for {col}, value in enumerate({labels}):\n        {out}[rhythms == value, {col}] = 1\n"
    return lines + f"    return {out}\n"


# ------------------------------------------------------------------------------------------ custom models
ACTIVATIONS = ("ReLU()", "GELU()", "LeakyReLU(0.1)", "ELU()", "SiLU()")


def _widths(s: Style, count: int) -> list[int]:
    start = s.values.choice((8, 12, 16, 24, 32))
    growth = s.values.choice((1.0, 1.25, 1.5, 2.0))
    return [int(start * growth**i) for i in range(count)]


def model_bodies(s: Style) -> tuple[str, str]:
    """Return the ``__init__`` and ``forward`` bodies of a custom network (one of several families)."""
    family = s.pick("sequential", "modulelist", "attributes", "recurrent", "residual")
    nn = s.pick("torch.nn.", "nn.")
    head = "        nn = torch.nn\n" if nn == "nn." else ""
    act = s.pick(*ACTIVATIONS)
    norm = s.pick(True, False)
    pool = s.pick("MaxPool1d(2)", "AvgPool1d(2)", "stride")
    count = s.structure.randint(2, 5)
    widths = _widths(s, count)
    kernels = [s.values.choice((3, 5, 7, 9, 11)) for _ in range(count)]
    drop = s.values.choice((0.1, 0.2, 0.25, 0.3, 0.5))
    x = s.name("x", "h", "z", "out", "feat", "signal")
    feat = s.name("features", "pooled", "summary", "vec", "emb")
    last = widths[-1]
    comment = s.comment("        ", "feature extractor", "conv blocks", "my network", "downsample the strip")

    keywords = s.pick(True, False)  # Conv1d(in_channels=..., kernel_size=...) or positional
    bias = s.pick("", ", bias=False") if norm else ""
    act_first = s.pick(True, False)  # activation before or after the normalisation

    def conv(c_in: str, c_out: int | str, k: int | str) -> str:
        stride = ", stride=2" if pool == "stride" else ""
        pads = [f"padding={k // 2}", f"padding={k}//2"] if isinstance(k, int) else ["padding=k // 2"]
        pad = s.pick(*pads, *([] if stride else ["padding='same'"]))
        if keywords:
            return (
                f"{nn}Conv1d(in_channels={c_in}, out_channels={c_out}, kernel_size={k}{stride}, {pad}{bias})"
            )
        return f"{nn}Conv1d({c_in}, {c_out}, {k}{stride}, {pad}{bias})"

    def block(c_in: str, c_out: int | str, k: int | str) -> list[str]:
        after = [f"{nn}BatchNorm1d({c_out})"] if norm else []
        after = [f"{nn}{act}", *after] if act_first else [*after, f"{nn}{act}"]
        return [conv(c_in, c_out, k), *after, *([f"{nn}{pool}"] if pool != "stride" else [])]

    ins = ["input_shape[0]", *map(str, widths[:-1])]
    summary = s.pick("mean", "adaptive", "meanmax")
    final_in = 2 * last if summary == "meanmax" else last
    hidden = s.values.choice((32, 48, 64))
    head_kind = s.pick("linear", "mlp")
    if head_kind == "linear":
        head_def = f"{nn}Linear({final_in}, output_shape[0])"
    else:
        inner = f"{nn}Linear({final_in}, {hidden}), {nn}{act}, {nn}Dropout({drop})"
        head_def = f"{nn}Sequential({inner}, {nn}Linear({hidden}, output_shape[0]))"
    summarise = {
        "mean": f"        {feat} = {x}.mean(dim=-1)\n",
        "adaptive": f"        {feat} = torch.flatten(self.pool({x}), 1)\n",
        "meanmax": f"        {feat} = torch.cat([{x}.mean(dim=2), {x}.amax(dim=2)], dim=1)\n",
    }[summary]
    pool_def = (
        f"        self.pool = {nn}Adaptive{s.pick('Avg', 'Max')}Pool1d(1)\n" if summary == "adaptive" else ""
    )
    if family == "sequential":
        layers = [layer for i in range(count) for layer in block(ins[i], widths[i], kernels[i])]
        init = head + comment + f"        self.features = {nn}Sequential(\n"
        init += "".join(f"            {layer},\n" for layer in layers) + "        )\n"
        fwd = f"        {x} = self.features(x)\n"
    elif family == "modulelist":
        spec = ", ".join(f"({ins[i]}, {widths[i]}, {kernels[i]})" for i in range(count))
        init = head + comment + f"        self.blocks = {nn}ModuleList()\n"
        init += f"        for c_in, c_out, k in [{spec}]:\n"
        init += f"            self.blocks.append({nn}Sequential({', '.join(block('c_in', 'c_out', 'k'))}))\n"
        fwd = f"        {x} = x\n        for blk in self.blocks:\n            {x} = blk({x})\n"
    elif family == "attributes":
        init = head + comment
        fwd = f"        {x} = x\n"
        for i in range(count):
            init += f"        self.conv{i + 1} = {conv(ins[i], widths[i], kernels[i])}\n"
            if norm:
                init += f"        self.bn{i + 1} = {nn}BatchNorm1d({widths[i]})\n"
            inner = f"self.bn{i + 1}(self.conv{i + 1}({x}))" if norm else f"self.conv{i + 1}({x})"
            fn = {
                "ReLU()": "torch.relu",
                "GELU()": "torch.nn.functional.gelu",
                "ELU()": "torch.nn.functional.elu",
                "SiLU()": "torch.nn.functional.silu",
                "LeakyReLU(0.1)": "torch.nn.functional.leaky_relu",
            }[act]
            step = f"{fn}({inner})"
            if pool != "stride":
                step = f"torch.nn.functional.{pool[:3].lower()}_pool1d({step}, 2)"
            fwd += f"        {x} = {step}\n"
    elif family == "recurrent":
        rnn = s.pick("GRU", "LSTM")
        units = s.values.choice((16, 32, 48, 64))
        bi = s.pick(True, False)
        layers = [layer for i in range(count) for layer in block(ins[i], widths[i], kernels[i])]
        init = head + comment + f"        self.encoder = {nn}Sequential(" + ", ".join(layers) + ")\n"
        both = ", bidirectional=True" if bi else ""
        init += f"        self.rnn = {nn}{rnn}({last}, {units}, batch_first=True{both})\n"
        final_in = units * (2 if bi else 1)
        head_def = f"{nn}Linear({final_in}, output_shape[0])"
        pool_def = ""
        seq = s.name("seq", "steps", "sequence", "t")
        fwd = (
            f"        {seq} = self.encoder(x).permute(0, 2, 1)\n"
            if s.pick(True, False)
            else f"        {seq} = self.encoder(x).transpose(1, 2)\n"
        )
        fwd += f"        {x}, _ = self.rnn({seq})\n"
        summarise = (
            f"        {feat} = {x}[:, -1, :]\n"
            if s.pick(True, False)
            else f"        {feat} = {x}.mean(dim=1)\n"
        )
    else:
        init = head + comment + f"        self.stem = {conv('input_shape[0]', widths[0], kernels[0])}\n"
        pad, dilation = s.values.choice((1, 2, 4)), s.values.choice((1, 2, 4))
        layer = f"{nn}Conv1d({widths[0]}, {widths[0]}, 3, padding={pad}, dilation={dilation})"
        init += f"        self.convs = {nn}ModuleList([{layer} for _ in range({count})])\n"
        if norm:
            norms = f"[{nn}BatchNorm1d({widths[0]}) for _ in range({count})]"
            init += f"        self.norms = {nn}ModuleList({norms})\n"
        final_in = 2 * widths[0] if summary == "meanmax" else widths[0]
        if head_kind == "linear":
            head_def = f"{nn}Linear({final_in}, output_shape[0])"
        fwd = f"        {x} = self.stem(x)\n"
        if norm:
            fwd += "        for conv, bn in zip(self.convs, self.norms):\n"
            fwd += f"            {x} = {x} + torch.relu(bn(conv({x})))\n"
        else:
            fwd += f"        for conv in self.convs:\n            {x} = torch.relu({x} + conv({x}))\n"
    init += pool_def
    if s.pick(True, False) and head_kind == "linear":
        init += f"        self.dropout = {nn}Dropout({drop})\n"
        final = f"self.head(self.dropout({feat}))"
    else:
        final = f"self.head({feat})"
    init += f"        self.head = {head_def}\n"
    fwd += (
        summarise
        + s.comment("        ", "logits, no softmax", "one score per rhythm")
        + f"        return {final}\n"
    )
    return init, fwd


# -------------------------------------------------------------------------------------- written answers
Q1 = [
    [
        "Normal sinus rhythm is regular at {lo} to {hi} bpm, with a P wave before every QRS complex.",
        "In normal sinus rhythm the beats come regularly, between {lo} and {hi} beats per minute, each "
        "after a P wave.",
        "The normal strips show a steady rate of about {mid} bpm and a P wave in front of each QRS.",
        "A normal rhythm has evenly spaced beats and a visible P wave; its rate stays between {lo} and "
        "{hi} bpm.",
    ],
    [
        "Bradycardia looks the same but slower, under {lo} bpm, so there are long flat gaps between beats.",
        "Sinus bradycardia keeps the P-QRS-T shape but the heart beats fewer than {lo} times a minute.",
        "With bradycardia I counted only about {few} beats in ten seconds, which means a slow rate.",
        "Slow sinus rhythm (bradycardia) has the normal waves but long pauses, below {lo} bpm.",
    ],
    [
        "Tachycardia is the fast version, above {hi} bpm, and the T wave runs into the next P wave.",
        "Sinus tachycardia is regular too but quick: more than {hi} beats per minute.",
        "In the tachycardia example there are around {many} beats in the strip, the beats are crowded "
        "together.",
        "Fast sinus rhythm means over {hi} bpm with normal looking complexes.",
    ],
    [
        "Atrial fibrillation is irregularly irregular: the RR intervals all differ and there is no P "
        "wave, just a wavy baseline.",
        "In AF the spacing between beats changes all the time and the P waves are replaced by small "
        "fibrillation waves.",
        "The fibrillation strip has no clear P waves and completely random intervals between the QRS "
        "complexes.",
        "Fibrillation shows chaotic atrial activity, a noisy baseline and beats that never repeat at "
        "the same interval.",
    ],
    [
        "Atrial flutter shows a sawtooth pattern of F waves at about {flutter} per minute between the "
        "QRS complexes.",
        "Flutter has regular saw-tooth waves instead of P waves, and the ventricles follow every "
        "second or third one.",
        "In flutter the baseline oscillates like a saw blade and the rhythm can be regular when the "
        "block is fixed.",
        "The flutter example has fast regular atrial waves and QRS complexes that come after a fixed "
        "number of them.",
    ],
    [
        "So the rate separates the sinus rhythms and the regularity and atrial waves separate AF from "
        "flutter.",
        "Overall, heart rate tells the three sinus rhythms apart, while P waves and regularity "
        "identify the atrial ones.",
        "The sinus rhythms only differ in rate; the two atrial rhythms differ in how regular the beats are.",
        "To summarise, counting beats is enough for the sinus rhythms but the atrial ones need the "
        "shape between beats.",
    ],
]
Q2 = [
    [
        "The model does not overfit: training accuracy is {tr} and validation accuracy is {va}, very close.",
        "I see no overfitting since the train ({tr}) and validation ({va}) accuracies are almost the same.",
        "Training and validation accuracy end at {tr} and {va}, so the gap is small and there is no "
        "overfitting.",
        "There is hardly any gap between training ({tr}) and validation ({va}), which means it generalises.",
    ],
    [
        "In TensorBoard the validation loss keeps decreasing together with the training loss.",
        "Both loss curves go down until the end of training, the validation curve does not turn up.",
        "The validation loss curve follows the training loss and never starts rising.",
        "Looking at the curves, the loss on validation data falls the whole time.",
    ],
    [
        "If anything it underfits, the curves are still improving after {ep} epochs.",
        "The network is probably too small or trained too short, it has not converged after {ep} epochs.",
        "It rather underfits because even the training accuracy stays at {tr}.",
        "More epochs would help, after {ep} epochs the accuracy is still going up.",
    ],
    [
        "Normal sinus rhythm gets confused with bradycardia and tachycardia because only the rate differs.",
        "The sinus rhythms are mixed up near {lo} and {hi} bpm, where the labels are a convention.",
        "Most errors are between normal rhythm and brady/tachycardia: same waveform, only a different rate.",
        "The confusion matrix shows normal strips predicted as bradycardia, about {pct} percent of them.",
    ],
    [
        "Fibrillation and flutter are also confused since both lack P waves.",
        "AF and flutter get swapped, flutter with variable block is irregular too.",
        "The atrial fibrillation and flutter classes overlap because the network cannot see the atrial "
        "waves well.",
        "Flutter is often called fibrillation, both have no P waves and irregular beats.",
    ],
    [
        "The receptive field of the CNN is only about half a second, so it cannot compare beats.",
        "The network only sees short windows and then averages them, losing the order of beats.",
        "Its filters are short, so rhythm over several beats is hard to capture for it.",
        "Global average pooling throws away the timing information that separates these rhythms.",
    ],
]
Q4 = [
    [
        "My first model reaches {a1} test accuracy and the second {a2}, against {base} for the given CNN.",
        "Both custom models beat the given CNN: {a1} and {a2} compared with {base}.",
        "On the test set CustomModel1 gets {a1}, CustomModel2 {a2} and the baseline CNN {base}.",
        "The test accuracies are {a1} (model 1), {a2} (model 2) and {base} (given CNN).",
    ],
    [
        "They start to overfit: training accuracy goes up to {tr} while validation stays at {va}.",
        "There is some overfitting, the train accuracy is {tr} but validation only {va}.",
        "The validation loss flattens after about {ep} epochs while the training loss keeps going down.",
        "A gap opens between training ({tr}) and validation ({va}), so the models begin to memorise.",
    ],
    [
        "The remaining errors are fibrillation against flutter and normal against brady or tachycardia.",
        "Most confusions left are between the atrial rhythms and between sinus rhythms near the rate limits.",
        "AF versus flutter is still the hardest pair, then normal rhythm near {lo} bpm.",
        "The errors that remain are the same kind as before but fewer.",
    ],
    [
        "Next I would add early stopping and more dropout.",
        "I would try data augmentation such as noise and time shifts, and weight decay.",
        "Next steps: a learning rate schedule, early stopping on validation loss and augmentation.",
        "With more time I would feed the RR intervals to the network or use a longer receptive field.",
    ],
    [
        "The GRU model is better at rhythm because it reads the sequence of beats.",
        "Dilated convolutions widened the view, which helped with the atrial rhythms.",
        "Pooling both mean and max over time kept the rare events, that helped the AF class.",
        "Downsampling early made training as fast as the given CNN.",
    ],
]
QUESTIONS = {"q1_rhythms": Q1, "q2_overfitting": Q2, "q4_comparison": Q4}
OPENERS = ("", "", "I think ", "From my results, ", "In my run, ", "Looking at my plots, ")
#: Interchangeable words: every honest student picks one per occurrence; a copier swaps some of them.
ALTERNATIVES = [
    ["model", "network", "net", "classifier"],
    ["because", "since", "as"],
    ["about", "around", "roughly", "approximately"],
    ["shows", "has", "displays"],
    ["beats", "heartbeats", "cycles"],
    ["errors", "mistakes", "misclassifications"],
    ["confused", "mixed up", "swapped"],
    ["fast", "quick", "rapid"],
    ["would", "could", "might"],
    ["the given CNN", "the baseline", "the provided CNN", "the reference CNN"],
    ["very", "quite", "really"],
    ["regular", "steady", "even"],
    ["strip", "recording", "example", "trace"],
    ["shape", "form", "morphology"],
    ["curves", "plots", "graphs"],
    ["goes down", "decreases", "drops", "falls"],
    ["keeps", "continues"],
    ["hard", "difficult", "tricky"],
    ["small", "little", "minor"],
    ["overfit", "overfitting"],
    ["so", "therefore", "hence"],
    ["waves", "deflections", "oscillations"],
    ["only", "just", "merely"],
    ["gets", "reaches", "achieves"],
    ["more", "additional", "extra"],
    ["also", "as well"],
    ["see", "notice", "observe"],
    ["go up", "increase", "rise"],
    ["slow", "slower", "low"],
    ["try", "test", "experiment with"],
    ["because of", "due to", "owing to"],
    ["the", "the", "this"],
]
_ALTERNATIVE = {word.lower(): group for group in ALTERNATIVES for word in group}
_PHRASE = re.compile(
    r"\b(" + "|".join(sorted(map(re.escape, _ALTERNATIVE), key=len, reverse=True)) + r")\b", re.I
)


def _numbers(s: Style) -> dict[str, str]:
    v = s.values
    return {
        "lo": "60",
        "hi": "100",
        "mid": str(v.randint(65, 90)),
        "few": str(v.randint(6, 9)),
        "many": str(v.randint(17, 24)),
        "flutter": str(v.randint(250, 330)),
        "ep": str(v.choice((15, 20, 30, 50))),
        "tr": f"{v.uniform(0.78, 0.97):.2f}",
        "va": f"{v.uniform(0.75, 0.92):.2f}",
        "pct": str(v.randint(8, 30)),
        "a1": f"{v.uniform(0.84, 0.93):.3f}",
        "a2": f"{v.uniform(0.83, 0.93):.3f}",
        "base": f"{v.uniform(0.79, 0.86):.2f}",
    }


def answer_text(s: Style, bank: list[list[str]]) -> str:
    """Return a written answer: some of the points, in the student's order and words, with their numbers."""
    points = s.structure.sample(range(len(bank)), s.structure.randint(3, len(bank)))
    sentences = [_own_words(s.structure.choice(bank[p]).format(**_numbers(s)), s.wording) for p in points]
    opener = s.comments.choice(OPENERS)
    sentences[0] = opener + sentences[0][0].lower() + sentences[0][1:] if opener else sentences[0]
    if s.reorder:  # the copier rewords: synonyms, and the first two sentences swapped
        sentences = [_reword(t, s.comments) for t in sentences]
        sentences[0], sentences[1] = sentences[1], sentences[0]
    bullets = s.comments.random() < 0.3
    return "\n".join(f"- {t}" for t in sentences) if bullets else " ".join(sentences)


def _own_words(sentence: str, rng: random.Random) -> str:
    """Return ``sentence`` in a student's own words: each interchangeable word drawn afresh."""
    return _PHRASE.sub(lambda m: rng.choice(_ALTERNATIVE[m[0].lower()]), sentence)


def _reword(sentence: str, rng: random.Random, share: float = 0.35) -> str:
    """Return ``sentence`` with about ``share`` of its interchangeable words swapped for another."""

    def swap(match: re.Match) -> str:
        others = [w for w in _ALTERNATIVE[match[0].lower()] if w != match[0].lower()]
        return rng.choice(others) if others and rng.random() < share else match[0]

    return _PHRASE.sub(swap, sentence)


# ------------------------------------------------------------------------------------------------ class
@dataclass(frozen=True)
class Plant:
    """A planted copy: ``copier`` re-rendered ``source``'s work on ``exercise`` with these disguises."""

    exercise: str
    source: str
    copier: str
    disguises: tuple[str, ...]


@dataclass
class SyntheticClass:
    """The students' cells (student -> grade id -> cell source) and the copies planted among them."""

    cells: dict[str, dict[str, str]] = field(default_factory=dict)
    plants: list[Plant] = field(default_factory=list)
    lab: str = LAB

    def copied_pairs(self, exercise: str) -> set[frozenset[str]]:
        """Return the planted pairs of ``exercise``."""
        return {frozenset((p.source, p.copier)) for p in self.plants if p.exercise == exercise}


# ------------------------------------------------------------------------------------------ the HR lab
def windows_body(s: Style) -> str:
    """Return a body of ``extract_windows(record)``."""
    x = s.name("x", "data", "sig", "values", "arr", "channels")
    w = s.name("windows", "wins", "segments", "frames", "chunks")
    t = s.name("targets", "hr", "y", "labels", "rates")
    cols = s.pick('["ppg", "acc_x", "acc_y", "acc_z"]', "CHANNELS")
    lines = f"    CHANNELS = {cols}\n" if cols == "CHANNELS" else ""
    lines += s.comment("    ", "4 channels, time along the rows", "channels first later")
    get = s.pick(
        f'record["signals"][{cols}].to_numpy()',
        f'record["signals"][{cols}].values',
        f'np.column_stack([record["signals"][c] for c in {cols}])',
        f'record["signals"].loc[:, {cols}].to_numpy()',
    )
    lines += f"    {x} = {get}\n"
    how = s.pick("comprehension", "loop", "strides", "count")
    flip = s.pick(".T", ".transpose()", "swap")

    def piece(start: str) -> str:
        cut = f"{x}[{start}:{start} + WINDOW_SIZE]"
        return f"np.swapaxes({cut}, 0, 1)" if flip == "swap" else cut + flip

    if how == "comprehension":
        i = s.name("i", "start", "k", "pos")
        lines += (
            f"    {w} = np.stack([{piece(i)} for {i} in range(0, len({x}) - WINDOW_SIZE + 1, SHIFT_SIZE)])\n"
        )
    elif how == "loop":
        i = s.name("i", "start", "k", "pos")
        lines += f"    {w} = []\n    {i} = 0\n    while {i} + WINDOW_SIZE <= len({x}):\n"
        lines += f"        {w}.append({piece(i)})\n        {i} += SHIFT_SIZE\n    {w} = np.array({w})\n"
    elif how == "strides":
        lines += (
            f"    {w} = np.lib.stride_tricks.sliding_window_view({x}, WINDOW_SIZE, axis=0)[::SHIFT_SIZE]\n"
        )
    else:
        n = s.name("n", "count", "n_windows", "num")
        lines += f"    {n} = (len({x}) - WINDOW_SIZE) // SHIFT_SIZE + 1\n"
        lines += f"    {w} = np.empty(({n}, {x}.shape[1], WINDOW_SIZE))\n    for j in range({n}):\n"
        lines += f"        {w}[j] = {piece('j * SHIFT_SIZE')}\n"
    target = s.pick(
        'record["hr"]["hr"].to_numpy()', 'record["hr"]["hr"].values', 'np.asarray(record["hr"].hr)'
    )
    lines += f"    {t} = {target}\n"
    if s.pick(True, False):
        lines += f"    assert len({t}) == len({w}), (len({t}), len({w}))\n"
    return lines + f"    return {w}, {t}\n"


def subjects_body(s: Style) -> str:
    """Return a body of ``split_subjects(subjects)`` (short: it converges)."""
    how = s.pick("isin", "where", "list")
    names = [s.name(*pool) for pool in (("i_train", "tr"), ("i_val", "va"), ("i_test", "te"))]
    groups = ("TRAIN_SUBJECTS", "VAL_SUBJECTS", "TEST_SUBJECTS")
    lines = s.comment("    ", "no subject in two subsets", "split by subject")
    for name, group in zip(names, groups, strict=True):
        expr = {
            "isin": f"np.flatnonzero(np.isin(subjects, {group}))",
            "where": f"np.where(np.isin(subjects, {group}))[0]",
            "list": f"np.array([i for i, x in enumerate(subjects) if x in {group}])",
        }[how]
        lines += f"    {name} = {expr}\n"
    return lines + f"    return {', '.join(names)}\n"


def hr_scaling_body(s: Style) -> str:
    """Return a body of ``compute_scaling(windows)`` (a one-liner for most: it converges)."""
    std = s.pick("np.std(windows, axis=-1, keepdims=True)", "windows.std(axis=2, keepdims=True)")
    mean = s.pick(f"np.mean({std}, axis=0)", f"{std}.mean(axis=0)")
    return s.comment("    ", "per channel", "one factor per channel") + f"    return 1.0 / {mean}\n"


def config_body(s: Style) -> str:
    """Return a body of ``derive_config(config, **changes)``."""
    new = s.name("new", "derived", "result", "cfg", "copy_cfg")
    key = s.name("key", "name", "k", "setting")
    lines = s.comment("    ", "reject unknown settings", "deep copy so nothing is shared")
    check = s.pick("loop", "set", "list")
    if check == "loop":
        lines += f'    for {key} in changes:\n        if {key} not in config["model"]:\n'
        lines += f'            raise KeyError(f"unknown model setting {{{key}}}")\n'
    elif check == "set":
        bad = s.name("unknown", "bad", "extra", "missing")
        lines += (
            f'    {bad} = set(changes) - set(config["model"])\n    if {bad}:\n        raise KeyError({bad})\n'
        )
    else:
        bad = s.name("unknown", "bad", "extra", "missing")
        lines += f'    {bad} = [{key} for {key} in changes if {key} not in config["model"]]\n'
        lines += f"    if len({bad}) > 0:\n        raise KeyError(', '.join({bad}))\n"
    build = s.pick("deepcopy", "json", "dict")
    if build == "deepcopy":
        lines += f'    {new} = copy.deepcopy(config)\n    {new}["model"].update(copy.deepcopy(changes))\n'
    elif build == "json":
        lines += f"    {new} = json.loads(json.dumps(config))\n    for {key}, value in changes.items():\n"
        lines += f'        {new}["model"][{key}] = copy.deepcopy(value)\n'
    else:
        lines += f"    {new} = {{part: copy.deepcopy(settings) for part, settings in config.items()}}\n"
        lines += f'    {new}["model"] = {{**{new}["model"], **copy.deepcopy(changes)}}\n'
    return lines + f"    return {new}\n"


def metrics_body(s: Style) -> str:
    """Return a body of ``compute_metrics(targets, predictions)``."""
    e = s.name("errors", "err", "diff", "residuals", "delta")
    flat = s.pick("np.ravel({})", "np.asarray({}).reshape(-1)", "np.asarray({}).flatten()")
    lines = f"    {e} = {flat.format('predictions')} - {flat.format('targets')}\n"
    mse = s.pick(f"np.mean({e} ** 2)", f"float(np.mean(np.square({e})))", f"({e} ** 2).mean()")
    mae = s.pick(f"np.mean(np.abs({e}))", f"float(np.abs({e}).mean())")
    count = s.pick(f"{e}.size", f"len({e})")
    return lines + f'    return {{"count": {count}, "mse": {mse}, "mae": {mae}}}\n'


def activity_body(s: Style) -> str:
    """Return a body of ``compute_activity_metrics(targets, predictions, activities)``."""
    out = s.name("result", "metrics", "per_activity", "out", "table")
    act = s.name("activity", "a", "kind", "name")
    mask = s.name("mask", "sel", "idx", "where")
    lines = s.comment("    ", "order of first appearance", "pd.unique keeps the order")
    uniq = s.pick("pd.unique(np.asarray(activities))", "list(dict.fromkeys(activities))")
    lines += "    targets, predictions = np.ravel(targets), np.ravel(predictions)\n"
    lines += "    activities = np.asarray(activities)\n" if s.pick(True, False) else ""
    if s.pick(True, False):
        lines += (
            f"    {out} = {{}}\n    for {act} in {uniq}:\n        {mask} = np.asarray(activities) == {act}\n"
        )
        lines += f"        {out}[{act}] = compute_metrics(targets[{mask}], predictions[{mask}])\n"
        return lines + f"    return {out}\n"
    lines += f"    return {{\n        {act}: compute_metrics(targets[np.asarray(activities) == {act}], "
    return lines + f"predictions[np.asarray(activities) == {act}])\n        for {act} in {uniq}\n    }}\n"


HR_Q2 = [
    [
        "With the acceleration the validation MAE is {va} bpm against {tr} bpm with the PPG only.",
        "Adding the accelerometer lowered my validation error from {tr} to {va} bpm.",
        "The PPG + ACC model ends at {va} bpm MAE on validation, the PPG-only one at {tr} bpm.",
        "My final val_mae values are {tr} (PPG) and {va} (PPG + ACC).",
    ],
    [
        "The acceleration tells the network where the motion is, so it can ignore the step frequency.",
        "Motion artefacts appear in the PPG at the cadence, and the accelerometer shows that frequency.",
        "The arm swing leaves spectral lines in the PPG that the acceleration channels identify.",
        "Knowing the movement lets the model separate the pulse from the steps.",
    ],
    [
        "The gain should be largest while walking, sitting windows have little motion.",
        "For sitting the acceleration is almost flat, so it cannot help much there.",
        "Walking is where the difference shows, since that is where motion corrupts the signal.",
        "Sitting barely changes, the improvement comes from the walking windows.",
    ],
    [
        "The difference is small because 30 epochs at this learning rate are not enough.",
        "Without batch normalisation training is slow and the model does not use the extra channels fully.",
        "The network is still undertrained, so the advantage is not fully visible.",
        "More epochs would probably make the gap larger.",
    ],
    [
        "With only three validation subjects the comparison is noisy.",
        "Three subjects is a small validation set, so a difference of {pct} percent could be chance.",
        "The validation set is tiny, so I would not trust a small difference.",
        "Another split of subjects might give a different ranking.",
    ],
]
HR_Q4 = [
    [
        "With batch normalisation the training error falls much faster in the first epochs.",
        "Batch norm makes the training loss drop quickly right from the start.",
        "The normalised model learns faster: after {ep} epochs its training MAE is far lower.",
        "Training converges much quicker when batch normalisation is used.",
    ],
    [
        "The training MAE ends around {tr} bpm instead of {va} bpm.",
        "Final training error: {tr} bpm with batch norm, {va} bpm without.",
        "It reaches about {tr} bpm on the training subjects compared with {va} bpm before.",
        "My curves end at {tr} and {va} bpm training MAE.",
    ],
    [
        "The validation error improves much less, so the gap between training and validation grows.",
        "Validation only gets a little better, the model overfits the nine training subjects.",
        "The gap between train and validation becomes larger, a sign of overfitting.",
        "Generalisation to new subjects improves less than the training error suggests.",
    ],
    [
        "Every layer gets inputs of a stable scale, so the small learning rate is no longer a bottleneck.",
        "Normalising activations keeps their scale fixed, which speeds up learning.",
        "Batch norm removes the scale problem between layers and allows bigger effective steps.",
        "The inputs of each layer stay centred and scaled, making optimisation easier.",
    ],
]
HR_Q6 = [
    [
        "Yes, dropout reduces overfitting: the training error is higher but validation stays similar.",
        "Dropout makes the training MAE go up to about {tr} bpm while validation hardly changes.",
        "With dropout the gap between training and validation shrinks.",
        "The model with dropout overfits less, its train and validation curves are closer.",
    ],
    [
        "Each step only uses a random half of the dense units, so the network cannot memorise.",
        "Randomly dropping units forces the network to learn redundant features.",
        "Dropout acts like training many smaller networks and averaging them.",
        "Switching off half of the neurons at random prevents co-adaptation.",
    ],
    [
        "The training error in TensorBoard is measured with dropout active, so it looks worse than it is.",
        "Note that the logged training loss includes dropout, the table without it is lower.",
        "TensorBoard shows the training error with dropout on, which inflates it.",
        "Part of the higher training error is because dropout is on while it is logged.",
    ],
    [
        "The validation MAE is {va} bpm with dropout and about the same without.",
        "On validation both models are within a bpm or two, around {va} bpm.",
        "Validation error stays near {va} bpm either way.",
        "The held-out error barely moves, {va} bpm in my run.",
    ],
]


@dataclass(frozen=True)
class LabSpec:
    """How the generated class writes one lab: code bodies and question banks by grade id."""

    lab: str
    bodies: dict
    questions: dict
    planted: tuple[str, ...]

    @property
    def release(self) -> Path:
        """Return the lab's release notebook in the repository."""
        return REPO / "release" / self.lab / f"{self.lab}.ipynb"


LABS = {
    LAB: LabSpec(
        LAB,
        {"split": split_body, "scaling": scaling_body, "encoding": encoding_body},
        QUESTIONS,
        # The scaling one-liner gets no copy: there is nothing of one's own to copy.
        ("split", "encoding", "custom_model_1", "custom_model_2", *QUESTIONS),
    ),
    HR_LAB: LabSpec(
        HR_LAB,
        {
            "extract_windows": windows_body,
            "split_subjects": subjects_body,
            "compute_scaling": hr_scaling_body,
            "derive_config": config_body,
            "compute_metrics": metrics_body,
            "compute_activity_metrics": activity_body,
        },
        {"q2_acceleration": HR_Q2, "q4_batch_norm": HR_Q4, "q6_dropout": HR_Q6},
        (
            "extract_windows",
            "derive_config",
            "compute_activity_metrics",
            "q2_acceleration",
            "q4_batch_norm",
            "q6_dropout",
        ),
    ),
}
#: The ECG lab's exercises that get a planted copy (kept for the bench's class size).
PLANTED_IN = LABS[LAB].planted


def _release_cells(spec: LabSpec) -> dict[str, str]:
    nb = nbformat.read(str(spec.release), as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def render(exercise: str, given: str, s: Style, spec: LabSpec | None = None) -> str:
    """Return the full cell a student with streams ``s`` hands in for ``exercise`` (unanswered: ``given``)."""
    spec = spec or LABS[LAB]
    if exercise in spec.questions:
        return given.replace(ANSWER_STUB, answer_text(s, spec.questions[exercise]))
    stub4 = STUB.format(indent="    ")
    if exercise in ("custom_model_1", "custom_model_2"):
        init, fwd = model_bodies(s)
        stub8 = "        " + STUB.format(indent="        ")
        head, _, tail = given.partition(stub8)
        cell = head + init.rstrip("\n") + tail.replace(stub8, fwd.rstrip("\n"), 1)
        return _forward_first(cell) if s.reorder else cell
    if exercise not in spec.bodies:
        return given
    head = given.partition("    " + stub4)[0]
    arg = re.findall(r"def \w+\((\w+)", head)[-1]
    return given.replace("    " + stub4, with_habits(spec.bodies[exercise](s), s, arg).rstrip("\n"))


def _forward_first(cell: str) -> str:
    head, _, rest = cell.partition("    def __init__")
    init, _, forward = rest.partition("    def forward")
    return f"{head}    def forward{forward.rstrip()}\n\n    def __init__{init.rstrip()}\n"


def build_class(honest: int, copies: int = 1, seed: int = 0, lab: str = LAB) -> SyntheticClass:
    """Return ``honest`` honest students of ``lab`` and ``copies`` planted copiers per planted exercise.

    Copier ``copy<k>_<exercise>`` hands in honest work everywhere except ``exercise``, where they copy a
    student drawn at random with the disguises of the exercise's kind.
    """
    spec = LABS[lab]
    given = _release_cells(spec)
    klass = SyntheticClass(lab=lab)

    def honest_work(student: str) -> dict[str, str]:
        return {ex: render(ex, g, Style.of(student, ex, seed), spec) for ex, g in given.items()}

    students = [f"s{i:03d}" for i in range(honest)]
    klass.cells.update({student: honest_work(student) for student in students})
    pick = random.Random(seed)
    for exercise in spec.planted:
        for k in range(copies):
            copier, source = f"copy{k}_{exercise}", pick.choice(students)
            klass.cells[copier] = honest_work(copier)
            style = Style.of(copier, exercise, seed, structure_of=source)
            style.reorder = exercise.startswith("custom") or exercise in spec.questions
            klass.cells[copier][exercise] = render(exercise, given[exercise], style, spec)
            klass.plants.append(Plant(exercise, source, copier, _disguises(exercise, spec)))
    return klass


def _disguises(exercise: str, spec: LabSpec) -> tuple[str, ...]:
    if exercise in spec.questions:
        return ("reworded with synonyms", "sentences swapped", "the copier's own numbers")
    found = ("variables renamed", "comments changed")
    if exercise.startswith("custom"):
        found += ("methods reordered (forward first)", "layer widths and kernel sizes changed")
    return found


def write_course(klass: SyntheticClass, root: Path) -> Path:
    """Write a course at ``root``: the repository's config, the lab's release and the class's submissions."""
    import shutil

    lab, release_path = klass.lab, LABS[klass.lab].release
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "release" / lab).mkdir(parents=True, exist_ok=True)
    shutil.copy2(release_path, root / "release" / lab / release_path.name)
    release = nbformat.read(str(release_path), as_version=4)
    for student, cells in klass.cells.items():
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in cells:
                cell.source = cells[gid]
        target = root / "submitted" / student / lab / f"{lab}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(target))
    return root
