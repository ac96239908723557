"""Atomic writes never leave a half-written file and never clobber without --force."""

from __future__ import annotations

import os
import stat

import pytest

from labkit.files import atomic_path, atomic_write, refuse_overwrite


def test_atomic_write_replaces_in_one_step(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_existing_file_is_refused_without_force(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError, match=r"labkit data synth --force"):
        refuse_overwrite(target, force=False, command="labkit data synth")
    refuse_overwrite(target, force=True, command="labkit data synth")
    refuse_overwrite(tmp_path / "absent", force=False, command="x")


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_atomic_writes_get_the_mode_of_a_plain_write_not_the_temporary_files_0600(tmp_path, umask):
    # data files must be readable by the students' servers of the course hub (issue 31): a plain open()
    # gives 0o666 less the umask; the temporary file of mkstemp is 0o600 whatever the umask
    old = os.umask(umask)
    try:
        written = atomic_write(tmp_path / "data.bin", lambda tmp: tmp.write_bytes(b"x"))
        plain = tmp_path / "plain.bin"
        plain.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(written.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~umask
