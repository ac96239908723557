"""Rubric items and the items applied to each answer, kept in the course gradebook beside nbgrader's tables.

An answer's score is the sum of the points of the items applied to it, clipped to ``[0, max_score]``; its
nbgrader comment lists those items then the grader's free comment. Both are written into nbgrader's own
rows (``grade.manual_score``, ``grade.needs_manual_grade``, ``comment.manual_comment``) in the same
transaction that changes the items, so formgrader, ``nbgrader export``, ``course-grade export`` and the
feedback read them as if typed in formgrader.

Concurrency: every change is one transaction that first locks what it rewrites (SQLite: ``BEGIN
IMMEDIATE``, one writer at a time on the file; server databases: ``SELECT ... FOR UPDATE`` on the grade
rows) and recomputes the score from the stored items, so two graders on the same question lose nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nbgrader import api
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from autograder import CourseError

metadata = MetaData()
#: One rubric item of one question (``deleted`` items stay so that history keeps its meaning).
ITEMS = Table(
    "manual_rubric_item",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lab", String(128), nullable=False, index=True),
    Column("question", String(128), nullable=False),
    Column("points", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)
#: Item applied to an answer (nbgrader ``grade.id``).
MARKS = Table(
    "manual_rubric_mark",
    metadata,
    Column("grade_id", String(32), primary_key=True),
    Column("item_id", Integer, ForeignKey("manual_rubric_item.id"), primary_key=True),
)
#: The grader's free comment on an answer, and whether it was scored 0 as untouched.
NOTES = Table(
    "manual_answer_note",
    metadata,
    Column("grade_id", String(32), primary_key=True),
    Column("comment", Text, nullable=False, default=""),
    Column("untouched", Boolean, nullable=False, default=False),
    Column("updated", DateTime, nullable=True),
)
UNTOUCHED_COMMENT = "No answer was written (the cell is empty or still says YOUR ANSWER HERE): 0 points."
GRADE, COMMENT, CELL = api.Grade.__table__, api.Comment.__table__, api.BaseCell.__table__
GRADE_CELL = api.GradeCell.__table__
NOTEBOOK, ASSIGNMENT = api.Notebook.__table__, api.Assignment.__table__
SUB_NOTEBOOK, SUB_ASSIGNMENT = api.SubmittedNotebook.__table__, api.SubmittedAssignment.__table__


@dataclass(frozen=True)
class Item:
    """A rubric item: ``key`` is its 1-based position among the question's items (the keyboard key)."""

    id: int
    key: int
    points: float
    text: str


@dataclass(frozen=True)
class Answer:
    """The grading state of one student's answer (``grade`` is nbgrader's ``grade.id``)."""

    grade: str
    student: str
    max_score: float
    manual_score: float | None
    items: tuple[int, ...]
    comment: str
    untouched: bool


def points_text(points: float) -> str:
    """Return ``+1``, ``-0.5``, ``0`` for an item's points."""
    return f"{points:+g}" if points else "0"


