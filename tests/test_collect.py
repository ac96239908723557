"""Quick tests of the autograder stages that need no nbgrader run."""

from __future__ import annotations

import json
import zipfile

import nbformat
import pytest
from autograder_support import mini_course

from autograder import CourseError
from autograder.build.release import leaks
from autograder.build.sync import check_sync
from autograder.cells import MIN_SECRET_LINE, hidden_test_cells, read_notebook, secret_lines
from autograder.cli import main
from autograder.collect import collect, parse_name
from autograder.config import load_config
from autograder.export import LabTotals, _figure, _title
from autograder.feedback import redact_notebook
from autograder.plan.ledger import Ledger, LedgerEntry, job_key

LABS = ("ecg_rhythm_classification", "hr_estimation")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice/hr_estimation/hr_estimation.ipynb", ("alice", "hr_estimation")),
        ("hr_estimation_s123.ipynb", ("s123", "hr_estimation")),
        ("s123_hr_estimation.ipynb", ("s123", "hr_estimation")),
        ("ecg_rhythm_classification-jdoe.ipynb", ("jdoe", "ecg_rhythm_classification")),
        ("doe_12345_678_hr_estimation.ipynb", ("12345", "hr_estimation")),
        ("late_doe_12345_678_hr_estimation-1.ipynb", ("12345", "hr_estimation")),
        ("s999.ipynb", ("s999", None)),
        ("what is this.ipynb", (None, None)),
    ],
)
def test_parse_name(name, expected):
    assert parse_name(name, LABS) == expected


def test_config_reads_labs_and_timeouts(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert cfg.labs == ("mini",) and cfg.cell_timeout == 20 and cfg.course_id == "course-mini"
    assert not str(cfg.work_root).startswith(str(cfg.root))
    with pytest.raises(CourseError, match="unknown lab"):
        cfg.check_lab("nope")
    with pytest.raises(CourseError, match="no nbgrader_config.py"):
        load_config(tmp_path / "nowhere")


def test_secret_lines_and_leak_check(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    source = read_notebook(cfg.source_notebook("mini"))
    secrets = secret_lines(source)
    assert "squared_value_of_x = x * x" in secrets["square"]
    assert any("hidden check on negatives" in line for line in secrets["test_square"])
    assert secrets["q1"][0].startswith("A square is never negative")
    release = tmp_path / "release"
    release.mkdir()
    leaky = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")])
    leaky.cells.append(nbformat.v4.new_markdown_cell(secrets["q1"][0]))
    nbformat.write(leaky, str(release / "mini.ipynb"))
    found = leaks(cfg, "mini", release)
    assert any("cell 0" in f and "BEGIN SOLUTION" in f for f in found)
    assert any("cell 1" in f and "'q1'" in f for f in found)
    clean = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("# YOUR CODE HERE\nraise NotImplementedError()")]
    )
    nbformat.write(clean, str(release / "mini.ipynb"))
    assert leaks(cfg, "mini", release) == []


