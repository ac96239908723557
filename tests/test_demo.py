"""autograder/demo.py: the demo stops before grading when the build finds a problem."""

from __future__ import annotations

from autograder_support import mini_course

from autograder.cli import main


def test_demo_stops_with_one_line_when_the_build_finds_a_problem(tmp_path, capsys, monkeypatch):
    import autograder.demo

    found = ["release/mini/mini.ipynb cell 3 (square): nbgrader marker '### BEGIN SOLUTION'", "second"]
    monkeypatch.setattr(autograder.demo, "build", lambda cfg, labs: found)
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "--quiet", "demo", "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("course-grade demo: error: nothing graded")
    assert "BEGIN SOLUTION" in err[0] and "1 more" in err[0] and not (root / "submitted").exists()
