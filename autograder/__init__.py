"""Instructor tooling for the course: build, collect, grade in parallel, feedback and reports.

nbgrader stays the engine. Each stage of the ``course-grade`` pipeline has one home:

============  =====================================================================================
stage         where
============  =====================================================================================
build         :mod:`autograder.build` (sync pairs, release, leak checks, the student hand-out)
collect       :mod:`autograder.collect` (notebooks or a zip into ``submitted/``)
plan          :mod:`autograder.plan` (what to grade: submissions, kits, jobs, the ledger)
execute       :mod:`autograder.execute` (one job in its own folder, on local processes or Dask)
kernel        :mod:`autograder.kernel` (the confined, guarded kernel a submission runs in)
checks        :mod:`autograder.checks` (hidden checks: the kernel's probe, the grader's decision)
merge         :mod:`autograder.merge` (one result into the course gradebook)
feedback      :mod:`autograder.feedback` (feedback pages, hidden tests withheld)
export        :mod:`autograder.export` (grade tables, pass rates, figures)
manual        :mod:`autograder.manual` (written answers, one question across the class)
similarity    :mod:`autograder.similarity` (which submissions share work, per exercise, for a person to read)
============  =====================================================================================

Shared by the stages: :mod:`autograder.config` (the course's settings, read from its
``nbgrader_config.py``), :mod:`autograder.options` (the run's options), :mod:`autograder.records` (the
named records passed between stages), :mod:`autograder.cells` (reading nbgrader cells),
:mod:`autograder.reuse` (training reuse, the grader's side) and :mod:`autograder.inert` (a notebook made
inert before graders' browsers show it: the last autograde step, a feedback and a formgrader step).
:mod:`autograder.grade` runs plan, execute and merge; :mod:`autograder.cli` is the ``course-grade`` command.
"""

from labkit.exits import UserError

__all__ = ["CourseError"]


class CourseError(UserError, RuntimeError):
    """A problem the instructor must fix; the message is one line naming what and how."""
