"""Speed of `labkit data synth`: both default datasets, against a per-beat Python loop baseline.

Measures, in one run:
1. the full default synthesis as `labkit data synth` does it (ECG 1500 strips per rhythm + PPG 29 records,
   generated and written), against the requirement of at most 30 s;
2. the ECG beat renderer (vectorised scatter-add over all beats of a batch) against a named baseline,
   "per-beat loop": a Python loop over records and beats adding each wave over the full time axis, on the
   same 200 strips' beat parameters (the outputs are checked to agree).

Usage::

    .venv/bin/python bench/data_speed.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from labkit.datasets.ecg import FS, N_SAMPLES, RHYTHMS
from labkit.synthetic import ecg as synth

LIMIT_S = 30.0
BASELINE_STRIPS = 200


def full_synth(out: Path) -> dict[str, float]:
    """Time `labkit data synth --out OUT` (both files) through the CLI entry point."""
    from labkit.datacli import main

    start = time.perf_counter()
    assert main(["synth", "--out", str(out), "--no-progress", "--only", "ecg"]) == 0
    ecg = time.perf_counter() - start
    start = time.perf_counter()
    assert main(["synth", "--out", str(out), "--no-progress", "--only", "ppg"]) == 0
    return {"ecg_s": ecg, "ppg_s": time.perf_counter() - start}


def beat_parameters(n: int, seed: int = 0) -> list[tuple[np.ndarray, list[tuple]]]:
    """Beat times and wave parameters of ``n`` strips spread over the five rhythms."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_SAMPLES) / FS
    batches = []
    for label in RHYTHMS:
        resp = synth.rhythm.resp_phase(n // len(RHYTHMS), rng)
        beats = synth._rhythm_batch(label, n // len(RHYTHMS), t, rng, resp)
        morph = synth._morphology(n // len(RHYTHMS), rng)
        batches.append((beats.r_times, synth._waves(beats.r_times, beats.has_p, morph, rng, resp)))
    return batches


def per_beat_loop(r_times: np.ndarray, waves: list[tuple]) -> np.ndarray:
    """Baseline: loop over records, beats and waves, each wave evaluated over the whole strip."""
    t = np.arange(N_SAMPLES) / FS
    out = np.zeros((r_times.shape[0], N_SAMPLES))
    for i in range(r_times.shape[0]):
        for b in range(r_times.shape[1]):
            if np.isnan(r_times[i, b]):
                continue
            for amp, centre, left, right in waves:
                x = t - r_times[i, b] - centre[i, b]
                sigma = np.where(x < 0, left[i, b], right[i, b])
                out[i] += amp[i, b] * np.exp(-0.5 * (x / sigma) ** 2)
    return out


def render_comparison() -> dict[str, float]:
    """Time both renderers on the same beats and check that they agree."""
    batches = beat_parameters(BASELINE_STRIPS)
    start = time.perf_counter()
    fast = [synth._render_beats(r, w) for r, w in batches]
    vectorised = time.perf_counter() - start
    start = time.perf_counter()
    slow = [per_beat_loop(r, w) for r, w in batches]
    baseline = time.perf_counter() - start
    error = max(float(np.abs(a - b).max()) for a, b in zip(fast, slow, strict=True))
    return {"vectorised_s": vectorised, "per_beat_loop_s": baseline, "max_abs_diff_mv": error}


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        full = full_synth(Path(folder))
    total = full["ecg_s"] + full["ppg_s"]
    render = render_comparison()
    ratio = render["per_beat_loop_s"] / render["vectorised_s"]
    ecg, ppg = full["ecg_s"], full["ppg_s"]
    print(f"full default synthesis: ECG 7500 strips {ecg:.1f} s + PPG 29 records {ppg:.1f} s")
    print(f"  = {total:.1f} s (limit {LIMIT_S:.0f} s): {'OK' if total <= LIMIT_S else 'TOO SLOW'}")
    print(
        f"beat rendering, {BASELINE_STRIPS} strips: vectorised {render['vectorised_s']:.3f} s, "
        f"baseline per-beat loop {render['per_beat_loop_s']:.2f} s -> {ratio:.0f}x faster "
        f"(max difference {render['max_abs_diff_mv']:.1e} mV)"
    )
    return 0 if total <= LIMIT_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
