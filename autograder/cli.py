"""``course-grade``: build, collect, grade, feedback and export for the course's nbgrader labs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import CourseError
from autograder.config import CourseConfig, ensure_tools_on_path, load_config
from autograder.execute.nbgrader_cli import skip_slow_imports
from autograder.options import DEMO_MAX_EPOCHS, GradeOptions
from autograder.plan.ledger import LedgerEntry
from labkit.exits import run_command
from labkit.runtime import MAX_EPOCHS_ENV


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course-grade", description=__doc__)
    parser.add_argument(
        "--course", help="course root (default: the folder holding nbgrader_config.py, upwards)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="jupytext --sync every source pair")
    sub.add_parser("check", help="CI: report drifting pairs, stale or leaking releases; write nothing")
    sub.add_parser("build", help="sync, generate every release, fail on leaks")
    p = sub.add_parser("collect", help="import a folder or zip of student notebooks into submitted/")
    p.add_argument("path", type=Path)
    p.add_argument("--lab")
    p.add_argument("--force", action="store_true", help="replace existing submissions that differ")
    p = sub.add_parser("grade", help="grade what changed, in isolated parallel workers")
    _grade_options(p)
    _max_epochs_option(p, "grading")
    p = sub.add_parser("config", help="print every course setting in effect and where it comes from")
    p.add_argument("--jobs", type=int, help="as `grade --jobs` would take it")
    p.add_argument("--timeout-cell", type=int, help="as `grade --timeout-cell` would take it")
    p.add_argument("--timeout-notebook", type=int, help="as `grade --timeout-notebook` would take it")
    p.add_argument("--memory-mb", type=int, help="as `grade --memory-mb` would take it")
    p.add_argument("--no-train-reuse", dest="train_reuse", action="store_const", const=False)
    _max_epochs_option(p, "grading")
    p = sub.add_parser("try", help="run a lab's hidden checks on its source or one submission; write nothing")
    p.add_argument("lab")
    p.add_argument("notebook", nargs="?", type=Path, help="a submission (default: the source notebook)")
    p.add_argument(
        "--only", nargs="+", default=[], metavar="TEST_ID", help="these tests, and only the cells they need"
    )
    p.add_argument("--prefix", action="store_true", help="with --only: run every cell up to the last test")
    _max_epochs_option(p, "the trial")
    p = sub.add_parser("feedback", help="nbgrader feedback with hidden tests withheld")
    p.add_argument("lab", nargs="?")
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("export", help="grades CSV, pass rates, grade distribution, execution notes")
    p.add_argument("--out", type=Path)
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("manual", help="grade the written answers by question, with rubrics (a web view)")
    p.add_argument("lab", nargs="?", help="serve this lab only (default: every lab with a source notebook)")
    p.add_argument("--port", type=int, default=8765, help="loopback port (0: any free port)")
    p.add_argument("--db-url", help="gradebook database URL (default: the course's gradebook.db)")
    p.add_argument("--progress", action="store_true", help="print graded / total per question and exit")
    p = sub.add_parser(
        "bundle", help="the student hand-out: release, labkit wheel, lock, README; leak-checked"
    )
    p.add_argument("--out", type=Path, required=True, help="folder to write (DIR; --zip also writes DIR.zip)")
    p.add_argument("--zip", action="store_true", help="also write the archive DIR.zip")
    p.add_argument("--force", action="store_true", help="replace an existing DIR / DIR.zip")
    p = sub.add_parser("similarity", help="which submissions share work, per exercise (a report to read)")
    p.add_argument("lab", nargs="?", help="this lab only (default: every lab with submissions)")
    p.add_argument("--out", type=Path, help="folder of the report (default: exports/)")
    p.add_argument("--top", type=int, default=10, help="pairs listed per exercise")
    p.add_argument("--jobs", type=int, default=0, help="processes scoring pairs (default: CPU count)")
    p.add_argument("--force", action="store_true", help="replace an existing report")
    p = sub.add_parser("demo", help="the whole pipeline on sample submissions")
    p.add_argument(
        "--max-epochs",
        type=int,
        default=DEMO_MAX_EPOCHS,
        help=f"training cap for the demo ({MAX_EPOCHS_ENV})",
    )
    p.add_argument("--full", action="store_true", help="no training cap (real settings)")
    p.add_argument("--jobs", type=int, default=0)
    p.add_argument("--force", action="store_true")
    return parser


def _grade_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("lab", nargs="?")
    p.add_argument("--jobs", type=int, default=0, help="parallel workers (default: CPU count)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument(
        "--gpu",
        action="store_true",
        help="with --scheduler: each job takes one GPU of a worker started with --resources GPU=1",
    )
    p.add_argument("--force", action="store_true", help="regrade everything")
    p.add_argument("--timeout-cell", type=int, help="seconds per cell (default: Execute.timeout)")
    p.add_argument(
        "--timeout-notebook", type=int, help="seconds per notebook (default: GuardedExecute.notebook_timeout)"
    )
    p.add_argument(
        "--memory-mb", type=int, default=GradeOptions.memory_mb, help="memory per kernel (0 = no limit)"
    )
    p.add_argument("--keep", action="store_true", help="keep worker directories (debugging)")
    p.add_argument(
        "--no-train-reuse",
        dest="train_reuse",
        action="store_false",
        help="train every model of every submission (default: reuse the reference's trained given models "
        "where a submission's inputs are identical)",
    )


def _max_epochs_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--max-epochs",
        type=int,
        help=f"training cap for {what} (sets {MAX_EPOCHS_ENV} in every kernel; default: the lab's settings)",
    )


def _epoch_cap(args) -> dict[str, str]:
    """Return the kernels' extra environment for ``--max-epochs`` (none when it is not given)."""
    if getattr(args, "max_epochs", None) is None:
        return {}
    if args.max_epochs < 1:
        raise CourseError(f"--max-epochs {args.max_epochs}: must be at least 1 (leave it out to train fully)")
    return {MAX_EPOCHS_ENV: str(args.max_epochs)}


