"""autograder/kernel/sandbox.py: the kernel's limits, the kernelspec that starts the launcher, the launcher.

The launcher runs in a child process (its limits and session stay there) with ``os.execv`` replaced by a
report of what it would exec: no kernel starts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.kernel.confine import Confinement
from autograder.kernel.sandbox import KERNEL_NAME, write_kernelspec
from autograder.records import NOBODY_UID, Limits

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
LAUNCH = """import json, os, resource, sys
from autograder.kernel import sandbox

def execv(path, argv):
    limits = {name: resource.getrlimit(getattr(resource, name))
              for name in ("RLIMIT_AS", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE")}
    print(json.dumps({"path": path, "argv": argv, "limits": limits, "leader": os.getsid(0) == os.getpid()}))
    sys.exit(0)

os.execv = execv
sandbox.main(json.loads(sys.argv[1]))
"""


def test_limits_default_to_the_documented_values_and_are_frozen():
    limits = Limits()
    assert (limits.memory_mb, limits.fsize_mb, limits.nproc, limits.uid) == (4096, 256, 512, NOBODY_UID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.memory_mb = 0


def test_the_kernelspec_starts_the_launcher_with_every_limit(tmp_path):
    folder = write_kernelspec(tmp_path / "jupyter", Limits(1024, 64, 32, -1))
    assert folder == tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["language"] == "python" and spec["argv"] == [
        sys.executable, "-m", "autograder.kernel.sandbox", "--memory-mb", "1024", "--fsize-mb", "64",
        "--nproc", "32", "--uid", "-1", "--", "-f", "{connection_file}",
    ]  # fmt: skip


def test_a_confinement_travels_in_the_kernelspec_as_json(tmp_path):
    confinement = Confinement(
        work="/w", sockets="/s", hide=("/course",), read_only=("/py",), masked=("/w/gb",)
    )
    argv = json.loads((write_kernelspec(tmp_path, Limits(), confinement) / "kernel.json").read_text())["argv"]
    assert json.loads(argv[argv.index("--confine") + 1]) == json.loads(
        json.dumps(dataclasses.asdict(confinement))
    )
    assert argv[-3:] == ["--", "-f", "{connection_file}"]


def _launch(tmp_path, gpu: str = "") -> dict:
    spec = write_kernelspec(tmp_path, Limits(memory_mb=1024, fsize_mb=64, nproc=32, uid=-1))
    argv = json.loads((spec / "kernel.json").read_text())["argv"][3:]  # after "python -m module"
    argv = [str(tmp_path / "kernel-1.json") if a == "{connection_file}" else a for a in argv]
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": gpu}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, json.dumps(argv)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_launcher_applies_the_limits_then_execs_the_guarded_kernel_in_its_own_session(tmp_path):
    seen = _launch(tmp_path)
    assert seen["path"] == sys.executable and seen["leader"]
    assert seen["argv"] == [
        sys.executable,
        "-m",
        "autograder.kernel.guard",
        "-f",
        str(tmp_path / "kernel-1.json"),
    ]
    limits = seen["limits"]
    assert limits["RLIMIT_AS"] == [1024 * MB, 1024 * MB]
    assert limits["RLIMIT_FSIZE"] == [64 * MB, 64 * MB] and limits["RLIMIT_CORE"] == [0, 0]
    cap = limits["RLIMIT_NPROC"][0]
    assert 32 < cap != resource.RLIM_INFINITY and limits["RLIMIT_NPROC"][1] == cap  # running processes + 32


def test_with_a_gpu_visible_the_memory_limit_is_on_the_data_segment(tmp_path):
    limits = _launch(tmp_path, gpu="0")["limits"]
    assert limits["RLIMIT_DATA"] == [1024 * MB, 1024 * MB]
    assert limits["RLIMIT_AS"][0] != 1024 * MB  # CUDA reserves huge unbacked address ranges
