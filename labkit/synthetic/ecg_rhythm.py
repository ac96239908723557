"""Ventricular beat timing and atrial activity of the synthetic ECG rhythms, for a batch of records at once.

Every function draws from the generator it is given and works on whole batches: arrays are shaped
(records, beats) for beat times and (records, samples) for continuous atrial activity. Beat times are R-peak
times in seconds; missing beats are NaN. Records start half a second or more before t = 0 so the first
visible beat carries its own P and T waves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_BEATS = 48  # enough for 10.8 s at the shortest RR allowed (0.27 s)
T_END = 10.8  # beats beyond this cannot touch a 10 s strip


@dataclass
class Rhythm:
    """Beat times and atrial activity of a batch of records.

    Attributes
    ----------
    r_times
        (n, beats) R-peak times in s, NaN where there is no beat.
    has_p
        (n,) whether each QRS is preceded by a sinus P wave.
    atrial
        (n, samples) continuous atrial activity in mV (f or F waves), zeros for sinus rhythms.
    """

    r_times: np.ndarray
    has_p: np.ndarray
    atrial: np.ndarray


def beats_from_rr(rr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turn RR intervals (n, beats) into R times starting at a random phase before t = 0."""
    start = -0.5 - rng.uniform(0.0, 1.0, size=(rr.shape[0], 1)) * rr[:, :1]
    times = start + np.cumsum(rr, axis=1)
    times[times > T_END] = np.nan
    return times


