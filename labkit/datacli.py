"""``labkit data ...``: create, convert, download, check and audit the course data files.

``labkit.cli`` calls :func:`add_data_parser`; :func:`main` runs the same subcommands on their own
(``python -m labkit.datacli synth``). Every subcommand returns 0 on success, 1 when a check finds problems
and 2 on bad input (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from labkit.files import DataFileError, refuse_overwrite
from labkit.paths import ECG_FILE, PPG_FILE, data_dir


def _out_dir(value: str | None) -> Path:
    return Path(value).expanduser() if value else data_dir()


def _progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "no_progress", False) and sys.stderr.isatty()


def _skip(path: Path, args: argparse.Namespace, check) -> bool:
    """With --if-missing: True when ``path`` exists and passes its check (a failing file is an error)."""
    if not (args.if_missing and path.exists()):
        return False
    problems = check(path)
    if problems and not args.force:
        raise DataFileError(f"{problems[0]} (found by --if-missing; `labkit data synth --force` replaces it)")
    if not problems:
        print(f"kept {path} (exists and passes its check)")
    return not problems


def _synth_ecg(path: Path, args: argparse.Namespace, step: str) -> None:
    from labkit.datasets.ecg import check_ecg, generator_id, save_ecg
    from labkit.synthetic.ecg import GENERATOR, VERSION, generate_ecg_dataset

    if _skip(path, args, check_ecg):
        return
    refuse_overwrite(path, args.force, "labkit data synth --only ecg")  # before minutes of work, not after
    print(f"{step} synthetic ECG: {args.n_per_rhythm} strips per rhythm, seed {args.seed}", file=sys.stderr)
    signals, rhythms, ids = generate_ecg_dataset(
        args.n_per_rhythm, args.seed, args.label_noise, _progress(args)
    )
    provenance = {
        "source": "synthetic",
        "generator": generator_id(GENERATOR, VERSION),
        "seed": args.seed,
        "record_ids": ids,
        "label_noise": args.label_noise,
    }
    save_ecg(path, signals, rhythms, provenance, force=args.force)
    print(f"wrote {path} ({len(rhythms)} synthetic strips)")


def _synth_ppg(path: Path, args: argparse.Namespace, step: str) -> None:
    from labkit.datasets.ppg import check_ppg, save_ppg
    from labkit.synthetic.ppg import generate_ppg_records

    if _skip(path, args, check_ppg):
        return
    refuse_overwrite(path, args.force, "labkit data synth --only ppg")
    print(f"{step} synthetic PPG records, seed {args.seed}", file=sys.stderr)
    records = generate_ppg_records(seed=args.seed, progress=_progress(args))
    save_ppg(path, records, force=args.force)
    print(f"wrote {path} ({len(records)} synthetic records)")


def cmd_synth(args: argparse.Namespace) -> int:
    """Write the synthetic ECG and/or PPG files."""
    out = _out_dir(args.out)
    jobs = [
        (kind, job) for kind, job in (("ecg", _synth_ecg), ("ppg", _synth_ppg)) if args.only in (None, kind)
    ]
    for number, (kind, job) in enumerate(jobs, start=1):
        job(out / (ECG_FILE if kind == "ecg" else PPG_FILE), args, f"[{number}/{len(jobs)}]")
    return 0


def _convert_ecg(args: argparse.Namespace) -> tuple:
    """Convert the ECG folder (CinC 2017 or ecg-arrhythmia, told apart by REFERENCE.csv); print the report.

    Returns ``(signals, rhythms, record_ids, source, generator)``.
    """
    from labkit.converters import cinc2017, physionet_ecg
    from labkit.datasets.ecg import generator_id

    if cinc2017.is_cinc2017(args.source):
        signals, rhythms, ids, report = cinc2017.prepare_cinc2017(args.source, progress=_progress(args))
        module = cinc2017
    else:
        signals, rhythms, ids, report = physionet_ecg.prepare_ecg(
            args.source, args.n_per_rhythm, args.seed, _progress(args)
        )
        module = physionet_ecg
    print(module.format_report(report))
    return signals, rhythms, ids, module.SOURCE, generator_id(module.CONVERTER, module.VERSION)


def _prepare_ecg(args: argparse.Namespace, out: Path) -> int:
    """Write the students' ECG file and, beside it, the held-out file grading uses (``--held-out``)."""
    from labkit.datasets.ecg import save_ecg
    from labkit.datasets.ecg_held_out import held_out_path, record_of, split_held_out

    command = "labkit data prepare ecg --from PATH"
    path, held_path = out / ECG_FILE, held_out_path(out / ECG_FILE)
    refuse_overwrite(path, args.force, command)
    if args.held_out > 0:
        refuse_overwrite(held_path, args.force, command)
    signals, rhythms, ids, source, generator = _convert_ecg(args)
    students, held = split_held_out(rhythms, ids, args.held_out, args.seed)
    if not students.size:
        raise DataFileError(f"{args.source}: too few records to hold any out. Fix: rerun with --held-out 0.")
    for target, part in ((path, students), (held_path, held)):
        if part.size:
            provenance = {
                "source": source,
                "generator": generator,
                "seed": args.seed,
                "record_ids": ids[part],
            }
            save_ecg(target, signals[part], rhythms[part], provenance, args.force, command)
            records = len({record_of(i) for i in ids[part]})
            print(f"wrote {target} ({part.size} real strips of {records} records)")
    if held.size:
        print(
            f"{held_path.name} holds records the students' file does not; course-grade measures the ECG "
            f"accuracy bar on it (found beside {path.name}; no configuration to add)"
        )
    else:
        held_path.unlink(missing_ok=True)  # a stale held-out file of an earlier preparation would be used
        print(f"no held-out file (--held-out {args.held_out}): grading a real-data course then needs one")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Convert a real dataset folder into the course file (and, for ECG, the held-out file)."""
    out = _out_dir(args.out)
    if args.dataset == "ecg":
        return _prepare_ecg(args, out)
    from labkit.converters.dalia import prepare_dalia
    from labkit.datasets.ppg import save_ppg

    path = out / PPG_FILE
    refuse_overwrite(path, args.force, "labkit data prepare ppg --from PATH")
    records = prepare_dalia(args.source, progress=_progress(args))
    save_ppg(path, records, force=args.force, command="labkit data prepare ppg --from PATH")
    print(f"wrote {path} ({len(records)} real records)")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    """Download a real dataset (needs internet)."""
    import urllib.error

    try:
        return _download(args)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        raise DataFileError(
            f"cannot download {args.dataset}: {getattr(error, 'reason', error)}. Fix: run `labkit data "
            f"download {args.dataset}` on a machine with internet, copy the folder here, then prepare it."
        ) from None


def _download(args: argparse.Namespace) -> int:
    from labkit.converters import download

    to = Path(args.to).expanduser()
    if args.dataset == "ecg":
        root = download.download_ecg(to, progress=_progress(args))
        print(f"downloaded {root}. Next: `labkit data prepare ecg --from {root}`")
    else:
        archive = download.download_ppg(to, progress=_progress(args))
        print(f"downloaded {archive}. Next: unzip it, then `labkit data prepare ppg --from FOLDER`")
    return 0


def _describe_ecg(path: Path) -> str:
    from labkit.datasets.ecg import load_ecg, load_ecg_provenance
    from labkit.datasets.ecg_real import is_real

    _, rhythms, fs = load_ecg(path)
    prov = load_ecg_provenance(path)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(rhythms.tolist()).items()))
    kind = "real recordings" if is_real(prov["source"]) else "synthetic, not real"
    return (
        f"source {prov['source']} ({prov['generator']}; {kind}), {len(rhythms)} strips at {fs} Hz: {counts}"
    )


def _ecg_extras(folder: Path) -> list[tuple[bool, str]]:
    """Check lines of the held-out file (when present) and of the real evaluation set labkit ships."""
    from labkit.converters.cinc2017 import LICENCE
    from labkit.datasets.ecg import check_ecg
    from labkit.datasets.ecg_held_out import check_held_out, held_out_path
    from labkit.datasets.ecg_real import REAL_EVAL

    lines = []
    held = held_out_path(folder / ECG_FILE)
    if held.exists():
        problems = check_ecg(folder / ECG_FILE) or check_held_out(folder / ECG_FILE, held)
        lines += [(False, line) for line in problems] or [
            (
                True,
                f"{held}: held-out file for grading, no record shared with {ECG_FILE}: {_describe_ecg(held)}",
            )
        ]
    problems = check_ecg(REAL_EVAL)
    lines += [(False, line) for line in problems] or [
        (
            True,
            f"{REAL_EVAL}: real evaluation set shipped with labkit ({LICENCE}): {_describe_ecg(REAL_EVAL)}",
        )
    ]
    return lines


def _describe_ppg(path: Path) -> str:
    """One summary line, then a WARN line per unknown provenance or held-out amplitude mismatch."""
    import warnings

    from labkit.datasets.ppg import ProvenanceWarning, amplitude_mismatch, load_ppg, unknown_provenance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceWarning)  # reported below, as a WARN line
        records = load_ppg(path)
    sources = ", ".join(sorted({str(r["source"]) for r in records}))
    activities = dict(Counter(r["activity"] for r in records))
    subjects = len({r["subject"] for r in records})
    lines = [f"source {sources}, {len(records)} records of {subjects} subjects: {activities}"]
    unknown = unknown_provenance(records)
    if unknown:
        lines.append(
            f"WARN {path}: {len(unknown)} of {len(records)} records carry no source or provenance (original "
            "lab layout): provenance unknown"
        )
    lines += [f"WARN {path}: {line}" for line in amplitude_mismatch(records)]
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace) -> int:
    """Check both data files; one line per file."""
    from labkit.datasets.ecg import check_ecg
    from labkit.datasets.ppg import check_ppg

    folder = _out_dir(args.dir)
    failed = False
    for name, check, describe in ((ECG_FILE, check_ecg, _describe_ecg), (PPG_FILE, check_ppg, _describe_ppg)):
        problems = check(folder / name)
        if problems:
            failed = True
            print("\n".join(f"FAIL {line}" for line in problems))
        else:
            print(f"OK   {folder / name}: {describe(folder / name)}")
    for ok, line in _ecg_extras(folder):
        failed |= not ok
        print(f"OK   {line}" if ok else f"FAIL {line}")
    return 1 if failed else 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the RR-irregularity audit of an ECG folder or file."""
    import pandas as pd

    from labkit.converters.audit import audit_ecg

    table = audit_ecg(args.source, progress=_progress(args))
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.precision", 3):
        print(table.to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def add_data_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``data`` and its subcommands on ``subparsers``; each sets ``args.handler``."""
    from labkit.datasets.ecg_held_out import DEFAULT_FRACTION
    from labkit.synthetic.ecg import DEFAULT_LABEL_NOISE

    data = subparsers.add_parser("data", help="create, convert, download, check and audit the data files")
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    synth = commands.add_parser("synth", help="write the offline synthetic ECG and PPG files")
    synth.add_argument("--out", help="data folder (default: the course's data/ or $LABKIT_DATA_DIR)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--force", action="store_true", help="replace existing files")
    synth.add_argument("--if-missing", action="store_true", help="keep files that exist and pass their check")
    synth.add_argument("--n-per-rhythm", type=int, default=1500, help="ECG strips per rhythm")
    synth.add_argument(
        "--label-noise", type=float, default=DEFAULT_LABEL_NOISE, help="share of ECG labels swapped"
    )
    synth.add_argument("--only", choices=("ecg", "ppg"), help="write one file only")
    synth.add_argument("--no-progress", action="store_true")
    synth.set_defaults(handler=cmd_synth)

    prepare = commands.add_parser("prepare", help="convert a downloaded real dataset")
    prepare.add_argument("dataset", choices=("ecg", "ppg"))
    prepare.add_argument("--from", dest="source", required=True, help="the dataset folder")
    prepare.add_argument("--out", help="data folder (default: the course's data/)")
    prepare.add_argument(
        "--n-per-rhythm",
        type=int,
        default=1500,
        help="ECG records per rhythm (ecg-arrhythmia; CinC 2017: all)",
    )
    prepare.add_argument(
        "--held-out",
        type=float,
        default=DEFAULT_FRACTION,
        help=f"share of each rhythm's ECG records written to the held-out file for grading (default "
        f"{DEFAULT_FRACTION}; 0: none)",
    )
    prepare.add_argument("--seed", type=int, default=0, help="seed of the ECG sample")
    prepare.add_argument("--force", action="store_true", help="replace an existing file")
    prepare.add_argument("--no-progress", action="store_true")
    prepare.set_defaults(handler=cmd_prepare)

    download = commands.add_parser("download", help="download a real dataset (needs internet)")
    download.add_argument("dataset", choices=("ecg", "ppg"))
    download.add_argument("--to", default="downloads", help="target folder (default: ./downloads)")
    download.add_argument("--no-progress", action="store_true")
    download.set_defaults(handler=cmd_download)

    check = commands.add_parser("check", help="check both data files against their contracts")
    check.add_argument("--dir", help="data folder (default: the course's data/)")
    check.set_defaults(handler=cmd_check)

    audit = commands.add_parser("audit", help="RR-irregularity label audit per rhythm and source")
    audit.add_argument("dataset", choices=("ecg",))
    audit.add_argument(
        "--from", dest="source", required=True, help="ecg-arrhythmia folder or ecg_rhythms.npz"
    )
    audit.add_argument("--csv", help="also write the table as CSV")
    audit.add_argument("--no-progress", action="store_true")
    audit.set_defaults(handler=cmd_audit)
    return data


def main(argv: list[str] | None = None) -> int:
    """Run ``labkit data`` subcommands (``argv`` without the leading ``data``); return the exit code."""
    from labkit.cli import main as labkit_main

    return labkit_main(["data", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
