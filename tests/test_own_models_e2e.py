"""Own models at the real training settings: disguises score their controls; honest ones keep every point.

``course-grade grade`` on the real ECG lab with its real training settings (50 epochs for the given CNN, the
notebook's 15 for the custom models, no cap) on the smaller capped data file (200 strips per rhythm: the
given CNN then reaches the accuracy bar, so a custom model that passes off its work would pass it too).
Training reuse is on, as an instructor grades. Each disguise differs from its control only by its lines:
the control of a disguised ``CustomModel1`` is the useless model of tests/attack_support.py; the control of
a constructor that hands back the trained CNN is the same class without that constructor.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from attack_support import ECG_CONTROL, USELESS, with_cells
from e2e_support import capped_data_dir, make_course, source_notebook, submit
from own_model_support import DISGUISED, HONEST, HONEST_SECOND

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.config import load_config
from autograder.grade import grade
from autograder.options import GradeOptions

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
LAB = "ecg_rhythm_classification"
#: disguise -> its control's CustomModel1 (None: the useless model of the value attacks' control)
DISGUISES = {
    "forward_calls_the_given_cnn": None,
    "copy_of_the_given_cnn_behind_a_layer": None,
    "constructor_returns_the_trained_cnn": "class CustomModel1(torch.nn.Module):\n    pass\n",
    "stashed_copy_of_the_weights": None,
}
#: Honest cases at real settings: the reference (full points), and a CustomModel2 subclassing the reference's
#: CustomModel1 (no finding; on this small data file it misses the accuracy bar, honestly: 0.39). Honest
#: designs of every kind are run against the check itself in tests/test_ownership.py.
HONEST_CASE = {"custom_model_2": HONEST_SECOND["subclass_of_the_first"]}
#: Eight honest architectures graded for every point, two per submission (CustomModel1, CustomModel2); the
#: catalogue's other honest designs (a seeded ``__init__``, ``torch.jit.script``) are checked directly in
#: tests/test_ownership.py.
HONEST_PAIRS = (
    ("residual", "recurrent"),
    ("dilated", "attention"),
    ("depthwise_separable", "functional"),
    ("buffers_and_weight_tying", "own_base_class_and_helper"),
)


def test_disguised_models_score_their_controls_and_honest_ones_every_point(tmp_path, monkeypatch):
    monkeypatch.delenv("LABKIT_MAX_EPOCHS", raising=False)
    course = make_course(tmp_path, LAB)
    (course / "data").symlink_to(capped_data_dir(), target_is_directory=True)
    reference = read_notebook(source_notebook(LAB))
    submit(course, LAB, "reference", source_notebook(LAB))
    submit(course, LAB, "honest_subclass", with_cells(reference, HONEST_CASE))
    for first, second in HONEST_PAIRS:
        second_model = HONEST[second].replace("CustomModel1", "CustomModel2")
        cells = {"custom_model_1": HONEST[first], "custom_model_2": second_model}
        submit(course, LAB, f"honest_{first}__{second}", with_cells(reference, cells))
    for name, control in DISGUISES.items():
        own = control or USELESS.format(name="CustomModel1", k=1)
        submit(course, LAB, _control(name), with_cells(reference, {**ECG_CONTROL, "custom_model_1": own}))
        submit(
            course,
            LAB,
            f"own_{name}",
            with_cells(reference, {**ECG_CONTROL, "custom_model_1": DISGUISED[name]}),
        )
    assert main(["--course", str(course), "--quiet", "build"]) == 0

    entries = {
        e.student: asdict(e) for e in grade(load_config(course), [LAB], GradeOptions(jobs=2, quiet=True))
    }

    reference = entries["reference"]
    assert reference["score"] == reference["auto_max_score"], (reference["tests"], reference["notes"])
    for student in ("reference", "honest_subclass"):  # (the subclass misses the bar on this small file)
        assert not any("accuracy: " in note for note in entries[student]["notes"]), entries[student]["notes"]
    for first, second in HONEST_PAIRS:
        honest = entries[f"honest_{first}__{second}"]
        assert honest["score"] == honest["auto_max_score"], (first, second, honest["tests"])
        assert not honest["notes"], (first, second, honest["notes"])
    for name in DISGUISES:
        attack, control = entries[f"own_{name}"], entries[_control(name)]
        assert attack["score"] == control["score"], (name, attack["tests"], control["tests"])
        assert any(n.startswith("test_custom1_accuracy: CustomModel1: ") for n in attack["notes"]), attack[
            "notes"
        ]
        assert not any("accuracy: " in note for note in control["notes"]), control["notes"]


def _control(name: str) -> str:
    """The control's student id: one shared useless control, or the disguise's own."""
    return f"control_{name}" if DISGUISES[name] else "control"
