"""The ``labkit`` command: ``labkit data ...`` (datasets) and ``labkit doctor`` (installation check)."""

from __future__ import annotations

import argparse
import sys

from labkit import __version__
from labkit.exits import run_command


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``labkit`` command."""
    parser = argparse.ArgumentParser(prog="labkit", description="Course helper: data files and checks.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from labkit.datacli import add_data_parser
    from labkit.doctor import add_doctor_parser

    add_data_parser(commands)
    add_doctor_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 check failed, 2 bad input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    return run_command(
        "labkit", lambda: args.handler(args), interrupted="interrupted; nothing was overwritten"
    )


if __name__ == "__main__":
    sys.exit(main())
