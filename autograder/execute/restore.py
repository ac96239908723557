"""``RestoreCells``: the autograde step that puts back every test cell a submission deleted."""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import OverwriteCells

from autograder.cells import grade_id


class RestoreCells(OverwriteCells):
    """nbgrader's ``OverwriteCells`` that puts back every deleted test cell, whatever else was deleted.

    nbgrader (0.9) re-inserts a missing grade cell after the cell that precedes it in the source notebook
    and fails with ``KeyError`` when that cell is missing too (a student deleted an exercise and its test).
    Here a missing grade cell goes after the nearest earlier source cell still in the submission, or
    first when there is none, so the whole batch of tests always runs.
    """

    def add_missing_grade_cells(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        """Insert the missing grade cells, in source order, after their nearest surviving predecessor."""
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        sources = {cell.name: cell for cell in source_nb.source_cells}
        solutions = {cell.name for cell in source_nb.solution_cells}
        grades = {cell.name: cell for cell in source_nb.grade_cells}
        for name in [n for n in order if n in grades]:
            present = [grade_id(cell) for cell in nb.cells]
            if name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
            before = [n for n in order[: order.index(name)] if n in present]
            at = present.index(before[-1]) + 1 if before else 0
            cell = self.missing_cell_transform(
                sources[name], grades[name].max_score, is_solution=name in solutions
            )
            nb.cells.insert(at, cell)
        return nb, resources
