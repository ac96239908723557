"""Training reuse while grading (labkit.training.reuse): a key that misses no input, and a store that
cannot be poisoned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograder.reuse.store import write_manifest
from labkit.training import reuse
from labkit.training.reuse import Fingerprinter

SCENARIOS = Path(__file__).parent / "fixtures" / "reuse_scenarios.py"


def _scenarios(mode: str, env: dict[str, str]) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_TRAIN_STORE")}
    full.update(env, OMP_NUM_THREADS="2")
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS), mode], env=full, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"results": json.loads(proc.stdout.strip().splitlines()[-1]), "stderr": proc.stderr}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Path, dict, str]:
    """A store recorded by a 'reference run' of the scenarios, with the grader's manifest."""
    folder = tmp_path_factory.mktemp("store")
    recorded = _scenarios("record", {reuse.STORE_ENV: str(folder), reuse.RECORD_ENV: "Net,Scaled"})
    return folder, recorded["results"], write_manifest(folder)


@pytest.mark.slow
def test_only_given_classes_are_recorded(store) -> None:
    folder, recorded, _ = store
    assert len(list(folder.glob("*.pt"))) == 2  # Net and Scaled; the student's own class is not recorded
    assert not any(r["reused"] for r in recorded.values())


@pytest.mark.slow
def test_a_matching_key_reuses_the_state_bit_for_bit_and_any_changed_input_trains(store) -> None:
    folder, recorded, manifest = store
    read = _scenarios("read", {reuse.STORE_ENV: str(folder), reuse.MANIFEST_ENV: manifest})["results"]
    for name in ("baseline", "scaled", "baseline again"):
        assert read[name]["reused"], name
    # identical predictions and identical random numbers afterwards: the rest of the notebook cannot tell
    assert read["baseline"]["predictions"] == recorded["baseline"]["predictions"]
    assert read["baseline"]["after"] == recorded["baseline"]["after"]
    assert read["scaled"]["predictions"] == recorded["scaled"]["predictions"]
    missed = ("learning rate", "schedule", "epochs", "batch size", "one input value", "initial weights",
              "class code", "thread count", "own class", "global value")  # fmt: skip
    assert {name: read[name]["reused"] for name in missed} == dict.fromkeys(missed, False)


@pytest.mark.slow
def test_a_changed_entry_or_manifest_is_never_loaded(store, tmp_path) -> None:
    folder, recorded, manifest = store
    copy = tmp_path / "store"
    copy.mkdir()
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    entry = sorted(copy.glob("*.pt"))[0]
    data = bytearray(entry.read_bytes())
    data[-20] ^= 0xFF
    for target in sorted(copy.glob("*.pt")):
        target.write_bytes(bytes(data))  # every entry replaced by a corrupted one
    out = _scenarios("read", {reuse.STORE_ENV: str(copy), reuse.MANIFEST_ENV: manifest})
    assert not any(r["reused"] for r in out["results"].values())
    assert "changed on disk; not used" in out["stderr"]
    assert out["results"]["baseline"]["predictions"] == recorded["baseline"]["predictions"]  # trained again
    rewritten = write_manifest(copy)  # a kernel rewriting the manifest does not know the grader's digest
    assert rewritten != manifest
    out = _scenarios("read", {reuse.STORE_ENV: str(copy), reuse.MANIFEST_ENV: manifest})
    assert not any(r["reused"] for r in out["results"].values())
    assert "manifest changed since written" in out["stderr"]


def test_nothing_is_active_without_the_graders_variables(monkeypatch, tmp_path) -> None:
    for name in (reuse.STORE_ENV, reuse.MANIFEST_ENV, reuse.RECORD_ENV):
        monkeypatch.delenv(name, raising=False)
    assert not reuse.active()
    monkeypatch.setenv(reuse.STORE_ENV, str(tmp_path))
    assert not reuse.active()  # a folder alone: neither recording nor a manifest to check against
    assert reuse.lookup("0" * 64) is None


def test_fingerprints_follow_code_and_globals_and_are_stable() -> None:
    def make(scale: float):
        def forward(x):
            return x * scale

        return forward

    fp = Fingerprinter()
    assert fp.value(make(1.0)) == Fingerprinter().value(make(1.0))
    assert fp.value(make(1.0)) != Fingerprinter().value(make(2.0))  # the closure's value
    assert Fingerprinter().value(torch.nn.Linear) == b"class:torch.nn.modules.linear.Linear"
    assert Fingerprinter().value(object()).startswith(b"opaque:")  # cannot match another process
    assert Fingerprinter().value({"b": (1, 2.5), "a": "x"}) == Fingerprinter().value(
        {"a": "x", "b": (1, 2.5)}
    )


def test_entries_round_trip_with_random_states() -> None:
    torch.manual_seed(3)
    model = torch.nn.Linear(3, 2)
    entry = reuse.capture(model, {"val_loss": 0.5})
    expected = torch.rand(3)
    back = reuse.Entry.from_bytes(entry.to_bytes())
    other = torch.nn.Linear(3, 2)
    reuse.restore(other, back)
    assert torch.equal(other.weight, model.weight)
    assert torch.equal(torch.rand(3), expected)
    assert back.metrics == {"val_loss": 0.5}
