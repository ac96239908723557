"""Synthetic single-lead (lead II) ECG strips of five rhythms: 10 s, 128 Hz, mV.

Each beat is a sum of Gaussian waves (P, Q, R, S and an asymmetric T) placed around R-peak times drawn by
:mod:`labkit.synthetic.ecg_rhythm`. Records differ in amplitude, electrical axis, wave widths, PR and QTc;
beats differ by respiratory amplitude modulation and jitter; the QT interval follows the preceding RR
(Bazett). Noise: respiratory baseline wander and slow drift, muscle (EMG) noise in bursts, and in a quarter
of the records a small residual of 50 or 60 Hz mains interference. Everything is computed for whole batches
of records with array operations; there is no per-sample or per-beat Python loop.

See docs/data_ecg.md for the parameters and their physiological ranges.
"""

from __future__ import annotations

import numpy as np

from labkit.datasets.ecg import FS, N_SAMPLES, RHYTHMS
from labkit.exits import BadArgumentError
from labkit.reproducibility import make_rng
from labkit.synthetic import ecg_rhythm as rhythm

GENERATOR = "labkit.synthetic.ecg"
VERSION = "1.0"
DEFAULT_LABEL_NOISE = 0.05  # see apply_label_noise and docs/data_ecg.md
CHUNK = 500  # records per vectorised batch (bounds memory at ~100 MB)
WINDOW = np.arange(int(-0.40 * FS), int(0.65 * FS) + 1)  # samples around each R peak holding its waves
SINUS_RATES = {  # bpm range of the record's mean rate; "normal" reaches past 60-100 as real labels do
    "normal_sinus_rhythm": (58.0, 102.0),
    "sinus_bradycardia": (40.0, 59.5),
    "sinus_tachycardia": (100.5, 150.0),
}
CONFUSABLE_PAIRS = (  # (label a, label b, share of the label-noise budget)
    ("atrial_fibrillation", "atrial_flutter", 0.6),
    ("normal_sinus_rhythm", "sinus_bradycardia", 0.2),
    ("normal_sinus_rhythm", "sinus_tachycardia", 0.2),
)


def _uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    return rng.uniform(low, high, size=(n, 1))


def _rhythm_batch(label: str, n: int, t: np.ndarray, rng: np.random.Generator, resp) -> rhythm.Rhythm:
    """Draw beat times and atrial activity of ``n`` records of one rhythm."""
    if label in SINUS_RATES:
        rr = rhythm.sinus_rr(n, *SINUS_RATES[label], rng, resp)
        return rhythm.Rhythm(rhythm.beats_from_rr(rr, rng), np.ones(n, bool), np.zeros((n, t.size)))
    if label == "atrial_fibrillation":
        r_times = rhythm.beats_from_rr(rhythm.fibrillation_rr(n, rng), rng)
        return rhythm.Rhythm(r_times, np.zeros(n, bool), rhythm.fibrillation_waves(n, t, rng))
    if label == "atrial_flutter":
        r_times, waves = rhythm.flutter(n, t, rng)
        return rhythm.Rhythm(r_times, np.zeros(n, bool), waves)
    raise ValueError(f"unknown rhythm {label!r}; expected one of {list(RHYTHMS)}")


