"""nbgrader configuration: the repository root is the course root.

Plain ``nbgrader`` commands (generate_assignment, autograde, generate_feedback, export) work from here.
``course-grade`` reads the same file and adds isolation, parallelism and resumption on top.
"""

import os

c = get_config()  # noqa: F821 (injected by traitlets)

#: The labs of the course, in teaching order (nbgrader assignment ids = folders under source/).
LABS = ["ecg_rhythm_classification", "hr_estimation"]

c.CourseDirectory.course_id = "wearable-cardiac-dl"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# formgrader's release/collect buttons use an exchange folder: keep it inside the course (git-ignored).
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
# Only notebooks are assignment files; the paired .py sources stay with the instructors.
c.CourseDirectory.notebook_id = "*"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.py", "feedback"]

# Training cells run for minutes: nbgrader's 30 s default would kill them.
c.Execute.timeout = 1200
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
# A whole notebook's wall-clock limit while `course-grade grade` runs it (--timeout-notebook overrides it).
c.GuardedExecute.notebook_timeout = 3600
# After a cell's reply, wait this long for its last outputs (nbgrader's 4 s fails a cell on a loaded machine
# whose kernel is still sending figures or a hidden check's results).
c.Execute.iopub_timeout = 60

# A test cell the student deleted is put back (with a note) and run, like an edited one is overwritten.
# RestoreCells is nbgrader's OverwriteCells, made robust to a deleted exercise next to the deleted test.
from nbgrader.converters.autograde import Autograde  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    "autograder.execute.restore.RestoreCells" if p.__name__ == "OverwriteCells" else p
    for p in Autograde.class_traits()["sanitize_preprocessors"].default()
]
c.RestoreCells.add_missing_cells = True

# Hidden checks are decided outside the student's kernel (docs/authoring.md, "Writing a hidden check"): the
# grader-check regions are taken out of the test cells before execution and run in the grading process on
# what the probes emitted. The ECG lab's probes classify held-out strips whose labels stay with the grader:
# drawn from the synthetic generator for the synthetic default ("" below); a course on real data names an
# instructor's held-out file here, e.g. {"ecg_rhythm_classification": "heldout/ecg_rhythms_heldout.npz"}.
from nbgrader.preprocessors import Execute  # noqa: E402

c.Autograde.autograde_preprocessors = [
    step
    for default in Autograde.class_traits()["autograde_preprocessors"].default()
    for step in (
        ["autograder.checks.steps.PrepareHiddenChecks", default, "autograder.checks.steps.DecideHiddenChecks"]
        if default is Execute
        else [default]
    )
]
c.PrepareHiddenChecks.evaluation_files = {"ecg_rhythm_classification": ""}

# Feedback never shows hidden-test source, whichever command or button makes it.
from nbgrader.converters.generate_feedback import GenerateFeedback  # noqa: E402

c.GenerateFeedback.preprocessors = [
    *GenerateFeedback.class_traits()["preprocessors"].default(),
    "autograder.feedback.RedactHiddenTests",
    "autograder.inert.MakeInert",
]

# Nothing a submission carries runs in a grader's browser (docs/security.md, "Stored script in submissions"):
# the autograded notebook is stored inert (outputs and written answers; submitted/ keeps the original), the
# feedback converter above makes it inert again, and so does formgrader's submission page (an HTMLExporter).
c.Autograde.autograde_preprocessors = [*c.Autograde.autograde_preprocessors, "autograder.inert.MakeInert"]
c.HTMLExporter.preprocessors = ["autograder.inert.MakeInert"]

# Student notebooks must not stay paired with the instructors' .py sources.
from nbgrader.converters.generate_assignment import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    "autograder.build.preprocessors.StripJupytextPairing",
]

# Keep generated releases clean.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
