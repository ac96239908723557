"""Grading written answers by question across the class, with shared rubrics, into nbgrader's gradebook.

- ``questions``: the lab's written questions (prompt, model answer, grading notes, outputs to show), from
  the source notebook and the course's declaration file ``manual_grading.toml``.
- ``answers``: every student's answer to one question, with the outputs the question is about, read from
  the autograded notebooks.
- ``rubric``: rubric items and the items applied to each answer, stored in the course gradebook beside
  nbgrader's tables; scores and comments written into nbgrader's ``grade``/``comment`` rows.
- ``app``: the web view (tornado), served by ``course-grade manual`` or inside the instructor's
  JupyterLab (``extension``).
"""
