"""The bubblewrap command line that confines grading kernels, and what a confined process can see."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder.kernel.confine import Confinement, bwrap_argv, bwrap_available, empty_file, python_folders


def _confinement(tmp_path):
    course, work_root = tmp_path / "course", tmp_path / "grading"
    work = work_root / "work" / "lab" / "alice"
    data = work_root / "data"
    for folder in (course / "source", work, data):
        folder.mkdir(parents=True)
    (course / "gradebook.db").write_text("course grades")
    (work / "gradebook.db").write_text("hidden tests")
    (work_root / "work" / "lab" / "bob").mkdir()
    (data / "x.npz").write_text("data")
    return (
        Confinement(
            work=str(work),
            hide=(str(course), str(work_root)),
            read_only=(*python_folders(), str(data)),
            masked=(str(work / "gradebook.db"),),
            mask_with=empty_file(work_root),
        ),
        course,
        work_root,
        work,
        data,
    )


def test_argv_hides_then_mounts_back_in_order(tmp_path):
    confinement, course, work_root, work, data = _confinement(tmp_path)
    argv = bwrap_argv(confinement)
    assert argv[-1] == "--" and "--cap-drop" in argv and "--unshare-pid" in argv
    joined = " ".join(argv)
    assert joined.index(f"--tmpfs {work_root}") < joined.index(f"--bind {work} {work}")
    assert joined.index(f"--bind {work} {work}") < joined.index(f"{work_root}/empty-mask {work}/gradebook.db")
    assert f"--ro-bind {data} {data}" in joined
    assert "--dev /dev" in joined and "--dev-bind" not in joined
    assert "--dev-bind /dev /dev" in " ".join(bwrap_argv(Confinement(work=str(work), gpu=True)))


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap (bwrap) not available on this machine")
def test_a_confined_process_sees_only_its_own_work(tmp_path):
    confinement, course, work_root, work, data = _confinement(tmp_path)
    probe = (
        "import os, pathlib\n"
        f"print(os.path.exists({str(course / 'gradebook.db')!r}), "
        f"os.path.exists({str(course / 'source')!r}))\n"
        f"print(sorted(os.listdir({str(work_root / 'work' / 'lab')!r})))\n"
        f"print(repr(pathlib.Path({str(work / 'gradebook.db')!r}).read_text()))\n"
        f"print(pathlib.Path({str(data / 'x.npz')!r}).read_text())\n"
        f"pathlib.Path({str(work / 'out.txt')!r}).write_text('ok')\n"
        "import labkit\n"
        "try:\n    open('/etc/evil', 'w')\nexcept OSError as e:\n    print('readonly', e.errno)\n"
        "print(os.system('umount -l / 2>/dev/null') != 0)\n"
    )
    result = subprocess.run(
        [*bwrap_argv(confinement), sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "False False", "the course is visible"
    assert lines[1] == "['alice']", "another student's work is visible"
    assert lines[2] == "''", "the private gradebook (hidden tests) is readable"
    assert lines[3] == "data"
    assert lines[4].startswith("readonly")
    assert lines[5] == "True", "the confined process could unmount"
    assert (work / "out.txt").read_text() == "ok"
    assert (course / "gradebook.db").read_text() == "course grades"
