"""``autograder/similarity/``: normalisation, scoring, calibration, and the report on a generated class."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import browser_support as bs
import numpy as np
import pytest
import similarity_support as ss

from autograder import cli
from autograder.config import load_config
from autograder.similarity import normalise
from autograder.similarity.calibrate import HIGHLIGHT_SHARED, HIGHLIGHT_Z, SPREAD_FLOOR, calibrate
from autograder.similarity.exercises import ANSWER, CODE, Exercise, Work, own_text
from autograder.similarity.rank import rank_exercise
from autograder.similarity.run import report_paths, similarity
from autograder.similarity.scoring import given_hashes, pair_score, prepare
from labkit.exits import RefusedOverwriteError

HONEST = 40


# ------------------------------------------------------------------------------------------ normalise
def test_answer_numbers_become_one_placeholder_and_map_back():
    text = "The **model** reaches 0.85 accuracy (1,500 strips)."
    got = normalise.answer(text)
    assert got.text == "the model reaches # accuracy # strips"
    start = got.text.index("#")
    assert text[slice(*got.to_original(start, start + 1))] == "0.85"
    assert (
        normalise.answer("It reaches 0.91 on 300 strips").text
        == normalise.answer("it REACHES 0.77 on 12 strips").text
    )


def test_code_renames_only_the_students_own_names():
    source = (
        "def f(rhythms):\n    folds = np.hstack(parts)  # note\n    self.conv = torch.nn.Conv1d(16, 32, 5)\n"
    )
    bound = normalise.bound_names(source)
    assert {"f", "rhythms", "folds", "conv"} <= bound and not {"np", "hstack", "torch", "parts"} & bound
    got = normalise.code(source, bound)
    assert got.text == "defV(V):V=np.hstack(parts)self.V=torch.nn.Conv1d(0,0,0)"
    start = got.text.index("np")
    assert source[slice(*got.to_original(start, start + len("np.hstack")))] == "np.hstack"


def test_an_answer_is_compared_as_words_one_character_each_mapped_back():
    text = "The model reaches 0.85 accuracy."
    words = normalise.as_words(normalise.answer(text))
    assert (
        len(words.text) == 5
        and words.text == normalise.as_words(normalise.answer("the MODEL reaches 12 accuracy")).text
    )
    assert text[slice(*words.to_original(1, 3))] == "model reaches"


def test_a_cell_that_does_not_parse_still_has_its_assigned_names():
    assert normalise.bound_names("x = 1\nfor (:\ny = x") == {"x", "y"}


# ---------------------------------------------------------------------------------------- exercises
def test_own_text_leaves_out_every_line_of_the_release_cell():
    given = 'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n\ny = f(1)\n'
    handed_in = 'def f(x):\n    """Doc."""\n    z = x * 2\n    return z\n\n\ny = f(1)\n'
    assert own_text(handed_in, given) == "    z = x * 2\n    return z"
    inside = 'def f(x):\n    """Doc."""\n    y = f(1)\n    return y\n\n\ny = f(1)\n'
    assert own_text(inside, given) == "    y = f(1)\n    return y", "a given line is matched once, in order"
    moved = 'y = f(1)\n\n\ndef f(x):\n    """Doc."""\n    z = x * 2\n    return z\n'
    assert own_text(moved, given) == "    z = x * 2\n    return z", "given lines moved are still given"


# ------------------------------------------------------------------------------------------- scoring
def _prepared(student: str, text: str, kind: str = CODE, given: str = "") -> object:
    return prepare(Work(student, text, text), kind, given_hashes(given, kind))


def test_renamed_variables_and_changed_numbers_score_as_a_copy_and_other_code_does_not():
    a = "scale = 1.0 / np.std(signals[k])\nresult = np.clip(signals * scale, -5, 5)\nreturn result.mean(0)\n"
    b = "alpha = 2.5 / np.std(signals[k])\nout = np.clip(signals * alpha, -3, 3)  # me\nreturn out.mean(1)\n"
    other = "values = sorted(set(labels))\nlookup = {v: i for i, v in enumerate(values)}\nreturn lookup\n"
    assert pair_score(_prepared("a", a), _prepared("b", b)) == pytest.approx(1.0)
    assert pair_score(_prepared("a", a), _prepared("c", other)) == 0.0


def test_the_release_text_links_no_one():
    given = "model = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 5), torch.nn.ReLU(), torch.nn.Flatten())\n"
    assert pair_score(_prepared("a", given, given=given), _prepared("b", given, given=given)) == 0.0


@pytest.mark.slow
def test_scores_do_not_depend_on_the_process_hash_seed():
    code = (
        "from autograder.similarity.scoring import pair_score, prepare;"
        "from autograder.similarity.exercises import Work;"
        "c = ['x = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 5), torch.nn.ReLU(), torch.nn.Flatten())',"
        "     'y = torch.nn.Sequential(torch.nn.Conv1d(1, 16, 3), torch.nn.GELU(), torch.nn.Flatten())'];"
        "p = [prepare(Work(str(i), t, t), 'code', frozenset()) for i, t in enumerate(c)];"
        "print(pair_score(p[0], p[1]))"
    )
    here: dict = {}
    exec(code.replace("print(", "out = ("), here)  # noqa: S102 (the same lines, in this process)
    other = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"}, capture_output=True,
        text=True, check=True, cwd=ss.REPO,
    ).stdout  # fmt: skip
    assert 0 < here["out"] < 1 and other.strip() == str(here["out"])


# ----------------------------------------------------------------------------------------- calibrate
def test_calibration_is_robust_and_has_a_floor():
    scores = np.r_[np.full(299, 0.2), 1.0]
    c = calibrate(scores)
    assert c.median == 0.2 and c.spread == SPREAD_FLOOR and not c.converges
    assert c.unusualness(1.0) == pytest.approx(0.8 / SPREAD_FLOOR) and c.highlighted(1.0, 100.0)
    assert not c.highlighted(0.2 + (HIGHLIGHT_Z - 0.5) * SPREAD_FLOOR, 100.0)
    assert not c.highlighted(1.0, HIGHLIGHT_SHARED[CODE] - 1), "a shared one-liner is not highlighted"
    assert list(c.highlights(np.array([1.0, 0.2]), np.array([100.0, 100.0]))) == [True, False]


def test_rarity_weighting_ranks_a_pair_sharing_an_unusual_line_above_pairs_sharing_the_common_one():
    from autograder.similarity.rarity import rarity_scores

    common = "total = np.sum(values)\nreturn total / len(values)\n"
    odd = "values = sorted(set(values), key=abs)[::-1]\n"
    works = [Work(f"s{i}", common) for i in range(6)] + [Work("a", odd + common), Work("b", odd + common)]
    got = rarity_scores([prepare(w, CODE, frozenset()) for w in works])
    assert got.score[6, 7] == pytest.approx(1.0) and got.score[0, 6] < 0.5
    assert got.shared[6, 7] > got.shared[0, 1] and got.score[0, 1] == pytest.approx(1.0)


def test_an_exercise_where_many_pairs_are_identical_converges_and_highlights_nothing():
    scores = np.r_[np.zeros(95), np.ones(5)]
    c = calibrate(scores)
    assert c.converges and not c.highlighted(1.0, 100.0)


# ---------------------------------------------------------------------------------- a generated class
# Built once for the module (about 30 s on 2 cores): 40 honest students and 8 planted copiers.
@pytest.fixture(scope="module")
def course(tmp_path_factory) -> tuple[Path, ss.SyntheticClass]:
    klass = ss.build_class(HONEST, copies=1, seed=0)
    return ss.write_course(klass, tmp_path_factory.mktemp("similarity") / "course"), klass


@pytest.fixture(scope="module")
def report(course):
    root, _ = course
    return similarity(load_config(root), ss.LAB, root / "exports", quiet=True)


def _honest_and_planted(results, klass):
    """Return the honest pairs, how many of them are highlighted, and each planted copy's rank.

    A copy's rank counts every pair tied with it (same score, same rare text) as ahead of it.
    """
    honest = flagged = 0
    ranks = {}
    for result in results:
        planted = klass.copied_pairs(result.exercise.grade_id)
        for key in planted:
            ranks[result.exercise.grade_id] = result.rank_of(*sorted(key))
        listed = {frozenset((p.student_a, p.student_b)): p for p in result.top}
        honest += result.scores.size - len(planted)
        flagged += int(result.calibration.highlights(result.scores, result.shared).sum())
        flagged -= sum(listed[key].highlighted for key in planted if key in listed)
    return honest, flagged, ranks


@pytest.mark.slow
def test_every_planted_copy_ranks_in_the_top_5_of_its_exercise(course, report):
    """Every planted copy, in converging exercises too, ranks in the top 5 of its exercise (ties ahead).

    The class (``similarity_support``): 40 honest students, each writing every exercise from independent
    choices (approach, calls, loop or comprehension, names, comments, numbers; custom models' family,
    layers and layout; short exercises' habits: an input conversion or check, a debugging line, a result
    check, each slot empty for about half the class; answers' points, order, phrasings, words and
    numbers), and one copier per exercise who copies a random honest student's choices, habits and wording
    with renamed variables, changed comments, methods reordered, layer widths changed, or an answer
    reworded with the copier's numbers.
    """
    _, klass = course
    _, _, ranks = _honest_and_planted(report.results, klass)
    converging = {r.exercise.grade_id for r in report.results if r.calibration.converges}
    print("planted copies' ranks:", ranks, "converging:", sorted(converging))
    assert {"split", "encoding"} <= converging and len(ranks) == len(klass.plants) == 7
    assert all(rank <= 5 for rank in ranks.values()), ranks


@pytest.mark.slow
def test_fewer_than_2_percent_of_honest_pairs_are_highlighted(course, report):
    honest, flagged, _ = _honest_and_planted(report.results, course[1])
    print(f"honest pairs highlighted: {flagged} / {honest} = {100 * flagged / honest:.2f}%")
    assert honest > 5000 and flagged / honest < 0.02


@pytest.mark.slow
def test_short_exercises_with_one_natural_solution_are_said_to_converge(report):
    by_id = {r.exercise.grade_id: r for r in report.results}
    assert by_id["split"].calibration.converges and by_id["encoding"].calibration.converges
    assert not any(p.highlighted for r in report.results if r.calibration.converges for p in r.top)
    assert not by_id["scaling"].highlighted, "the one-liner shares too little rare text to highlight"
    assert (
        not by_id["custom_model_1"].calibration.converges
        and not by_id["q2_overfitting"].calibration.converges
    )


@pytest.mark.slow
def test_the_report_shows_passages_side_by_side_and_the_csv_lists_the_pairs(course, report):
    page = report.html.read_text()
    assert page.count('<section class="exercise"') == len(report.results) == 8
    assert "data:image/png;base64," in page and "<mark>" in page and "converges" in page.lower()
    assert not any(word in page.lower() for word in ("plagiar", "cheat", "guilty"))
    rows = list(csv.DictReader(report.csv.open()))
    assert {r["exercise"] for r in rows} == {r.exercise.grade_id for r in report.results}
    plant = next(p for p in course[1].plants if p.exercise == "custom_model_1")
    wanted = {"custom_model_1", plant.source, plant.copier}
    row = next(r for r in rows if {r["exercise"], r["student_a"], r["student_b"]} == wanted)
    assert int(row["rank"]) <= 5 and row["highlighted"] == "1"
    assert float(row["rare_text"]) >= HIGHLIGHT_SHARED[CODE]


@pytest.mark.slow
def test_the_command_prints_the_top_pairs_and_refuses_to_overwrite(course, report, capsys):
    root, _ = course
    out = root / "cli-report"
    assert (
        cli.main(["--course", str(root), "--quiet", "similarity", ss.LAB, "--out", str(out), "--top", "3"])
        == 0
    )
    printed = capsys.readouterr().out
    assert f"{ss.LAB} / custom_model_1" in printed and "#1 " in printed and "converges" in printed
    html, table = report_paths(out, ss.LAB)
    before = html.read_bytes()
    with pytest.raises(RefusedOverwriteError):
        similarity(load_config(root), ss.LAB, out, quiet=True)
    assert html.read_bytes() == before and table.is_file()


def test_a_lab_with_fewer_than_two_submissions_says_what_to_do(tmp_path):
    root = ss.write_course(ss.SyntheticClass(cells={"only": {}}), tmp_path / "course")
    assert cli.main(["--course", str(root), "similarity", ss.LAB]) == 2


@pytest.mark.slow
def test_an_exercise_of_each_kind_is_compared(report):
    kinds = {r.exercise.kind for r in report.results}
    assert kinds == {CODE, ANSWER}


def test_rank_exercise_lists_the_most_similar_pair_first():
    exercise = Exercise("x", CODE, "")
    works = [
        Work("a", "value = np.cumsum(data)[::2]\nreturn np.flip(value)\n"),
        Work("b", "total = np.cumsum(data)[::2]\nreturn np.flip(total)\n"),
        Work("c", "counts = collections.Counter(items)\nreturn counts.most_common(3)\n"),
    ]
    result = rank_exercise(exercise, works, "", top=3)
    assert (result.top[0].student_a, result.top[0].student_b) == ("a", "b") and result.top[0].score == 1.0
    assert result.top[0].passages.spans_a and result.scores.size == 3


@pytest.mark.browser
def test_the_report_opens_in_chromium_with_its_figure(report, tmp_path):
    with bs.chromium_page(tmp_path / "profile", width=1300, height=1000) as page:
        page.goto(report.html.as_uri())
        figure = page.locator("#distribution")
        figure.wait_for(state="visible", timeout=10_000)
        assert page.evaluate("document.getElementById('distribution').naturalWidth") > 800
        assert page.locator("section.exercise").count() == len(report.results)
        assert page.locator("tr.highlighted").count() >= 5 and page.locator("mark").count() > 20
        bs.screenshot(page, "similarity_report")
        figure.screenshot(path=str(bs.ARTIFACTS / "similarity_figure.png"))
        page.locator("#custom_model_1").scroll_into_view_if_needed()
        bs.screenshot(page, "similarity_custom_model_1")


def test_forked_workers_score_every_pair_as_this_process_does(monkeypatch):
    from autograder.similarity import scoring

    klass = ss.build_class(8)
    cells = [klass.cells[s]["custom_model_2"] for s in sorted(klass.cells)]
    prepared = [prepare(Work(str(i), c, c), CODE, frozenset()) for i, c in enumerate(cells)]
    serial = scoring.all_pairs(prepared)
    monkeypatch.setattr(scoring, "PARALLEL_FROM", 2)
    assert np.array_equal(scoring.all_pairs(prepared, jobs=2), serial) and serial[0, 1:].any()


@pytest.mark.slow
def test_an_unreadable_notebook_is_named_and_left_out(tmp_path, capsys):
    root = ss.write_course(ss.build_class(3, copies=0), tmp_path / "course")
    broken = root / "submitted" / "broken" / ss.LAB / f"{ss.LAB}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ not json")
    assert cli.main(["--course", str(root), "--quiet", "similarity", ss.LAB, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"left out: {broken}: not a readable notebook" in printed and "(3 submissions)" in printed
    assert str(broken) in report_paths(tmp_path, ss.LAB)[0].read_text()


@pytest.mark.parametrize("lab", ["ecg_rhythm_classification", "hr_estimation"])
def test_what_remains_of_the_reference_solution_is_its_solution_regions(lab):
    from autograder.cells import grade_id, read_notebook, region_lines
    from autograder.config import default_markers
    from autograder.similarity.exercises import exercises

    markers = default_markers()
    source = {grade_id(c): c.source for c in read_notebook(ss.REPO / "source" / lab / f"{lab}.ipynb").cells}
    found = exercises(read_notebook(ss.REPO / "release" / lab / f"{lab}.ipynb"))
    assert len(found) >= 8 and {e.kind for e in found} == {CODE, ANSWER}
    for exercise in found:
        solution = {ln.strip() for ln in region_lines(source[exercise.grade_id], *markers.all()[:2])}
        kept = own_text(source[exercise.grade_id], exercise.given).splitlines()
        assert kept, exercise.grade_id
        assert all(line.strip() in solution for line in kept if not markers.begin_solution.match(line)
                   and not markers.end_solution.match(line)), exercise.grade_id  # fmt: skip


@pytest.mark.slow
def test_the_hr_lab_class_ranks_its_copies_and_says_its_short_exercises_converge(tmp_path):
    from autograder.similarity.run import compare_lab

    klass = ss.build_class(HONEST, copies=1, seed=0, lab=ss.HR_LAB)
    root = ss.write_course(klass, tmp_path / "course")
    results = compare_lab(load_config(root), ss.HR_LAB, quiet=True).results
    honest, flagged, ranks = _honest_and_planted(results, klass)
    converging = {r.exercise.grade_id for r in results if r.calibration.converges}
    print(
        "HR planted copies' ranks:",
        ranks,
        "converging:",
        sorted(converging),
        f"highlighted {flagged}/{honest}",
    )
    assert {"split_subjects", "compute_scaling", "compute_metrics", "derive_config"} <= converging
    assert len(ranks) == len(klass.plants) == 6 and all(rank <= 5 for rank in ranks.values()), ranks
    assert flagged / honest < 0.02