def _sqlite_immediate(engine: Engine) -> None:
    """Make every transaction on a SQLite ``engine`` take the write lock at BEGIN (SQLAlchemy's recipe)."""

    @event.listens_for(engine, "connect")
    def _no_pysqlite_begin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class RubricStore:
    """Rubric items, marks and nbgrader manual scores of one course gradebook (``db_url``)."""

    def __init__(self, db_url: str, busy_seconds: float = 60) -> None:
        sqlite = db_url.startswith("sqlite")
        self.engine = create_engine(db_url, connect_args={"timeout": busy_seconds} if sqlite else {})
        if sqlite:
            _sqlite_immediate(self.engine)
        metadata.create_all(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # --- reading ------------------------------------------------------------------------------------------

    def items(self, lab: str, question: str) -> list[Item]:
        """Return the live rubric items of ``question``, in the order they were made."""
        with self.engine.connect() as conn:
            return _items(conn, lab, question)

    def answers(self, lab: str, question: str) -> list[Answer]:
        """Return the grading state of every submitted answer to ``question`` of ``lab``, by student."""
        with self.engine.connect() as conn:
            rows = conn.execute(_answer_query(lab, question)).all()
            if not rows:
                return []
            marks = _marks(conn, [r.grade for r in rows])
            notes = {
                n.grade_id: n for n in conn.execute(select(NOTES).where(NOTES.c.grade_id.in_(marks.keys())))
            }
        return [
            Answer(
                grade=r.grade,
                student=r.student,
                max_score=r.max_score,
                manual_score=r.manual_score,
                items=tuple(marks[r.grade]),
                comment=notes[r.grade].comment if r.grade in notes else "",
                untouched=bool(notes[r.grade].untouched) if r.grade in notes else False,
            )
            for r in rows
        ]

    def progress(self, lab: str, question: str) -> tuple[int, int]:
        """Return (graded, total) answers of ``question``."""
        with self.engine.connect() as conn:
            rows = conn.execute(_answer_query(lab, question)).all()
        return sum(r.manual_score is not None for r in rows), len(rows)

    # --- changing -----------------------------------------------------------------------------------------

    def add_item(self, lab: str, question: str, points: float, text: str) -> Item:
        """Create a rubric item of ``question`` and return it."""
        _check_item(points, text)
        with self._transaction() as conn:
            conn.execute(
                insert(ITEMS).values(lab=lab, question=question, points=points, text=text, deleted=False)
            )
            return _items(conn, lab, question)[-1]

    def seed(self, lab: str, question: str, seeds) -> None:
        """Create the declared starting items of ``question`` once (when it has never had an item)."""
        with self._transaction() as conn:
            made = conn.execute(
                select(ITEMS.c.id).where(ITEMS.c.lab == lab, ITEMS.c.question == question).limit(1)
            ).first()
            if made is None and seeds:
                conn.execute(
                    insert(ITEMS),
                    [
                        dict(lab=lab, question=question, points=s.points, text=s.text, deleted=False)
                        for s in seeds
                    ],
                )

    def edit_item(self, item_id: int, points: float, text: str) -> list[str]:
        """Change an item's points and text; rescore every answer carrying it; return their grade ids."""
        _check_item(points, text)
        with self._transaction() as conn:
            _item_row(conn, item_id)
            carrying = _carrying(conn, item_id)
            _lock(conn, carrying)
            conn.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(points=points, text=text))
            for grade in carrying:
                _rescore(conn, grade)
        return carrying

    def delete_item(self, item_id: int) -> list[str]:
        """Remove an item from the rubric and from every answer; rescore them; return their grade ids."""
        with self._transaction() as conn:
            _item_row(conn, item_id)
            carrying = _carrying(conn, item_id)
            _lock(conn, carrying)
            conn.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(deleted=True))
            conn.execute(delete(MARKS).where(MARKS.c.item_id == item_id))
            for grade in carrying:
                _rescore(conn, grade)
        return carrying

    def mark(self, grade: str, item_id: int, applied: bool) -> None:
        """Apply (``applied``) or remove an item on one answer and rescore it; idempotent."""
        with self._transaction() as conn:
            _lock(conn, [grade])
            item = _item_row(conn, item_id)
            if applied and item.deleted:
                raise CourseError(f"rubric item {item_id} was deleted; reload the question")
            conn.execute(delete(MARKS).where(MARKS.c.grade_id == grade, MARKS.c.item_id == item_id))
            if applied:
                conn.execute(insert(MARKS).values(grade_id=grade, item_id=item_id))
            _rescore(conn, grade)

    def set_comment(self, grade: str, comment: str) -> None:
        """Set the grader's free comment on one answer (kept below the items in nbgrader's comment)."""
        with self._transaction() as conn:
            _lock(conn, [grade])
            _note(conn, grade, comment=comment)
            _rescore(conn, grade, keep_score=True)

    def zero_untouched(self, grades: list[str]) -> int:
        """Score 0, with a comment saying why, every one of ``grades`` that has no manual score yet.

        ``grades`` are answers found empty or still the stub; return how many were scored now.
        """
        scored = 0
        with self._transaction() as conn:
            _lock(conn, grades)
            for grade in grades:
                row = conn.execute(select(GRADE.c.manual_score).where(GRADE.c.id == grade)).first()
                if row is None or row.manual_score is not None:
                    continue
                _note(conn, grade, untouched=True)
                _rescore(conn, grade)
                scored += 1
        return scored


def _check_item(points: float, text: str) -> None:
    if not text.strip():
        raise CourseError("a rubric item needs a text (what the student sees in the feedback)")
    if points != points or abs(points) > 1000:
        raise CourseError(f"rubric item points {points!r} are not a number of points")


def _items(conn: Connection, lab: str, question: str) -> list[Item]:
    rows = conn.execute(
        select(ITEMS)
        .where(ITEMS.c.lab == lab, ITEMS.c.question == question, ITEMS.c.deleted.is_(False))
        .order_by(ITEMS.c.id)
    ).all()
    return [Item(r.id, key, r.points, r.text) for key, r in enumerate(rows, start=1)]


def _item_row(conn: Connection, item_id: int):
    row = conn.execute(select(ITEMS).where(ITEMS.c.id == item_id)).first()
    if row is None:
        raise CourseError(f"no rubric item {item_id}; reload the question")
    return row