def _gaussian(rel: np.ndarray, centre: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Asymmetric Gaussian bump evaluated at ``rel`` (n, beats, window); parameters are (n, beats)."""
    x = rel - centre[..., None].astype(np.float32)
    sigma = np.where(x < 0, left[..., None], right[..., None]).astype(np.float32)
    return np.exp(np.float32(-0.5) * (x / sigma) ** 2)


def _morphology(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-record wave parameters (each (n, 1)): amplitudes in mV, widths and intervals in s."""
    gain = np.exp(rng.normal(0.0, 0.25, size=(n, 1)))
    axis = np.clip(rng.normal(50.0, 25.0, size=(n, 1)), -30.0, 110.0)
    projection = np.cos(np.radians(axis - 60.0))  # lead II sits at +60 degrees
    morphology = {
        "r": gain * _uniform(rng, 0.6, 1.6, n) * (0.3 + 0.7 * projection),
        "s": gain * (_uniform(rng, 0.05, 0.35, n) + 0.4 * (1 - projection)),
        "q": gain * _uniform(rng, 0.0, 0.15, n),
        "qrs_width": _uniform(rng, 0.008, 0.013, n),
        "p": _uniform(rng, 0.06, 0.22, n) * np.sqrt(gain),
        "p_width": _uniform(rng, 0.018, 0.028, n),
        "pr": _uniform(rng, 0.13, 0.20, n),
        "t": _uniform(rng, 0.08, 0.45, n) * np.sqrt(gain),  # capped below at 0.7 R + 0.05
        "qtc": _uniform(rng, 0.37, 0.45, n),
        "resp_mod": _uniform(rng, 0.02, 0.10, n),
    }
    morphology["t"] = np.minimum(morphology["t"], 0.7 * morphology["r"] + 0.05)
    return morphology


def _waves(r_times: np.ndarray, has_p: np.ndarray, m: dict[str, np.ndarray], rng, resp) -> list[tuple]:
    """List (amplitude, centre, left width, right width) per wave, each (n, beats), relative to R."""
    n, beats = r_times.shape
    rr = np.diff(r_times, axis=1)
    rr = np.clip(np.nan_to_num(np.concatenate([rr[:, :1], rr], axis=1), nan=0.8), 0.27, 2.0)
    f_resp, phase = resp
    mod = 1 + m["resp_mod"] * np.sin(2 * np.pi * f_resp * np.nan_to_num(r_times) + phase)
    jitter = 1 + rng.normal(0, 0.03, size=(n, beats))
    ones = np.ones((n, beats))
    qrs_w = m["qrs_width"] * ones
    qt = m["qtc"] * np.sqrt(rr)
    pr = np.clip(m["pr"] - 0.04 * (1.0 / rr - 1.2), 0.11, 0.22) + rng.normal(0, 0.004, size=(n, beats))
    p_amp = np.where(has_p[:, None], m["p"], 0.0) * (1 + rng.normal(0, 0.08, size=(n, beats)))
    return [
        (p_amp, -pr, m["p_width"] * ones, m["p_width"] * ones),
        (-m["q"] * mod * jitter, -2.2 * qrs_w, 0.8 * qrs_w, 0.8 * qrs_w),
        (m["r"] * mod * jitter, 0 * ones, qrs_w, qrs_w),
        (-m["s"] * mod * jitter, 2.4 * qrs_w, qrs_w, 1.2 * qrs_w),
        (m["t"] * (1 + rng.normal(0, 0.04, size=(n, beats))), 0.62 * qt, 0.17 * qt, 0.11 * qt),
    ]


def _render_beats(r_times: np.ndarray, waves: list[tuple]) -> np.ndarray:
    """Sum the waves of every beat into (n, N_SAMPLES) strips with one scatter-add."""
    n = r_times.shape[0]
    seen = (r_times >= -WINDOW[-1] / FS) & (r_times < (N_SAMPLES - WINDOW[0]) / FS)
    columns = np.flatnonzero(seen.any(axis=0))  # beats that can touch the strip in some record
    r_times, valid = r_times[:, columns], seen[:, columns]
    r_safe = np.where(valid, r_times, -10.0)
    centre = np.round(r_safe * FS).astype(np.int64)
    index = centre[..., None] + WINDOW  # (n, beats, window)
    rel = (index / FS - r_safe[..., None]).astype(np.float32)
    values = sum(
        amp[:, columns, None] * _gaussian(rel, *(p[:, columns] for p in params)) for amp, *params in waves
    )
    keep = valid[..., None] & (index >= 0) & (index < N_SAMPLES)
    flat = (np.arange(n)[:, None, None] * N_SAMPLES + index)[keep]
    return np.bincount(flat, weights=values[keep], minlength=n * N_SAMPLES).reshape(n, N_SAMPLES)


def _noise(n: int, t: np.ndarray, rng: np.random.Generator, resp) -> np.ndarray:
    """Baseline wander (respiration + drift), bursty EMG noise and a small residual of mains interference.

    A recorder sampling at 128 Hz low-passes below 64 Hz before sampling; 50 and 60 Hz lie under that
    Nyquist frequency but most devices notch them out, so only a few records keep a few microvolts of it
    (at 128 Hz a 60 Hz tone shows as a sign-alternating ripple beating at 4 Hz).
    """
    f_resp, phase = resp
    wander = np.exp(rng.uniform(np.log(0.02), np.log(0.3), size=(n, 1))) * np.sin(
        2 * np.pi * f_resp * t + phase
    )
    drift = _uniform(rng, 0.0, 0.15, n) * rhythm.brickwall_noise(n, t.size, rng, cutoff_hz=0.3, fs=FS)
    burst = np.clip(1 + 1.2 * rhythm.brickwall_noise(n, t.size, rng, cutoff_hz=0.5, fs=FS), 0.2, None)
    emg_level = np.exp(rng.uniform(np.log(0.004), np.log(0.05), size=(n, 1)))
    emg = emg_level * burst * rng.normal(0, 1, size=(n, t.size))
    mains_hz = rng.choice([50.0, 60.0], size=(n, 1))
    mains_amp = np.where(
        rng.random((n, 1)) < 0.25, np.exp(rng.uniform(np.log(0.002), np.log(0.02), (n, 1))), 0
    )
    mains = mains_amp * np.sin(2 * np.pi * mains_hz * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    return wander + drift + emg + mains


def synthesize(label: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Generate ``n`` strips of one rhythm.

    Parameters
    ----------
    label
        One of :data:`labkit.datasets.ecg.RHYTHMS`.
    n
        Number of strips.
    rng
        Random generator.

    Returns
    -------
    np.ndarray
        float32 (n, N_SAMPLES) lead-II strips in mV.
    """
    t = np.arange(N_SAMPLES) / FS
    resp = rhythm.resp_phase(n, rng)
    beats = _rhythm_batch(label, n, t, rng, resp)
    morph = _morphology(n, rng)
    ecg = _render_beats(beats.r_times, _waves(beats.r_times, beats.has_p, morph, rng, resp))
    return (ecg + beats.atrial + _noise(n, t, rng, resp)).astype(np.float32)


def apply_label_noise(rhythms: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Swap labels between clinically confusable rhythms, keeping every class count unchanged.

    A fraction ``rate`` of all records gets a wrong label: 60% of them within atrial fibrillation <->
    atrial flutter, 20% within normal sinus <-> bradycardia and 20% within normal sinus <-> tachycardia,
    exchanged in pairs so the classes stay balanced.

    Parameters
    ----------
    rhythms
        (N,) labels.
    rate
        Fraction of records to mislabel, in [0, 0.5].
    rng
        Random generator.

    Returns
    -------
    np.ndarray
        A relabelled copy.
    """
    if not 0.0 <= rate <= 0.5:
        raise ValueError(f"label_noise={rate} is outside [0, 0.5]")
    out = rhythms.copy()
    used = np.zeros(out.size, bool)
    for a, b, share in CONFUSABLE_PAIRS:
        k = int(round(rate * out.size * share / 2))
        pick_a = rng.choice(np.flatnonzero((rhythms == a) & ~used), size=k, replace=False)
        pick_b = rng.choice(np.flatnonzero((rhythms == b) & ~used), size=k, replace=False)
        out[pick_a], out[pick_b] = b, a
        used[pick_a] = used[pick_b] = True
    return out


def generate_ecg_dataset(
    n_per_rhythm: int = 1500, seed: int = 0, label_noise: float = DEFAULT_LABEL_NOISE, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate a balanced, shuffled synthetic ECG rhythm dataset.

    Parameters
    ----------
    n_per_rhythm
        Strips per rhythm.
    seed
        Seed of every random draw: equal seeds give identical datasets.
    label_noise
        Fraction of records given a confusable wrong label (see :func:`apply_label_noise`).
    progress
        Show a progress bar on stderr.

    Returns
    -------
    signals : np.ndarray
        float32 (N, 1, 1280), mV.
    rhythms : np.ndarray
        (N,) str labels.
    record_ids : np.ndarray
        (N,) str ids such as ``syn0-sinus_bradycardia-00012``.
    """
    from tqdm.auto import tqdm

    if n_per_rhythm < 1:
        raise BadArgumentError(f"n_per_rhythm must be positive, got {n_per_rhythm} (--n-per-rhythm)")
    if not 0.0 <= label_noise <= 0.5:
        raise BadArgumentError(f"label_noise={label_noise} is outside [0, 0.5] (--label-noise)")
    rng = make_rng(seed)
    parts, labels, ids = [], [], []
    with tqdm(
        total=n_per_rhythm * len(RHYTHMS), desc="ECG strips", unit="strip", disable=not progress
    ) as bar:
        for label in RHYTHMS:
            for start in range(0, n_per_rhythm, CHUNK):
                m = min(CHUNK, n_per_rhythm - start)
                parts.append(synthesize(label, m, rng))
                labels += [label] * m
                ids += [f"syn{seed}-{label}-{i:05d}" for i in range(start, start + m)]
                bar.update(m)
    order = rng.permutation(len(labels))
    signals = np.concatenate(parts)[order, None, :]
    rhythms = np.asarray(labels)[order]
    if label_noise:
        rhythms = apply_label_noise(rhythms, label_noise, rng)
    return signals, rhythms, np.asarray(ids)[order]
