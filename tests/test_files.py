"""Atomic writes never leave a half-written file and never clobber without --force."""

from __future__ import annotations

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
