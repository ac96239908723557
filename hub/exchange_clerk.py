"""The exchange clerk: files students' submissions into the course exchange and hands back their feedback.

A hub service (``hub/jupyterhub_config.py`` starts it with the hub), run as the hub's user. Each confined
student's server sees, as the exchange's ``inbound`` folder, only its own folder ``<hub dir>/exchange/<name>/
inbound``. Every second the clerk

- takes each complete submission found there (nbgrader's submit makes the folder ``0777`` as its last step)
  and files it into the course exchange's ``inbound`` as ``<name>+<assignment>+<time>+<random>``, where
  ``<name>`` is the owner of the folder (not what the student wrote) and ``<time>`` the clerk's clock when it
  took it; ``timestamp.txt`` gets that same time: nbgrader's collect and late-submission check then use the
  exchange's time, not the student's clock. Only regular files and folders are copied (no links).
  Each receipt is a line of ``<hub dir>/exchange/receipts.jsonl`` (also the time the student claimed);
- copies the feedback the instructor released (``feedback/<hash>.html``, the hash of the submission's secret
  and notebook name) into ``<hub dir>/exchange/<name>/feedback``, the only feedback that student sees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_hub import course_exchange  # noqa: E402

#: nbgrader's submission folder name: student+assignment+timestamp(+random)
SUBMISSION = re.compile(
    r"^(?P<student>[^+]*)\+(?P<assignment>[^+/]+)\+(?P<timestamp>[^+]*)(?P<random>\+[^+/]*)?$"
)


def stamp(now: float | None = None) -> str:
    """Return ``now`` in nbgrader's timestamp format (UTC)."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def _complete(folder: Path) -> bool:
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode):
        return False
    finished = stat.S_IMODE(info.st_mode) == 0o777 and (folder / "timestamp.txt").is_file()
    return finished or time.time() - info.st_mtime > 600  # a hand-made folder, untouched for 10 minutes


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the regular files and folders of ``source`` to ``target`` (world-readable); skip links."""
    target.mkdir(mode=0o755)
    for entry in os.scandir(source):
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            _copy_tree(Path(entry.path), target / entry.name)
        elif stat.S_ISREG(info.st_mode):
            shutil.copyfile(entry.path, target / entry.name, follow_symlinks=False)
            (target / entry.name).chmod(0o644)


def feedback_hashes(submission: Path) -> list[str]:
    """Return the names (without ``.html``) nbgrader's release_feedback gives this submission's feedback."""
    secret_file = submission / "submission_secret.txt"
    if not secret_file.is_file():
        return []
    secret = secret_file.read_text()
    hashes = []
    for notebook in sorted(submission.glob("*.ipynb")):
        digest = hashlib.md5()
        digest.update(secret.encode("utf-8"))
        digest.update(notebook.stem.encode("utf-8"))
        hashes.append(digest.hexdigest())
    return hashes


def file_submissions(own: Path, inbound: Path, ledger: Path) -> list[dict]:
    """File the complete submissions of each student folder under ``own`` into ``inbound``; return them."""
    receipts = []
    for student_folder in sorted(p for p in own.iterdir() if (p / "inbound").is_dir()):
        student = student_folder.name
        for folder in sorted((student_folder / "inbound").iterdir()):
            match = SUBMISSION.match(folder.name)
            if not _complete(folder):
                continue
            received = stamp()
            claimed = (
                (folder / "timestamp.txt").read_text()[:64] if (folder / "timestamp.txt").is_file() else ""
            )
            assignment = match["assignment"] if match else "unnamed"
            random = match["random"] if match and match["random"] else f"+{os.urandom(8).hex()}"
            name = f"{student}+{assignment}+{received}{random}"
            staging = inbound / f".clerk-{name}"
            shutil.rmtree(staging, ignore_errors=True)
            _copy_tree(folder, staging)
            (staging / "timestamp.txt").write_text(received)
            (staging / "timestamp.txt").chmod(0o644)
            os.chmod(staging, 0o755)
            os.replace(staging, inbound / name)  # collect sees it whole or not at all
            shutil.rmtree(folder)
            receipt = {"student": student, "assignment": assignment, "received": received, "claimed": claimed,
                       "folder": name, "feedback": feedback_hashes(inbound / name)}  # fmt: skip
            with ledger.open("a") as sink:
                sink.write(json.dumps(receipt) + "\n")
            receipts.append(receipt)
    return receipts


def hand_out_feedback(own: Path, feedback: Path, ledger: Path) -> int:
    """Copy released feedback into each student's own feedback folder; return how many files were copied."""
    if not ledger.is_file():
        return 0
    copied = 0
    for line in ledger.read_text().splitlines():
        receipt = json.loads(line)
        target_folder = own / receipt["student"] / "feedback"
        for digest in receipt["feedback"]:
            source, target = feedback / f"{digest}.html", target_folder / f"{digest}.html"
            if not source.is_file():
                continue
            if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
                continue
            target_folder.mkdir(parents=True, exist_ok=True)
            tmp = target_folder / f".{digest}.tmp"
            shutil.copyfile(source, tmp)
            tmp.chmod(0o644)
            os.replace(tmp, target)
            copied += 1
    return copied


def sweep(course: Path, state: Path) -> list[dict]:
    """One round: file new submissions, hand out released feedback; return the new receipts."""
    course_id, exchange = course_exchange(course)
    own = state / "exchange"
    if not own.is_dir():
        return []
    real = exchange / course_id
    (real / "inbound").mkdir(parents=True, exist_ok=True)
    ledger = own / "receipts.jsonl"
    receipts = file_submissions(own, real / "inbound", ledger)
    hand_out_feedback(own, real / "feedback", ledger)
    return receipts


def main(argv: list[str] | None = None) -> None:
    """Sweep every ``--every`` seconds until stopped (the hub stops its services)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args(argv)
    while True:
        try:
            for receipt in sweep(args.course, args.state):
                print(f"exchange-clerk: filed {receipt['folder']} (student's clock: {receipt['claimed']})",
                      flush=True)  # fmt: skip
        except OSError as error:  # one bad folder must not stop the class's submissions
            print(f"exchange-clerk: {error}", file=sys.stderr, flush=True)
        time.sleep(args.every)


if __name__ == "__main__":
    main()
