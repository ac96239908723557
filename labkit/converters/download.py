"""Download the real datasets on a machine with internet: resumable (HTTP Range) and checksum-verified.

PhysioNet publishes ``SHA256SUMS.txt`` beside every release; each file is verified against it and files
already present with the right checksum are skipped, so an interrupted download restarts where it stopped.
UCI publishes no checksum for PPG-DaLiA: its zip is verified by reading the archive's own CRCs.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from labkit.files import DataFileError

ECG_BASE = "https://physionet.org/files/ecg-arrhythmia/1.0.0/"
ECG_SUMS = "SHA256SUMS.txt"
PPG_URL = "https://archive.ics.uci.edu/static/public/495/ppg+dalia.zip"
CHUNK = 1 << 20
Opener = Callable[..., Any]  # urllib.request.urlopen or a stand-in with the same call and response


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_sha256sums(text: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``HASH  path`` per line; a ``*`` before the path marks binary mode)."""
    sums = {}
    for line in text.splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[parts[1].lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def wanted_ecg_files(sums: dict[str, str]) -> list[str]:
    """Relative paths of the records to fetch: every ``WFDBRecords/**.hea`` and ``.mat``, sorted."""
    return sorted(p for p in sums if p.startswith("WFDBRecords/") and p.endswith((".hea", ".mat")))


def download_file(
    url: str, dest: str | os.PathLike[str], sha256: str | None = None, opener: Opener | None = None
) -> Path:
    """Fetch ``url`` to ``dest``, resuming a ``.part`` file with an HTTP Range request, then verify it.

    Parameters
    ----------
    url
        Source address.
    dest
        Target file; skipped when it exists and matches ``sha256``.
    sha256
        Expected hex digest (None: no verification).
    opener
        A stand-in for ``urllib.request.urlopen`` (default: urlopen itself).

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    DataFileError
        When the checksum does not match (the partial file is removed so a rerun starts clean).
    """
    opener = opener or urllib.request.urlopen  # looked up at call time, so tests can stand in for it
    dest = Path(dest)
    if dest.is_file() and (sha256 is None or sha256_of(dest) == sha256):
        return dest
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with opener(urllib.request.Request(url, headers=headers)) as response:
        resumed = offset and getattr(response, "status", 200) == 206
        with open(part, "ab" if resumed else "wb") as handle:
            for block in iter(lambda: response.read(CHUNK), b""):
                handle.write(block)
    if sha256 is not None and sha256_of(part) != sha256:
        part.unlink()
        raise DataFileError(f"{dest}: checksum mismatch after download from {url}. Fix: rerun the download.")
    os.replace(part, dest)
    return dest


def download_ecg(to: str | os.PathLike[str], progress: bool = False, opener: Opener | None = None) -> Path:
    """Download the ecg-arrhythmia records (``WFDBRecords/``) into ``to``; returns the dataset folder."""
    from tqdm.auto import tqdm

    root = Path(to) / "ecg-arrhythmia"
    sums_file = download_file(ECG_BASE + ECG_SUMS, root / ECG_SUMS, opener=opener)
    sums = parse_sha256sums(sums_file.read_text())
    for url, rel, digest in tqdm(
        list(iter_urls(sums)), desc="ecg-arrhythmia", unit="file", disable=not progress
    ):
        download_file(url, root / rel, digest, opener=opener)
    return root


def verify_zip(path: str | os.PathLike[str]) -> None:
    """Raise a one-line DataFileError when a zip archive is truncated or a member fails its CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        raise DataFileError(
            f"{path}: not a complete zip archive ({error}). Fix: rerun the download."
        ) from None
    if bad is not None:
        raise DataFileError(f"{path}: member {bad} fails its CRC check. Fix: delete the file and rerun.")


def download_ppg(to: str | os.PathLike[str], progress: bool = False, opener: Opener | None = None) -> Path:
    """Download and verify the UCI PPG-DaLiA zip into ``to``; returns the zip (unpack it before prepare)."""
    del progress  # one file; urllib gives no size-aware progress worth a bar here
    dest = download_file(PPG_URL, Path(to) / "ppg_dalia.zip", opener=opener)
    verify_zip(dest)
    return dest


def iter_urls(sums: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """Yield (url, relative path, sha256) of every ecg-arrhythmia record file."""
    for rel in wanted_ecg_files(sums):
        yield ECG_BASE + rel, rel, sums[rel]
