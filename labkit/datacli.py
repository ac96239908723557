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


def cmd_prepare(args: argparse.Namespace) -> int:
    """Convert a real dataset folder into the course file."""
    out = _out_dir(args.out)
    if args.dataset == "ecg":
        from labkit.converters.physionet_ecg import CONVERTER, SOURCE, VERSION, format_report, prepare_ecg
        from labkit.datasets.ecg import generator_id, save_ecg

        path = out / ECG_FILE
        refuse_overwrite(path, args.force, "labkit data prepare ecg --from PATH")
        signals, rhythms, ids, report = prepare_ecg(
            args.source, args.n_per_rhythm, args.seed, _progress(args)
        )
        print(format_report(report))
        generator = generator_id(CONVERTER, VERSION)
        provenance = {"source": SOURCE, "generator": generator, "seed": args.seed, "record_ids": ids}
        save_ecg(path, signals, rhythms, provenance, args.force, "labkit data prepare ecg --from PATH")
        print(f"wrote {path} ({len(rhythms)} real strips)")
        return 0
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

    _, rhythms, fs = load_ecg(path)
    prov = load_ecg_provenance(path)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(Counter(rhythms.tolist()).items()))
    return f"source {prov['source']} ({prov['generator']}), {len(rhythms)} strips at {fs} Hz: {counts}"


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
    prepare.add_argument("--n-per-rhythm", type=int, default=1500, help="ECG records per rhythm")
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