def test_check_sync_detects_drift(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    assert check_sync(cfg) == []
    script = cfg.source_script("mini")
    script.write_text(script.read_text().replace("Return x squared", "Return x times x"))
    problems = check_sync(cfg)
    assert len(problems) == 1 and "course-grade sync" in problems[0]


def test_redaction_keeps_name_points_message(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    nb = read_notebook(cfg.source_notebook("mini"))
    hidden = hidden_test_cells(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    cell.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="AssertionError",
            evalue="square(-4) should be 16",
            traceback=["assert square(-4) == 16, ...", "AssertionError: boom"],
        )
    ]
    redact_notebook(nb, set(hidden))
    text = json.dumps(nb)
    for lines in hidden.values():
        for line in (ln.strip() for ln in lines):  # ("" or ")" reveal nothing: secrets are longer)
            assert len(line) < MIN_SECRET_LINE or line not in text, line
    assert "hidden tests for test_square: source withheld" in cell.source
    assert cell.outputs[0]["traceback"] == ["AssertionError: square(-4) should be 16"]
    assert cell.metadata["nbgrader"]["points"] == 2


def test_ledger_roundtrip_and_key(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    key = job_key(b"nb", b"release", "{}")
    assert key != job_key(b"nb2", b"release", "{}") and key == job_key(b"nb", b"release", "{}")
    ledger.record(
        LedgerEntry("alice", "mini", key, score=1, max_score=1, auto_max_score=1, manual_max_score=0)
    )
    assert Ledger(tmp_path / "ledger.json").is_done("mini", "alice", key)
    (tmp_path / "ledger.json").write_text("{broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        Ledger(tmp_path / "ledger.json")


def test_collect_maps_names_and_rejects_bad_files(tmp_path):
    cfg = load_config(mini_course(tmp_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    source = read_notebook(cfg.source_notebook("mini"))
    nbformat.write(source, str(inbox / "mini_s1.ipynb"))
    nbformat.write(source, str(inbox / "doe_4242_99_mini.ipynb"))
    (inbox / "notes.txt").write_text("hello")
    (inbox / "mini_s2.ipynb").write_text("{not json")
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), str(inbox / "mini_s3.ipynb")
    )
    outcomes = {o.name: o for o in collect(cfg, inbox)}
    assert outcomes["mini_s1.ipynb"].status == "imported"
    assert (cfg.root / "submitted" / "s1" / "mini" / "mini.ipynb").is_file()
    assert (cfg.root / "submitted" / "s1" / "mini" / "timestamp.txt").is_file()
    assert outcomes["doe_4242_99_mini.ipynb"].student == "4242"
    assert outcomes["notes.txt"].status == "rejected" and "not a notebook" in outcomes["notes.txt"].detail
    assert "not a valid notebook" in outcomes["mini_s2.ipynb"].detail
    assert "no known lab" in outcomes["mini_s3.ipynb"].detail
    edited = read_notebook(cfg.source_notebook("mini"))
    edited.cells[0].source += "\nchanged"
    nbformat.write(edited, str(inbox / "mini_s1.ipynb"))
    again = {o.name: o for o in collect(cfg, inbox)}
    assert again["mini_s1.ipynb"].status == "conflict"
    assert again["doe_4242_99_mini.ipynb"].status == "unchanged"
    assert (
        read_notebook(cfg.root / "submitted" / "s1" / "mini" / "mini.ipynb").cells[0].source
        == source.cells[0].source
    )
    assert {o.name: o for o in collect(cfg, inbox, force=True)}["mini_s1.ipynb"].status == "imported"
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("mini_zipper.ipynb", nbformat.writes(source))
    assert collect(cfg, archive)[0].student == "zipper"


def test_collect_names_a_corrupt_zip_and_fails_when_nothing_was_imported(tmp_path, capsys):
    root = mini_course(tmp_path)
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("mini_s1.ipynb", nbformat.writes(read_notebook(root / "source" / "mini" / "mini.ipynb")))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    assert main(["--course", str(root), "collect", str(truncated)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "truncated.zip: not a readable zip archive" in err[0] and "Fix:" in err[0]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "notes.txt").write_text("hello")
    (inbox / "mini_s2.ipynb").write_text("{not json")
    assert main(["--course", str(root), "collect", str(inbox)]) == 1  # every file rejected
    assert "nothing imported" in capsys.readouterr().err
    assert main(["--course", str(root), "collect", str(good)]) == 0


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "collect", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder or zip" in err[0]
    assert main(["--course", str(root), "grade", "nolab"]) == 2


def test_demo_stops_with_one_line_when_the_build_finds_a_problem(tmp_path, capsys, monkeypatch):
    import autograder.demo

    found = ["release/mini/mini.ipynb cell 3 (square): nbgrader marker '### BEGIN SOLUTION'", "second"]
    monkeypatch.setattr(autograder.demo, "build", lambda cfg, labs: found)
    root = mini_course(tmp_path)
    assert main(["--course", str(root), "--quiet", "demo", "--jobs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("course-grade demo: error: nothing graded")
    assert "BEGIN SOLUTION" in err[0] and "1 more" in err[0] and not (root / "submitted").exists()


def test_distribution_figure_names_the_manual_part(tmp_path):
    graded = LabTotals(percents=[0.0, 50.0, 100.0], max_score=18.0, manual_points=6.0, awaiting_manual=0)
    waiting = LabTotals(percents=[66.7], max_score=18.0, manual_points=6.0, awaiting_manual=1)
    assert _title("ecg", graded) == "ecg (n=3)"
    assert _title("ecg", waiting) == "ecg (n=1)\n1 submission awaits manual grading (6 of 18 points)"
    several = LabTotals(percents=[10.0, 20.0], max_score=30.0, manual_points=13.0, awaiting_manual=2)
    assert "2 submissions await manual grading (13 of 30 points)" in _title("hr", several)
    _figure({"ecg": graded, "hr": several}, tmp_path / "dist.png")
    assert (tmp_path / "dist.png").read_bytes()[:4] == b"\x89PNG"


def test_unlocked_given_code_fails_check_unless_tagged_free(tmp_path, capsys):
    from autograder.build.release import unlocked_cells
    from autograder.cells import FREE_TAG

    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert unlocked_cells(cfg, "mini") == []
    path = cfg.source_notebook("mini")
    nb = read_notebook(path)
    nb.cells.insert(2, nbformat.v4.new_code_cell("N_EPOCHS = 3"))
    nbformat.write(nb, str(path))
    (found,) = unlocked_cells(cfg, "mini")
    assert "cell 2 ('N_EPOCHS = 3'...): given code that is not locked" in found
    assert main(["--course", str(root), "check"]) == 1
    assert "not locked" in capsys.readouterr().out
    nb.cells[2].metadata["tags"] = [FREE_TAG]
    nbformat.write(nb, str(path))
    assert unlocked_cells(cfg, "mini") == []


def test_a_hidden_test_without_a_grader_check_fails_check(tmp_path, capsys):
    from autograder.build.release import undecided_hidden_tests

    root = mini_course(tmp_path)
    cfg = load_config(root)
    assert undecided_hidden_tests(cfg, "mini") == []
    path = cfg.source_notebook("mini")
    nb = read_notebook(path)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_mean")
    hidden = "### BEGIN HIDDEN TESTS\nassert mean_value([1, 2]) == 1.5\n### END HIDDEN TESTS"
    cell.source = f"assert mean_value([1, 2, 3]) == 2\n{hidden}"
    nbformat.write(nb, str(path))
    (found,) = undecided_hidden_tests(cfg, "mini")
    assert "(test_mean): hidden test without a grader check" in found
    assert main(["--course", str(root), "check"]) == 1
    assert "without a grader check" in capsys.readouterr().out


@pytest.mark.parametrize("lab", LABS)
def test_every_given_code_cell_of_the_labs_is_locked(lab):
    from pathlib import Path

    from autograder.cells import unlocked_code_cells

    path = Path(__file__).resolve().parents[1] / "source" / lab / f"{lab}.ipynb"
    assert unlocked_code_cells(read_notebook(path)) == []


def test_guard_proof_binds_nonce_status_and_restored_hooks():
    from autograder.kernel.guard import proof, verify

    key = b"k" * 32
    good = {"status": "error", "course_guard": {"restored": [], "proof": proof(key, "n1", "error", [])}}
    assert verify(key, "n1", good) == (True, [])
    assert verify(key, "n2", good)[0] is False  # a replayed proof of another cell
    assert verify(key, "n1", {**good, "status": "ok"})[0] is False  # an error rewritten as ok
    hidden = {**good, "course_guard": {"restored": ["x"], "proof": good["course_guard"]["proof"]}}
    assert verify(key, "n1", hidden)[0] is False
    assert verify(b"", "n1", good)[0] is False and verify(key, "n1", {"status": "ok"})[0] is False