def _cmd_sync(cfg: CourseConfig, args) -> int:
    from autograder.build.sync import sync

    print("\n".join(sync(cfg)))
    return 0


def _cmd_check(cfg: CourseConfig, args) -> int:
    from autograder.build.release import (
        leaks,
        malformed_checks,
        stale_cells,
        undecided_hidden_tests,
        unlocked_cells,
    )
    from autograder.build.sync import check_sync

    labs = list(cfg.labs_with_source)
    problems = check_sync(cfg, labs)
    for lab in labs:
        problems += unlocked_cells(cfg, lab) + undecided_hidden_tests(cfg, lab) + malformed_checks(cfg, lab)
        problems += stale_cells(cfg, lab) + leaks(cfg, lab)
    print("\n".join(problems) or f"ok: {', '.join(labs)} in sync, release fresh and leak-free")
    return 1 if problems else 0


def _cmd_build(cfg: CourseConfig, args) -> int:
    from autograder.build.release import build

    found = build(cfg, list(cfg.labs_with_source))
    print("\n".join(found) or "release built, no leaks")
    return 1 if found else 0


def _cmd_collect(cfg: CourseConfig, args) -> int:
    from autograder.collect import collect

    outcomes = collect(cfg, args.path, args.lab and cfg.check_lab(args.lab), args.force)
    for o in outcomes:
        print(
            f"{o.status:9s} {o.name}: {o.detail}" + (f" [student {o.student}, lab {o.lab}]" if o.lab else "")
        )
    counts = {
        s: sum(o.status == s for o in outcomes) for s in ("imported", "unchanged", "conflict", "rejected")
    }
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    if counts["rejected"] and not (counts["imported"] or counts["unchanged"] or counts["conflict"]):
        why = "every file was rejected (reasons above)"
        print(f"course-grade collect: nothing imported from {args.path}: {why}", file=sys.stderr)
        return 1
    return 1 if counts["conflict"] else 0


#: ``GradeOptions`` field -> the command-line argument that sets it (where the subcommand has it).
OPTION_ARGS = {
    "scheduler": "scheduler",
    "gpu": "gpu",
    "cell_timeout": "timeout_cell",
    "notebook_timeout": "timeout_notebook",
    "memory_mb": "memory_mb",
    "keep": "keep",
    "train_reuse": "train_reuse",
}


def _options(args, extra_env: dict | None = None) -> GradeOptions:
    """Return the grading options of ``args``; what the subcommand does not set keeps its default."""
    given = {field: getattr(args, name) for field, name in OPTION_ARGS.items() if hasattr(args, name)}
    return GradeOptions(
        jobs=args.jobs, force=args.force, quiet=args.quiet, extra_env=extra_env or {}, **given
    )


