"""Similarity across the class: which submissions share work, exercise by exercise, for a person to read.

One module per step: :mod:`~autograder.similarity.exercises` (each student's own text of each graded
solution cell and written answer, the release's text left out), :mod:`~autograder.similarity.normalise`
(what is compared: digits of code and numbers of answers replaced), :mod:`~autograder.similarity.scoring`
(copydetect's fingerprints and overlaps, every pair of an exercise), :mod:`~autograder.similarity.calibrate`
(how unusual a pair is for its exercise), :mod:`~autograder.similarity.rank` (one exercise's pairs
scored, calibrated and ranked), :mod:`~autograder.similarity.figure`,
:mod:`~autograder.similarity.report_html` and :mod:`~autograder.similarity.report_csv` (what the instructor
reads) and :mod:`~autograder.similarity.run` (``course-grade similarity``). docs/similarity.md explains
the report.
"""
