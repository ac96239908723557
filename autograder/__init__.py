"""Instructor tooling for the course: build, collect, grade in parallel, feedback and reports.

nbgrader stays the engine; each module here is one stage of the ``course-grade`` pipeline.
"""

from labkit.exits import UserError

__all__ = ["CourseError"]


class CourseError(UserError, RuntimeError):
    """A problem the instructor must fix; the message is one line naming what and how."""