def score_text(entry: LedgerEntry) -> str:
    """Return an entry's autograded score, and the points left to grade by hand where the lab has some."""
    score = f"{entry.score:6.1f} / {entry.auto_max_score:5.1f} autograded"
    if entry.manual_max_score:
        score += f", {entry.manual_max_score:g} points still to grade by hand"
    return score


def _print_results(entries: list[LedgerEntry], notes: dict[tuple[str, str], str] | None = None) -> None:
    """Print one line per entry (``notes``: one more note by (lab, student), after the entry's own)."""
    for e in sorted(entries, key=lambda e: (e.lab, e.student)):
        extra = (notes or {}).get((e.lab, e.student))
        shown = [*e.notes, *([extra] if extra else [])]
        note = f"  NOTE: {'; '.join(shown)}" if shown else ""
        print(f"{e.lab:28s} {e.student:20s} {score_text(e)}{note}")


#: Exit status of ``course-grade grade`` when some submissions were left ungraded (the machine failed).
EXIT_UNGRADED = 3


def _cmd_grade(cfg: CourseConfig, args) -> int:
    from autograder.grade import UngradedError, grade

    try:
        labs = [cfg.check_lab(args.lab)] if args.lab else None
        entries, failure = grade(cfg, labs, _options(args, _epoch_cap(args))), None
    except UngradedError as exc:
        entries, failure = exc.entries, exc
    _print_results(entries)
    print(f"graded {len(entries)} submission(s); unchanged ones skipped (ledger {cfg.ledger_path})")
    if failure is not None:
        print(f"course-grade grade: {failure}", file=sys.stderr)
        return EXIT_UNGRADED
    return 0


def _cmd_config(cfg: CourseConfig, args) -> int:
    from autograder.effective import format_settings, settings_in_effect

    fields = {field: name for field, name in OPTION_ARGS.items() if hasattr(args, name)}
    flags = {field: getattr(args, name) for field, name in fields.items()}
    flags.update(jobs=args.jobs, max_epochs=args.max_epochs)
    print(f"course {cfg.root} ({cfg.root / 'nbgrader_config.py'})")
    print(format_settings(settings_in_effect(cfg.root, flags)))
    return 0


def _cmd_try(cfg: CourseConfig, args) -> int:
    from autograder.trial import try_lab

    _epoch_cap(args)
    trial = try_lab(cfg, args.lab, args.notebook, args.only, args.max_epochs, args.prefix)
    print("\n".join(v.line() for v in trial.verdicts))
    passed = sum(v.passed for v in trial.verdicts)
    print(
        f"{trial.lab}: {passed} of {len(trial.verdicts)} test(s) passed on {trial.notebook} "
        f"({trial.cells_run} of {trial.cells_total} cells run, {trial.seconds:.0f} s; nothing recorded)"
    )
    return 0 if passed == len(trial.verdicts) else 1


def _cmd_feedback(cfg: CourseConfig, args) -> int:
    from autograder.feedback import generate_feedback

    for lab in [cfg.check_lab(args.lab)] if args.lab else cfg.labs_with_source:
        if (cfg.root / cfg.folders.autograded).is_dir():
            pages = [p for p in generate_feedback(cfg, lab, args.force) if p.suffix == ".html"]
            students = len({p.parent.parent.name for p in pages})
            where = cfg.root / cfg.folders.feedback
            print(f"{lab}: {len(pages)} feedback page(s) for {students} student(s) in {where}")
    return 0


def _cmd_export(cfg: CourseConfig, args) -> int:
    from autograder.export import export, format_table, pass_rates

    paths = export(cfg, args.out, args.force)
    print(format_table(pass_rates(cfg)))
    print("\n".join(f"wrote {p}" for p in paths.values()))
    return 0


def _cmd_manual(cfg: CourseConfig, args) -> int:
    from autograder.manual.app import serve
    from autograder.manual.service import Grading

    grading = Grading(cfg, args.db_url, (cfg.check_lab(args.lab),) if args.lab else ())
    for lab in grading.overview():
        for q in lab["questions"]:
            print(f"{lab['lab']:28s} Q{q['number']:<3d} {q['id']:24s} graded {q['graded']:4d} / {q['total']}")
    if args.progress:
        grading.close()
        return 0
    serve(grading, args.port, lambda line: print(line, flush=True))
    return 0


