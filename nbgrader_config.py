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

# A test cell the student deleted is put back (with a note) and run, like an edited one is overwritten.
# RestoreCells is nbgrader's OverwriteCells, made robust to a deleted exercise next to the deleted test.
from nbgrader.converters.autograde import Autograde  # noqa: E402

c.Autograde.sanitize_preprocessors = [
    "autograder.preprocessors.RestoreCells" if p.__name__ == "OverwriteCells" else p
    for p in Autograde.class_traits()["sanitize_preprocessors"].default()
]
c.RestoreCells.add_missing_cells = True

# Student notebooks must not stay paired with the instructors' .py sources.
from nbgrader.converters.generate_assignment import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    "autograder.preprocessors.StripJupytextPairing",
]

# Keep generated releases clean.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
