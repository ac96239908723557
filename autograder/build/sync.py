"""Keep every jupytext pair (``source/<lab>/<lab>.py`` <-> ``.ipynb``) in sync, or report drift for CI."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import jupytext
from jupytext.cli import jupytext as jupytext_cli

from autograder import CourseError
from autograder.cells import nbgrader_meta
from autograder.config import CourseConfig


def _cell_signature(nb) -> list[tuple[str, str, dict]]:
    return [(c.cell_type, c.source.strip(), nbgrader_meta(c)) for c in nb.cells]


def check_sync(cfg: CourseConfig, labs: list[str] | None = None) -> list[str]:
    """Return one line per drifting or missing pair; write nothing.

    Parameters
    ----------
    cfg
        The course.
    labs
        Labs to check (default: all whose source folder exists).
    """
    problems = []
    for lab in labs or [lab for lab in cfg.labs if cfg.source_notebook(lab).parent.is_dir()]:
        script, notebook = cfg.source_script(lab), cfg.source_notebook(lab)
        missing = [str(p) for p in (script, notebook) if not p.is_file()]
        if missing:
            problems.append(
                f"{', '.join(missing)}: missing half of the jupytext pair; fix: `course-grade sync`"
            )
            continue
        from_script, from_notebook = (
            _cell_signature(jupytext.read(script)),
            _cell_signature(jupytext.read(notebook)),
        )
        if from_script != from_notebook:
            index = next(
                (i for i, (a, b) in enumerate(zip(from_script, from_notebook, strict=False)) if a != b),
                min(len(from_script), len(from_notebook)),
            )
            problems.append(
                f"{script} and {notebook}: differ from cell {index} on "
                f"({len(from_script)} vs {len(from_notebook)} cells); fix: `course-grade sync`"
            )
    return problems


def _jupytext_sync(target: Path) -> None:
    """Run ``jupytext --sync target`` in this process (its own command line, without a second interpreter).

    Raises
    ------
    CourseError
        Naming ``target`` and jupytext's error when the pair cannot be synced.
    """
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = jupytext_cli(["--sync", "--quiet", str(target)])
    except SystemExit as exc:  # argument errors
        status = exc.code
    except Exception as exc:  # noqa: BLE001 (jupytext raises its own and the readers' errors)
        raise CourseError(f"{target}: jupytext --sync failed: {type(exc).__name__}: {exc}") from exc
    if status:
        last = (out.getvalue().strip().splitlines() or [f"exit status {status}"])[-1]
        raise CourseError(f"{target}: jupytext --sync failed: {last}")


def sync(cfg: CourseConfig) -> list[str]:
    """Run ``jupytext --sync`` on every pair (the newer file wins) and return what it did."""
    done = []
    for lab in cfg.labs:
        notebook = cfg.source_notebook(lab)
        target = notebook if notebook.is_file() else cfg.source_script(lab)
        if not target.is_file():
            done.append(f"{lab}: no source yet ({notebook.parent} is empty or missing), skipped")
            continue
        pair = (cfg.source_script(lab), notebook)
        before = [_contents(p) for p in pair]
        _jupytext_sync(target)
        rewritten = [p.name for p, old in zip(pair, before, strict=True) if _contents(p) != old]
        done.append(
            f"{lab}: rewrote {' and '.join(rewritten)} (now in sync)" if rewritten else f"{lab}: in sync"
        )
    return done


def _contents(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None
