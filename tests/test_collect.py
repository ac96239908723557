"""autograder/collect.py: submission file names, notebooks or a zip into submitted/, the collect command's
exits."""

from __future__ import annotations

import zipfile

import nbformat
import pytest
from autograder_support import mini_course

from autograder.cells import read_notebook
from autograder.cli import main
from autograder.collect import collect, parse_name
from autograder.config import load_config

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
