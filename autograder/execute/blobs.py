"""Content-addressed files of grading jobs: each file travels by its sha256 and is verified before use.

A `Job` names the files it needs (the data, the lab's grading kit, the training store, the probe inputs) by
sha256 digest only. Wherever the job runs, a `BlobCache` holds them, one file per digest:

- on the grading host (local workers), the host puts every file in the cache under the work root first;
- on a Dask worker, the cache lives on the worker's own disk (``$COURSE_GRADE_CACHE``, default
  ``~/.cache/course-grade``); a digest it lacks is fetched through Dask once, checked and kept for every
  later job and run (:mod:`autograder.execute.cluster`).

A file is verified (its sha256 recomputed) before its first use in a process and again whenever its inode,
size or change time differs; a file that fails is deleted and fetched again. The data a kernel reads is a
folder of hard links to verified blobs, named after the digest of the whole set, built atomically once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from autograder.records import InfrastructureError

#: Environment variable naming a worker's cache folder (default ``~/.cache/course-grade``).
CACHE_ENV = "COURSE_GRADE_CACHE"
CHUNK = 1 << 20

#: ``fetch(digests)`` returns the bytes of the given digests (through Dask on a cluster worker).
Fetch = Callable[[list[str]], Mapping[str, bytes]]


class MissingBlobsError(InfrastructureError):
    """Digests a job needs that this cache lacks and could not fetch (the host sends them again)."""

    def __init__(self, message: str, digests: Iterable[str] = (), worker: str = "") -> None:
        super().__init__(message, worker)
        self.digests = sorted(digests)


def host_cache(work_root: Path) -> BlobCache:
    """Return the grading host's file cache (under the work root, outside the course)."""
    return BlobCache(work_root / "cache")


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def default_root() -> Path:
    """Return a worker's cache folder: ``$COURSE_GRADE_CACHE``, else ``$XDG_CACHE_HOME/course-grade``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "course-grade"


class BlobCache:
    """One folder of verified, read-only files named by their sha256, and data folders built from them.

    Parameters
    ----------
    root
        The cache folder (created mode 700): ``blobs/<digest>``, ``data/<set digest>/<name>``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self._verified: dict[str, tuple[int, int, int]] = {}
        try:
            self.blobs.mkdir(parents=True, exist_ok=True)
            (self.root / "data").mkdir(exist_ok=True)
            os.chmod(self.root, 0o700)
        except OSError as exc:
            raise InfrastructureError(f"cache {self.root}: cannot create it ({exc})") from exc

    def listing(self) -> set[str]:
        """Return the digests present (not verified: a listing for the host to skip sending them)."""
        return {p.name for p in self.blobs.iterdir() if len(p.name) == 64}

    def path(self, digest: str) -> Path | None:
        """Return the verified file of ``digest``, or None (a file that fails verification is deleted)."""
        path = self.blobs / digest
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        state = (stat.st_ino, stat.st_size, stat.st_ctime_ns)
        if self._verified.get(digest) == state:
            return path
        if sha256_file(path) != digest:
            path.unlink(missing_ok=True)
            self._verified.pop(digest, None)
            return None
        self._verified[digest] = state
        return path

    def put(self, digest: str, data: bytes) -> Path:
        """Store ``data`` under ``digest`` atomically (read-only) after checking that it has that digest.

        Raises
        ------
        InfrastructureError
            When the bytes do not have that digest (corrupted in transit) or the disk refuses them.
        """
        if sha256_bytes(data) != digest:
            raise MissingBlobsError(f"blob {digest[:12]}: received bytes with another sha256", [digest])
        target = self.blobs / digest
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{digest[:12]}.", dir=self.blobs)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise InfrastructureError(f"cache {self.root}: cannot store a file ({exc})") from exc
        return target

    def add_file(self, path: Path) -> str:
        """Put a copy of the file at ``path`` in the cache (unless present) and return its digest."""
        digest = sha256_file(path)
        if self.path(digest) is None:
            self.put(digest, Path(path).read_bytes())
        return digest

    def add_bytes(self, data: bytes) -> str:
        """Put ``data`` in the cache (unless present) and return its digest."""
        digest = sha256_bytes(data)
        if self.path(digest) is None:
            self.put(digest, data)
        return digest

    def ensure(self, digests: Iterable[str], fetch: Fetch | None = None) -> dict[str, Path]:
        """Return the verified file of every digest, fetching the missing ones once with ``fetch``.

        Raises
        ------
        MissingBlobsError
            When some are missing and cannot be fetched (no ``fetch``, or it failed or returned too few).
        """
        wanted = sorted(set(digests))
        found = {d: p for d in wanted if (p := self.path(d)) is not None}
        missing = [d for d in wanted if d not in found]
        if missing and fetch is not None:
            try:
                received = fetch(missing)
            except Exception as exc:  # noqa: BLE001 (any failure to fetch: the host sends them again)
                raise MissingBlobsError(f"could not fetch {len(missing)} file(s): {exc}", missing) from exc
            for digest in missing:
                if digest in received:
                    found[digest] = self.put(digest, received[digest])
        still = [d for d in wanted if d not in found]
        if still:
            raise MissingBlobsError(f"{len(still)} file(s) missing from the cache {self.root}", still)
        return found

    def folder(self, files: Mapping[str, str], fetch: Fetch | None = None) -> Path:
        """Return a read-only folder holding ``files`` (name to digest), built once from verified blobs.

        Its name is the digest of the whole set, so every job needing the same set shares it.
        """
        paths = self.ensure(files.values(), fetch)
        listing = json.dumps(dict(sorted(files.items()))).encode()
        target = self.root / "data" / sha256_bytes(listing)[:24]
        if target.is_dir() and all((target / name).is_file() for name in files):
            if all(os.path.samefile(target / name, paths[d]) for name, d in files.items()):
                return target
            _remove_folder(target)
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".data-", dir=self.root / "data"))
            for name, digest in files.items():
                _link_or_copy(paths[digest], tmp / name)
            os.chmod(tmp, 0o555)
            try:
                tmp.rename(target)
            except OSError:  # another job built it first
                _remove_folder(tmp)
        except OSError as exc:
            raise InfrastructureError(f"cache {self.root}: cannot build a data folder ({exc})") from exc
        return target


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        os.chmod(target, 0o444)


def _remove_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o700)
    shutil.rmtree(folder, ignore_errors=True)


__all__ = ["CACHE_ENV", "BlobCache", "MissingBlobsError", "default_root", "sha256_bytes", "sha256_file"]