def _carrying(conn: Connection, item_id: int) -> list[str]:
    return list(conn.execute(select(MARKS.c.grade_id).where(MARKS.c.item_id == item_id)).scalars())


def _lock(conn: Connection, grades: list[str]) -> None:
    """Lock the grade rows about to be rewritten (no-op on SQLite, which already holds the write lock)."""
    if grades:
        conn.execute(select(GRADE.c.id).where(GRADE.c.id.in_(sorted(grades))).with_for_update()).all()


def _marks(conn: Connection, grades: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {g: [] for g in grades}
    query = (
        select(MARKS.c.grade_id, MARKS.c.item_id)
        .join(ITEMS, ITEMS.c.id == MARKS.c.item_id)
        .where(MARKS.c.grade_id.in_(grades), ITEMS.c.deleted.is_(False))
        .order_by(MARKS.c.item_id)
    )
    for grade, item in conn.execute(query):
        found[grade].append(item)
    return found


def _note(conn: Connection, grade: str, **values) -> None:
    values["updated"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    exists = conn.execute(select(NOTES.c.grade_id).where(NOTES.c.grade_id == grade)).first()
    if exists:
        conn.execute(update(NOTES).where(NOTES.c.grade_id == grade).values(**values))
    else:
        conn.execute(insert(NOTES).values(grade_id=grade, **{"comment": "", "untouched": False, **values}))


def _rescore(conn: Connection, grade: str, keep_score: bool = False) -> None:
    """Recompute one answer's manual score and comment from its stored items and note.

    Without items (and not untouched) the answer is ungraded, unless ``keep_score``: a comment added to an
    answer scored by hand elsewhere (formgrader) keeps that score.
    """
    row = conn.execute(
        select(GRADE.c.notebook_id, CELL.c.name, GRADE_CELL.c.max_score)
        .join(CELL, CELL.c.id == GRADE.c.cell_id)
        .join(GRADE_CELL, GRADE_CELL.c.id == GRADE.c.cell_id)
        .where(GRADE.c.id == grade)
    ).first()
    if row is None:
        raise CourseError(f"no grade {grade!r} in the gradebook")
    items = conn.execute(
        select(ITEMS.c.points, ITEMS.c.text)
        .join(MARKS, MARKS.c.item_id == ITEMS.c.id)
        .where(MARKS.c.grade_id == grade, ITEMS.c.deleted.is_(False))
        .order_by(ITEMS.c.id)
    ).all()
    note = conn.execute(select(NOTES).where(NOTES.c.grade_id == grade)).first()
    free = note.comment.strip() if note else ""
    lines = [f"{points_text(i.points)}: {i.text}" for i in items]
    if items:
        score = min(max(sum(i.points for i in items), 0.0), row.max_score)
    elif note is not None and note.untouched:
        score, lines = 0.0, [UNTOUCHED_COMMENT]
    elif keep_score:
        score = conn.execute(select(GRADE.c.manual_score).where(GRADE.c.id == grade)).scalar()
    else:
        score = None
    comment = "\n".join(lines + ([free] if free else [])) or None
    conn.execute(
        update(GRADE).where(GRADE.c.id == grade).values(manual_score=score, needs_manual_grade=score is None)
    )
    solution_cell = (
        select(CELL.c.id)
        .join(SUB_NOTEBOOK, SUB_NOTEBOOK.c.notebook_id == CELL.c.notebook_id)
        .where(SUB_NOTEBOOK.c.id == row.notebook_id, CELL.c.name == row.name)
    )
    conn.execute(
        update(COMMENT)
        .where(and_(COMMENT.c.notebook_id == row.notebook_id, COMMENT.c.cell_id.in_(solution_cell)))
        .values(manual_comment=comment)
    )


def _answer_query(lab: str, question: str):
    return (
        select(
            GRADE.c.id.label("grade"),
            SUB_ASSIGNMENT.c.student_id.label("student"),
            GRADE.c.manual_score,
            GRADE_CELL.c.max_score,
        )
        .join(CELL, CELL.c.id == GRADE.c.cell_id)
        .join(GRADE_CELL, GRADE_CELL.c.id == GRADE.c.cell_id)
        .join(NOTEBOOK, NOTEBOOK.c.id == CELL.c.notebook_id)
        .join(ASSIGNMENT, ASSIGNMENT.c.id == NOTEBOOK.c.assignment_id)
        .join(SUB_NOTEBOOK, SUB_NOTEBOOK.c.id == GRADE.c.notebook_id)
        .join(SUB_ASSIGNMENT, SUB_ASSIGNMENT.c.id == SUB_NOTEBOOK.c.assignment_id)
        .where(CELL.c.name == question, ASSIGNMENT.c.name == lab)
        .order_by(SUB_ASSIGNMENT.c.student_id)
    )
