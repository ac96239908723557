"""autograder/export.py: the grade distribution figure."""

from __future__ import annotations

from autograder.export import LabTotals, figure_title, grade_figure


def test_distribution_figure_names_the_manual_part(tmp_path):
    graded = LabTotals(percents=[0.0, 50.0, 100.0], max_score=18.0, manual_points=6.0, awaiting_manual=0)
    waiting = LabTotals(percents=[66.7], max_score=18.0, manual_points=6.0, awaiting_manual=1)
    assert figure_title("ecg", graded) == "ecg (n=3)"
    assert figure_title("ecg", waiting) == "ecg (n=1)\n1 submission awaits manual grading (6 of 18 points)"
    several = LabTotals(percents=[10.0, 20.0], max_score=30.0, manual_points=13.0, awaiting_manual=2)
    assert "2 submissions await manual grading (13 of 30 points)" in figure_title("hr", several)
    grade_figure({"ecg": graded, "hr": several}, tmp_path / "dist.png")
    assert (tmp_path / "dist.png").read_bytes()[:4] == b"\x89PNG"
