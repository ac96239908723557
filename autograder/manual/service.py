"""What the grading view does, apart from HTTP: questions, answers and rubric changes as plain dicts."""

from __future__ import annotations

from dataclasses import asdict

from nbgrader.api import Gradebook

from autograder import CourseError
from autograder.config import CourseConfig
from autograder.manual.answers import NotebookCache
from autograder.manual.questions import Question, find_question, questions
from autograder.manual.rubric import Answer, RubricStore


class Grading:
    """The grading-by-question service of one course (``db_url``: its gradebook, nbgrader's by default)."""

    def __init__(self, cfg: CourseConfig, db_url: str | None = None, labs: tuple[str, ...] = ()) -> None:
        self.cfg = cfg
        self.labs = tuple(cfg.check_lab(lab) for lab in labs) or cfg.labs_with_source
        url = db_url or cfg.db_url
        with Gradebook(url, cfg.course_id):  # nbgrader's own tables first (made when the gradebook is new)
            pass
        self.store = RubricStore(url)
        self.cache = NotebookCache()

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    def overview(self) -> list[dict]:
        """Return every lab's written questions with their progress (graded / total)."""
        return [
            {
                "lab": lab,
                "questions": [
                    {
                        **_question_head(q),
                        **self.progress(lab, q.grade_id),
                    }
                    for q in questions(self.cfg, lab)
                ],
            }
            for lab in self.labs
        ]

    def question(self, lab: str, gid: str) -> dict:
        """Return one question with its rubric and every answer; untouched answers are scored 0 first."""
        q = self._question(lab, gid)
        self.store.seed(lab, gid, q.rubric)
        texts = {
            a.student: self.cache.get(self.cfg, lab, a.student, gid, q.show)
            for a in self.store.answers(lab, gid)
        }
        untouched = [
            a.grade
            for a in self.store.answers(lab, gid)
            if texts[a.student].untouched and a.manual_score is None
        ]
        self.store.zero_untouched(untouched)
        answers = []
        for a in self.store.answers(lab, gid):
            seen = texts[a.student]
            answers.append(
                {
                    **_state(a),
                    "text": seen.text,
                    "found": seen.found,
                    "notebook": seen.notebook,
                    "blank": seen.untouched,
                    "shown": [
                        {"cell": s.cell, "outputs": [asdict(o) for o in s.outputs]} for s in seen.shown
                    ],
                }
            )
        return {
            "lab": lab,
            "question": {
                **_question_head(q),
                "prompt": q.prompt,
                "model_answer": q.model_answer,
                "notes": q.notes,
                "show": list(q.show),
            },
            "items": self.items(lab, gid),
            "answers": answers,
            "progress": self.progress(lab, gid),
        }

    def items(self, lab: str, gid: str) -> list[dict]:
        """Return the rubric items of a question."""
        return [asdict(i) for i in self.store.items(lab, gid)]

    def progress(self, lab: str, gid: str) -> dict:
        """Return graded and total answers of a question."""
        graded, total = self.store.progress(lab, gid)
        return {"graded": graded, "total": total}

    def states(self, lab: str, gid: str, grades: list[str] | None = None) -> dict:
        """Return the rubric, progress and the grading state of ``grades`` (all answers when None)."""
        wanted = None if grades is None else set(grades)
        return {
            "items": self.items(lab, gid),
            "answers": [
                _state(a) for a in self.store.answers(lab, gid) if wanted is None or a.grade in wanted
            ],
            "progress": self.progress(lab, gid),
        }

    # --- changes: each returns the new state of what it touched -------------------------------------------

    def add_item(self, lab: str, gid: str, points: float, text: str) -> dict:
        """Create a rubric item."""
        self._question(lab, gid)
        self.store.add_item(lab, gid, points, text)
        return self.states(lab, gid, [])

    def edit_item(self, lab: str, gid: str, item: int, points: float, text: str) -> dict:
        """Change an item; every answer carrying it is rescored."""
        self._item(lab, gid, item)
        return self.states(lab, gid, self.store.edit_item(item, points, text))

    def delete_item(self, lab: str, gid: str, item: int) -> dict:
        """Delete an item; every answer carrying it is rescored."""
        self._item(lab, gid, item)
        return self.states(lab, gid, self.store.delete_item(item))

    def mark(self, lab: str, gid: str, grade: str, item: int, applied: bool) -> dict:
        """Apply or remove an item on one answer."""
        self._item(lab, gid, item)
        self.store.mark(grade, item, applied)
        return self.states(lab, gid, [grade])

    def comment(self, lab: str, gid: str, grade: str, text: str) -> dict:
        """Set the free comment of one answer."""
        self.store.set_comment(grade, text)
        return self.states(lab, gid, [grade])

    def _question(self, lab: str, gid: str) -> Question:
        if lab not in self.labs:
            raise CourseError(f"lab {lab!r} is not served here; it serves {list(self.labs)}")
        return find_question(self.cfg, lab, gid)

    def _item(self, lab: str, gid: str, item: int) -> None:
        if item not in {i.id for i in self.store.items(lab, gid)}:
            raise CourseError(f"{lab}/{gid} has no rubric item {item}; reload the question")


def _question_head(q: Question) -> dict:
    return {"id": q.grade_id, "number": q.number, "points": q.points}


def _state(a: Answer) -> dict:
    return {
        "grade": a.grade,
        "student": a.student,
        "max": a.max_score,
        "score": a.manual_score,
        "items": list(a.items),
        "comment": a.comment,
        "untouched": a.untouched,
    }