def resp_phase(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return a respiration frequency (0.15-0.35 Hz) and phase per record, shape (n, 1) each."""
    return rng.uniform(0.15, 0.35, size=(n, 1)), rng.uniform(0, 2 * np.pi, size=(n, 1))


def sinus_rr(
    n: int, hr_low: float, hr_high: float, rng: np.random.Generator, resp: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """RR intervals of a sinus rhythm with respiratory sinus arrhythmia and occasional premature beats.

    Parameters
    ----------
    n
        Number of records.
    hr_low, hr_high
        Range of the record's mean heart rate in bpm (drawn uniformly).
    rng
        Random generator.
    resp
        Respiration frequency and phase per record (shared with baseline wander and amplitude modulation).

    Returns
    -------
    np.ndarray
        (n, MAX_BEATS) RR intervals in s.
    """
    rr0 = 60.0 / rng.uniform(hr_low, hr_high, size=(n, 1))
    f_resp, phase = resp
    # RSA is strongest at slow rates and fades in tachycardia (vagal withdrawal).
    rsa = rng.uniform(0.01, 0.06, size=(n, 1)) * np.clip(rr0 / 0.8, 0.3, 1.6)
    k = np.arange(MAX_BEATS)[None, :]
    rr = rr0 * (1 + rsa * np.sin(2 * np.pi * f_resp * k * rr0 + phase))
    rr *= 1 + rng.normal(0, 0.008, size=rr.shape)
    _add_premature_beats(rr, rng, probability=0.06)
    return rr


def _add_premature_beats(rr: np.ndarray, rng: np.random.Generator, probability: float) -> None:
    """Shorten one RR (premature atrial beat) and lengthen the next (pause) in a few records, in place."""
    hit = np.flatnonzero(rng.random(rr.shape[0]) < probability)
    beat = rng.integers(2, 14, size=hit.size)
    rr[hit, beat] *= rng.uniform(0.6, 0.8, size=hit.size)
    rr[hit, beat + 1] *= rng.uniform(1.15, 1.35, size=hit.size)


def fibrillation_rr(n: int, rng: np.random.Generator) -> np.ndarray:
    """Irregularly irregular RR intervals: a renewal process with a refractory floor.

    Mean ventricular rates around 95 bpm (SD 20, clipped to 55-150: rate-controlled to untreated) and
    coefficients of variation of about 0.10-0.35.
    """
    mean_rr = 60.0 / np.clip(rng.normal(95, 20, size=(n, 1)), 55, 150)
    cv = rng.uniform(0.10, 0.35, size=(n, 1))
    sigma = np.sqrt(np.log1p(cv**2))
    rr = mean_rr * rng.lognormal(-(sigma**2) / 2, sigma, size=(n, MAX_BEATS))
    return np.maximum(rr, 0.27)


def fibrillation_waves(n: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fibrillatory f waves: 4-9 Hz oscillations with drifting frequency and waxing, waning amplitude.

    Three records in ten are coarse, organised fibrillation ("fib-flutter"): larger, steadier waves at
    4.2-6 Hz with a sharper shape, the look-alike of atrial flutter.

    Parameters
    ----------
    n
        Number of records.
    t
        Sample times in s.
    rng
        Random generator.

    Returns
    -------
    np.ndarray
        (n, len(t)) atrial activity in mV, fine (~0.015 mV) to coarse (~0.2 mV).
    """
    fs = 1.0 / (t[1] - t[0])
    organised = rng.random((n, 1)) < 0.3
    f0 = np.where(organised, rng.uniform(4.2, 6.0, (n, 1)), np.clip(rng.normal(6.0, 1.2, (n, 1)), 4.0, 9.0))
    wander = np.where(organised, rng.uniform(0.05, 0.2, (n, 1)), rng.uniform(0.2, 1.0, (n, 1)))
    drift = brickwall_noise(n, t.size, rng, cutoff_hz=0.5, fs=fs) * wander
    phase = 2 * np.pi * np.cumsum(f0 + drift, axis=1) / fs + rng.uniform(0, 2 * np.pi, size=(n, 1))
    envelope = np.clip(1 + 0.6 * brickwall_noise(n, t.size, rng, cutoff_hz=1.0, fs=fs), 0.1, None)
    low = np.where(organised, np.log(0.06), np.log(0.015))
    amplitude = np.exp(rng.uniform(low, np.log(0.2), size=(n, 1)))
    harmonic = np.where(organised, 0.5, 0.3) * np.sin(2 * phase + rng.uniform(0, 2 * np.pi, size=(n, 1)))
    return amplitude * envelope * (np.sin(phase) + harmonic)


def flutter(n: int, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Atrial flutter: a sawtooth F wave at 240-350/min and QRS complexes conducted 2:1 to 4:1.

    Half of the records have a variable block (ratios drawn per beat), which makes the ventricular
    rhythm irregular, the realistic look-alike of atrial fibrillation.

    Parameters
    ----------
    n
        Number of records.
    t
        Sample times in s.
    rng
        Random generator.

    Returns
    -------
    r_times : np.ndarray
        (n, MAX_BEATS) R times in s (NaN past the strip).
    waves : np.ndarray
        (n, len(t)) F waves in mV.
    """
    cycle = 60.0 / rng.uniform(240, 350, size=(n, 1))
    fixed_ratio = rng.choice([2, 3, 4], p=[0.6, 0.1, 0.3], size=(n, 1))
    variable = rng.random((n, 1)) < 0.5
    per_beat = rng.choice([2, 3, 4], p=[0.5, 0.2, 0.3], size=(n, MAX_BEATS))
    ratios = np.where(variable, per_beat, fixed_ratio)
    onset = -0.5 - rng.uniform(0.0, 1.0, size=(n, 1))
    delay = rng.uniform(0.15, 0.3, size=(n, 1))
    jitter = rng.normal(0, 0.004, size=(n, MAX_BEATS))
    r_times = onset + delay + np.cumsum(ratios, axis=1) * cycle + jitter
    r_times[r_times > T_END] = np.nan
    return r_times, _sawtooth(t, onset, cycle, rng)


def _sawtooth(t: np.ndarray, onset: np.ndarray, cycle: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Negative sawtooth of lead II (slow descent, quick return) from a few Fourier harmonics."""
    n = onset.shape[0]
    phase = 2 * np.pi * (t[None, :] - onset) / cycle
    phase += 0.15 * np.cumsum(rng.normal(0, 0.02, size=(n, t.size)), axis=1)  # slight cycle-length wander
    decay = rng.uniform(1.0, 2.2, size=(n, 1))  # higher: rounder, atypical F waves
    wave = np.zeros((n, t.size))
    for h in range(1, 5):
        wave += np.sin(h * phase) / h**decay
    amplitude = np.exp(rng.uniform(np.log(0.025), np.log(0.25), size=(n, 1)))
    return amplitude * wave / np.abs(wave).max(axis=1, keepdims=True)


def brickwall_noise(n: int, size: int, rng: np.random.Generator, cutoff_hz: float, fs: float) -> np.ndarray:
    """Return ``n`` rows of ``size`` unit-variance Gaussian noise samples, no power above ``cutoff_hz``.

    Low-passed by zeroing the spectrum above the cutoff (FFT brick-wall, DC removed), each row scaled to
    unit variance; a whole batch at once. Compare :func:`labkit.synthetic.ppg.butterworth_noise`.
    """
    spectrum = np.fft.rfft(rng.normal(0, 1, size=(n, size)), axis=1)
    spectrum[:, np.fft.rfftfreq(size, 1.0 / fs) > cutoff_hz] = 0
    spectrum[:, 0] = 0
    out = np.fft.irfft(spectrum, n=size, axis=1)
    return out / np.maximum(out.std(axis=1, keepdims=True), 1e-9)
