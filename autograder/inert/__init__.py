"""Nothing a student's notebook carries runs in a grader's browser (docs/security.md, "Stored script").

A submission's outputs and markdown are HTML that graders open in their own authenticated Jupyter session
(formgrader, feedback pages, ``jupyter nbconvert``). This package makes a notebook inert: markup cleaned
through one allowlist (`html`, with nh3), SVG rebuilt from drawing elements (`svg`), markdown checked as
nbconvert renders it (`markdown`), and active output types dropped (`notebook`, with the nbgrader step
`MakeInert` the course's ``nbgrader_config.py`` configures).
"""

from autograder.inert.notebook import MakeInert, make_inert

__all__ = ["MakeInert", "make_inert"]
