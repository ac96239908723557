"""Grading by question at the size of a class: 200 submissions of notebooks the size of a graded lab.

Measures, in one run, on the manual-grading test lab (tests/manual_support.py) with 200 students whose
autograded notebooks each carry ``--mb`` MB of outputs (figures, training logs; a graded HR notebook is a
few MB):
1. opening a question in the view (``Grading.question``): first open (reads 200 notebooks) and again (cached);
2. one rubric key press (``Grading.mark``) and editing an item carried by all 200 answers
   (``Grading.edit_item``), against the named baseline "one formgrader save": nbgrader's own
   ``Gradebook.find_grade`` + ``manual_score`` + ``commit``, what formgrader's score input does per answer.

Usage::

    .venv/bin/python bench/manual_grading_scale.py [--students 200] [--mb 2]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import manual_support as ms  # noqa: E402
from nbgrader.api import Gradebook  # noqa: E402

from autograder.config import load_config  # noqa: E402
from autograder.manual.service import Grading  # noqa: E402


def _class(n: int) -> list[ms.Student]:
    return [
        ms.Student(f"p{i:03d}", base.kind, base.answer, base.mae, base.passed)
        for i, base in ((i, ms.CLASS[i % len(ms.CLASS)]) for i in range(n))
    ]


def _pad(root: Path, megabytes: float) -> None:
    """Give every autograded notebook a figure-sized output in its setup cell."""
    blob = base64.b64encode(bytes(int(megabytes * 1e6 * 3 / 4))).decode()
    for path in root.glob(f"autograded/*/{ms.LAB}/{ms.LAB}.ipynb"):
        nb = json.loads(path.read_text())
        nb["cells"][1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                                      "data": {"image/png": blob, "text/plain": "<Figure>"}}]  # fmt: skip
        path.write_text(json.dumps(nb))


def _seconds(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    """Build the class, time the view's operations and the baseline, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--mb", type=float, default=2.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = ms.build_course(Path(tmp) / "course", _class(args.students))
        _pad(root, args.mb)
        cfg = load_config(root)
        grading = Grading(cfg)
        first = _seconds(lambda: grading.question(ms.LAB, ms.QUESTION))
        again = _seconds(lambda: grading.question(ms.LAB, ms.QUESTION))
        item = grading.add_item(ms.LAB, ms.QUESTION, 1, "Quotes the number")["items"][0]["id"]
        grades = [a["grade"] for a in grading.question(ms.LAB, ms.QUESTION)["answers"]]
        marks = [_seconds(lambda g=g: grading.mark(ms.LAB, ms.QUESTION, g, item, True)) for g in grades]
        edit = _seconds(lambda: grading.edit_item(ms.LAB, ms.QUESTION, item, 2, "Quotes the number"))
        with Gradebook(cfg.db_url, cfg.course_id) as gb:
            saves = []
            for student in _class(args.students):
                start = time.perf_counter()
                gb.find_grade(ms.OTHER_QUESTION, ms.LAB, ms.LAB, student.name).manual_score = 1.0
                gb.db.commit()
                saves.append(time.perf_counter() - start)
    median = sorted(marks)[len(marks) // 2]
    base = sorted(saves)[len(saves) // 2]
    print(f"{args.students} submissions, {args.mb:g} MB of outputs each")
    print(f"open a question: first {first:.2f} s, again {again:.2f} s")
    print(f"one rubric key (mark + rescore + response): median {median * 1000:.1f} ms")
    print(f"baseline, one formgrader save (nbgrader Gradebook): median {base * 1000:.1f} ms "
          f"(ratio {median / base:.2f})")  # fmt: skip
    print(f"edit an item carried by all {args.students} answers: {edit:.2f} s")


if __name__ == "__main__":
    main()