def _cmd_bundle(cfg: CourseConfig, args) -> int:
    from autograder.build.bundle import write_bundle

    made = write_bundle(cfg, args.out, archive=args.zip, force=args.force)
    print(
        f"wrote {made.folder} ({len(made.files)} files, leak-free)"
        + (f" and {made.archive}" if made.archive else "")
    )
    print(f"students: see {made.folder / 'README.md'} (two commands set up and open JupyterLab)")
    return 0


def _cmd_similarity(cfg: CourseConfig, args) -> int:
    from autograder.plan.submissions import find_submissions
    from autograder.similarity.run import similarity, summary_lines

    labs = (
        [cfg.check_lab(args.lab)] if args.lab else [lab for lab in cfg.labs if find_submissions(cfg, [lab])]
    )
    if not labs:
        raise CourseError(
            f"{cfg.root / cfg.folders.submitted}: no submissions; run `course-grade collect` first"
        )
    for lab in labs:
        made = similarity(cfg, lab, args.out, args.force, args.top, args.quiet, args.jobs)
        print("\n".join([*summary_lines(lab, made.results), *(f"left out: {u}" for u in made.unreadable)]))
        print(f"wrote {made.html} and {made.csv} (pairs to read first, not findings: docs/similarity.md)")
    return 0


def _cmd_demo(cfg: CourseConfig, args) -> int:
    from autograder.demo import REFERENCE_STUDENT, cap_invalidated, demo_collect
    from autograder.export import export, format_table, pass_rates
    from autograder.feedback import generate_feedback
    from autograder.grade import grade

    extra = {} if args.full else {MAX_EPOCHS_ENV: str(args.max_epochs)}
    if extra:
        print(f"*** DEMO TRAINING CAP: {MAX_EPOCHS_ENV}={args.max_epochs} (use --full for real settings) ***")
    for o in demo_collect(cfg, force=True):
        print(f"collect {o.status}: {o.name}")
    args.force = True
    entries = grade(cfg, None, _options(args, extra))
    for lab in {e.lab for e in entries}:
        generate_feedback(cfg, lab, force=True)
    victims = cap_invalidated(cfg) if extra else []
    lost: dict[tuple[str, str], list[str]] = {}
    for v in victims:
        lost.setdefault((v.lab, REFERENCE_STUDENT), []).append(f"{v.test} ({v.points:g})")
    _print_results(entries, {k: f"lost only to the training cap: {', '.join(t)}" for k, t in lost.items()})
    stamp = __import__("time").strftime("%Y%m%d-%H%M%S")
    paths = export(cfg, cfg.root / "exports" / f"demo-{stamp}")
    invalid = {(v.lab, v.test) for v in victims}
    rows = pass_rates(cfg)
    for row in rows:
        row["test"] += " [invalid under the cap]" if (row["lab"], row["test"]) in invalid else ""
    print(format_table(rows))
    if victims:
        print(
            f"*** {MAX_EPOCHS_ENV}={args.max_epochs} invalidates {len(victims)} test(s) marked above: they "
            "judge trained-model metrics that the reference solution (full marks with real settings) cannot "
            "reach in so few epochs. `course-grade demo --full` grades with real settings. ***"
        )
    print("\n".join(f"wrote {p}" for p in paths.values()))
    return 0


COMMANDS = {
    "sync": _cmd_sync,
    "check": _cmd_check,
    "build": _cmd_build,
    "collect": _cmd_collect,
    "grade": _cmd_grade,
    "try": _cmd_try,
    "config": _cmd_config,
    "feedback": _cmd_feedback,
    "export": _cmd_export,
    "manual": _cmd_manual,
    "bundle": _cmd_bundle,
    "similarity": _cmd_similarity,
    "demo": _cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    """Run ``course-grade``; return the exit code (2 with one line on bad input, 130 on Ctrl-C)."""
    skip_slow_imports()  # the course's nbgrader_config.py imports nbgrader, and so jsonschema
    args = _parser().parse_args(argv)
    ensure_tools_on_path()
    return run_command(
        f"course-grade {args.command}",
        lambda: COMMANDS[args.command](load_config(args.course), args),
        errors=(CourseError,),
        interrupted="interrupted; finished grades are kept (re-run to continue)",
    )


if __name__ == "__main__":
    sys.exit(main())
