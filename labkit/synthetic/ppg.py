"""Synthetic wrist PPG and acceleration in the style of PPG-DaLiA (sitting and walking).

Each of 15 subjects gets a profile: resting heart rate and rise while walking, a two-Gaussian pulse shape
(systolic wave and a reflected diastolic wave behind a dicrotic notch), wrist orientation, walking cadence
and arm swing, and how strongly the sensor's contact couples motion into the optical signal. A record is
simulated at 25 Hz from that profile:

1. instantaneous heart rate (bpm per sample): slow drift and respiratory sinus arrhythmia while sitting; a
   ramp from rest and slow fluctuations while walking;
2. beat phase = integral of heart rate; the pulse wave is the pulse shape evaluated at the phase's
   fraction, and beat times are the phase's integer crossings;
3. acceleration (g, 3 axes): gravity seen from the rotating wrist (arm swing at half the cadence), step
   impacts at the cadence with harmonics (harder when faster), small movements and frequent hand gestures
   while sitting;
4. PPG = pulse wave x contact modulation + motion artifact (a subject-specific filtered linear and
   quadratic mix of the acceleration) + optical noise unrelated to motion + sensor noise + occasional
   contact changes;
5. every channel band-passed 0.4-4 Hz (4th-order Butterworth, zero phase:
   :func:`labkit.datasets.ppg.bandpass`, the contract's filter).

The reference heart rate of window k (8 s, 2 s shift) is 60 / mean RR of the simulated beats inside it, as
PPG-DaLiA derives it from ECG R-peaks. S6 has no walking record: in PPG-DaLiA the recording of S6 is
valid only for its first ~90 minutes, which ends before the walking part of the protocol.

Every number above that may be varied is a field of :class:`PpgParameters`, passed by value; its defaults
are generator version 2.0 (``bench/hr_prior_probe.py --set NAME=VALUE`` tries variants).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal as sps
from tqdm.auto import tqdm

from labkit.datasets.ppg import ACTIVITIES, FS, SHIFT_SIZE, SUBJECTS, WINDOW_SIZE, bandpass, window_centres

GENERATOR = "labkit.synthetic.ppg"
VERSION = "2.0"
MISSING: frozenset[tuple[str, str]] = frozenset({("S6", "walking")})
PAD = 10 * FS  # samples simulated on each side and dropped after filtering (numerics, not a parameter)


@dataclass(frozen=True)
class PpgParameters:
    """Parameters of the synthetic PPG generator; the defaults are generator version 2.0.

    Pass an instance to :func:`generate_ppg_records` (or to the functions it calls); make a variant with
    :func:`dataclasses.replace`, e.g. ``replace(PpgParameters(), intensity_gain=60.0)``. Ranges ``(low,
    high)`` are drawn uniformly once per subject (between subjects) unless said otherwise; "pulse units"
    are multiples of the subject's systolic pulse peak, before the PPG is scaled by its pulse amplitude.

    Parameters
    ----------
    windows_range : tuple of int
        Windows per record (8 s, 2 s shift), ``numpy.random.Generator.integers`` range: low inclusive, high
        exclusive (PPG-DaLiA lab: 7420 windows in 29 records).
    hr_rest : tuple of float
        Mean and std (bpm) of the resting heart rate between subjects (normal).
    hr_rest_range : tuple of float
        Limits (bpm) the resting heart rate is clipped to.
    hr_rise : tuple of float
        Heart-rate rise (bpm) from rest to walking at ``reference_cadence``.
    intensity_gain : float
        bpm per step/s of (20 s smoothed) cadence above ``reference_cadence`` while walking.
    min_rise : float
        bpm: walking never raises the heart rate by less than this (before drift).
    walk_drift : tuple of float
        Std (bpm) of slow (0.004 Hz) and faster (0.03 Hz) heart-rate changes while walking.
    pulse_spread : float
        Lognormal sigma of the pulse amplitude (median 40 units) between subjects.
    diastolic_range : tuple of float
        Diastolic/systolic wave height ratio (large: strong second harmonic).
    orientation_spread : float
        Std of the random offset added to the unit vectors of wrist orientation (gravity, swing and
        step-impact axes) between subjects.
    cadence_range : tuple of float
        Habitual walking cadence (steps/s).
    cadence_drift : float
        Relative std of slow (0.005 Hz) cadence (walking speed) changes within a record.
    cadence_limits : tuple of float
        Steps/s the cadence is clipped to (reached only with a much larger ``cadence_drift``).
    reference_cadence : float
        Steps/s: the pace ``hr_rise`` and ``step_range`` are given at and ``intensity_gain`` acts around.
    swing_range : tuple of float
        Arm-swing amplitude (rad).
    step_range : tuple of float
        Step-impact amplitude (g) at ``reference_cadence``.
    impact_exponent : float
        Step impacts grow as ``(cadence / reference_cadence) ** impact_exponent``: faster is harder.
    gait_variation : float
        Relative std of slow (0.02 Hz) arm-swing and step-impact amplitude changes within a record.
    walk_tilt : float
        Std (rad) of slow (0.01 Hz) wrist-posture changes while walking.
    gesture_rate : float
        Hand movements per minute while sitting (Poisson).
    gesture_length : tuple of float
        Duration (s) of one hand movement.
    gesture_amplitude : tuple of float
        Peak acceleration (g) of one hand movement.
    coupling : tuple of float
        Motion artefact per g of dynamic acceleration along x, y, z (pulse units), before the per-subject
        spread and gain.
    coupling_spread : float
        Relative per-axis variation of ``coupling`` between subjects (uniform, +-).
    coupling_gain : tuple of float
        Overall factor on ``coupling`` between subjects.
    quadratic_range : tuple of float
        Quadratic artefact coupling (pulse units per g squared along the coupling direction).
    optical_noise : tuple of float
        Low-pass cutoff (Hz) and std (pulse units) of optical noise unrelated to motion.
    """

    windows_range: tuple[int, int] = (240, 272)
    hr_rest: tuple[float, float] = (70.0, 5.0)
    hr_rest_range: tuple[float, float] = (60.0, 80.0)
    hr_rise: tuple[float, float] = (25.0, 31.0)
    intensity_gain: float = 40.0
    min_rise: float = 12.0
    walk_drift: tuple[float, float] = (3.0, 2.5)
    pulse_spread: float = 0.3
    diastolic_range: tuple[float, float] = (0.2, 0.75)
    orientation_spread: float = 0.12
    cadence_range: tuple[float, float] = (1.55, 2.15)
    cadence_drift: float = 0.09
    cadence_limits: tuple[float, float] = (0.5, 3.5)
    reference_cadence: float = 1.85
    swing_range: tuple[float, float] = (0.25, 0.5)
    step_range: tuple[float, float] = (0.15, 0.35)
    impact_exponent: float = 2.0
    gait_variation: float = 0.3
    walk_tilt: float = 0.3
    gesture_rate: float = 4.0
    gesture_length: tuple[float, float] = (1.5, 6.0)
    gesture_amplitude: tuple[float, float] = (0.15, 1.0)
    coupling: tuple[float, float, float] = (0.35, -0.3, 0.8)
    coupling_spread: float = 0.1
    coupling_gain: tuple[float, float] = (2.7, 3.3)
    quadratic_range: tuple[float, float] = (0.4, 0.8)
    optical_noise: tuple[float, float] = (3.0, 0.12)


DEFAULT_PARAMETERS = PpgParameters()


@dataclass(frozen=True)
class Profile:
    """Physiology and sensor coupling of one simulated subject."""

    hr_rest: float
    hr_rise: float
    pulse_shape: tuple[float, float, float, float, float]  # mu1, sigma1, a2, mu2, sigma2 (beat phase)
    pulse_amplitude: float
    resp_rate: float
    gravity: np.ndarray  # unit vector, wrist frame
    swing_axis: np.ndarray  # unit vector the forearm rotates about
    step_axis: np.ndarray  # unit vector of step impacts
    cadence: float  # steps per second
    swing_angle: float  # rad
    step_gain: float  # g
    coupling: np.ndarray  # (3,) linear artifact weights per g
    coupling_pole: float  # first-order low-pass pole of the tissue/contact response
    coupling_quadratic: float


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def make_profile(rng: np.random.Generator, params: PpgParameters = DEFAULT_PARAMETERS) -> Profile:
    """Draw one subject's profile.

    Parameters
    ----------
    rng
        Random generator (one per subject).
    params
        Generator parameters.

    Returns
    -------
    Profile
        The subject's parameters.
    """
    mu1 = rng.uniform(0.13, 0.2)
    spread = params.orientation_spread
    gravity = _unit(np.array([0.0, 0.0, -1.0]) + rng.normal(0.0, spread, 3))
    swing_axis = _unit(np.array([0.0, 1.0, 0.0]) + rng.normal(0.0, spread, 3))
    per_axis = rng.uniform(1 - params.coupling_spread, 1 + params.coupling_spread, 3)
    coupling = np.array(params.coupling) * per_axis * rng.uniform(*params.coupling_gain)
    # Version 2.0 drew two more numbers here (a step jolt, off, and its phase); they were the profile
    # generator's last draws and that generator is used for nothing else, so the records do not need them.
    return Profile(
        hr_rest=float(np.clip(rng.normal(*params.hr_rest), *params.hr_rest_range)),
        hr_rise=rng.uniform(*params.hr_rise),
        pulse_shape=(
            mu1,
            rng.uniform(0.05, 0.08),
            rng.uniform(*params.diastolic_range),
            mu1 + rng.uniform(0.22, 0.3),
            rng.uniform(0.07, 0.11),
        ),
        pulse_amplitude=rng.lognormal(np.log(40.0), params.pulse_spread),
        resp_rate=rng.uniform(0.2, 0.33),
        gravity=gravity,
        swing_axis=swing_axis,
        step_axis=_unit(-gravity + rng.normal(0.0, spread, 3)),
        cadence=rng.uniform(*params.cadence_range),
        swing_angle=rng.uniform(*params.swing_range),
        step_gain=rng.uniform(*params.step_range),
        coupling=coupling,
        coupling_pole=rng.uniform(0.3, 0.5),
        coupling_quadratic=rng.uniform(*params.quadratic_range),
    )


def butterworth_noise(n: int, rng: np.random.Generator, cutoff: float, std: float) -> np.ndarray:
    """Return ``n`` samples of zero-mean Gaussian noise with std ``std``, low-passed at ``cutoff`` Hz.

    The filter is a 2nd-order Butterworth, zero phase, run over padded noise (one record at :data:`FS`);
    compare :func:`labkit.synthetic.ecg_rhythm.brickwall_noise`, a batch cut off sharply in the spectrum.
    """
    white = rng.normal(size=n + 4 * PAD)
    sos = sps.butter(2, cutoff, fs=FS, output="sos")
    slow = sps.sosfiltfilt(sos, white)[2 * PAD : 2 * PAD + n]
    return std * (slow - slow.mean()) / (slow.std() + 1e-12)


def gait_cadence(
    profile: Profile, n: int, rng: np.random.Generator, params: PpgParameters = DEFAULT_PARAMETERS
) -> np.ndarray:
    """Return the walking cadence (steps/s) per sample: habitual pace with slow speed changes."""
    slow = butterworth_noise(n, rng, 0.005, params.cadence_drift)
    cadence = profile.cadence * (1.0 + slow + butterworth_noise(n, rng, 0.03, 0.02))
    return np.clip(cadence, *params.cadence_limits)


def heart_rate(
    activity: str,
    profile: Profile,
    n: int,
    rng: np.random.Generator,
    cadence: np.ndarray | None = None,
    params: PpgParameters = DEFAULT_PARAMETERS,
) -> np.ndarray:
    """Instantaneous heart rate in bpm, one value per sample.

    While walking it rises from rest and follows the walking intensity: the cadence, low-passed with a
    ~20 s time constant, shifts it by ``params.intensity_gain`` bpm per step/s around
    ``params.reference_cadence``.
    """
    t = np.arange(n) / FS
    resp = 2 * np.pi * np.cumsum(profile.resp_rate * (1 + butterworth_noise(n, rng, 0.01, 0.1))) / FS
    if activity == "sitting":
        hr = profile.hr_rest + butterworth_noise(n, rng, 0.004, 3.0) + butterworth_noise(n, rng, 0.03, 1.0)
        hr = hr + rng.uniform(1.5, 3.5) * np.sin(resp)
    else:
        ramp = 1.0 - np.exp(-(t - PAD / FS).clip(0.0) / rng.uniform(25.0, 60.0))
        pole = np.exp(-1.0 / (20.0 * FS))
        above = cadence - params.reference_cadence
        effort = sps.lfilter([1.0 - pole], [1.0, -pole], above, zi=[above[0] * pole])[0]
        rise = np.maximum(profile.hr_rise + params.intensity_gain * effort, params.min_rise)
        hr = profile.hr_rest + 4.0 + rise * ramp
        hr = (
            hr
            + butterworth_noise(n, rng, 0.004, params.walk_drift[0])
            + butterworth_noise(n, rng, 0.03, params.walk_drift[1])
            + np.sin(resp)
        )
    return np.clip(hr, 45.0, 190.0)


def beat_times(phase: np.ndarray) -> np.ndarray:
    """Return the times (s, sample 0 at 0 s) where the cumulative beat phase crosses an integer."""
    beat = np.floor(phase)
    idx = np.flatnonzero(np.diff(beat) > 0)
    frac = (beat[idx + 1] - phase[idx]) / (phase[idx + 1] - phase[idx])
    return (idx + frac) / FS


def pulse_wave(phase: np.ndarray, shape: tuple[float, ...]) -> np.ndarray:
    """Evaluate the two-Gaussian pulse shape at the fractional beat phase (unit systolic peak)."""
    mu1, s1, a2, mu2, s2 = shape
    frac = phase % 1.0
    wave = np.zeros_like(frac)
    for shift in (-1.0, 0.0, 1.0):  # neighbouring beats' tails
        x = frac + shift
        wave += np.exp(-0.5 * ((x - mu1) / s1) ** 2) + a2 * np.exp(-0.5 * ((x - mu2) / s2) ** 2)
    return wave


def reference_hr(beats: np.ndarray, n_samples: int) -> np.ndarray:
    """Return 60 / mean RR of the beats inside every 8 s window (2 s shift) of a record.

    Parameters
    ----------
    beats
        Beat times in seconds, record time (sample 0 at 0 s), sorted.
    n_samples
        Record length in samples.

    Returns
    -------
    numpy.ndarray
        One heart rate (bpm) per window.
    """
    starts = window_centres(n_samples) - WINDOW_SIZE / FS / 2
    first = np.searchsorted(beats, starts, side="left")
    last = np.searchsorted(beats, starts + WINDOW_SIZE / FS, side="left") - 1
    return 60.0 * (last - first) / (beats[last] - beats[first])


def _rotate(vectors: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate ``vectors`` (3,) or (n, 3) about ``axis`` by ``angle`` (n,) radians (Rodrigues); (n, 3)."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    along = np.atleast_2d(vectors) @ axis
    return vectors * cos + np.cross(axis, vectors) * sin + np.outer(along, axis) * (1.0 - cos)


def step_phase(cadence: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the gait phase (rad, one step per 2 pi) of a walking record from its cadence (steps/s)."""
    return 2 * np.pi * np.cumsum(cadence) / FS + rng.uniform(0, 2 * np.pi)


def _walking_acc(
    profile: Profile, cadence: np.ndarray, step: np.ndarray, rng: np.random.Generator, params: PpgParameters
) -> np.ndarray:
    n = cadence.size
    swing = (
        profile.swing_angle
        * (1.0 + butterworth_noise(n, rng, 0.02, params.gait_variation))
        * np.sin(step / 2)
    )
    acc = _rotate(profile.gravity, profile.swing_axis, swing)
    tangential = _unit(np.cross(profile.swing_axis, profile.gravity))
    acc += tangential * (0.35 * profile.swing_angle * np.sin(step / 2 + 0.3))[:, None]
    harmonics = sum(
        gain * np.sin(h * step + rng.uniform(0, 2 * np.pi)) for h, gain in ((1, 1.0), (2, 0.45), (3, 0.2))
    )
    intensity = (cadence / params.reference_cadence) ** params.impact_exponent
    variation = 1.0 + butterworth_noise(n, rng, 0.02, params.gait_variation)
    acc += profile.step_axis * (profile.step_gain * intensity * variation * harmonics)[:, None]
    axis = _unit(rng.normal(size=3))  # drawn before the tilt noise: the order of draws is part of the data
    acc = _rotate(acc, axis, butterworth_noise(n, rng, 0.01, params.walk_tilt))  # wrist posture
    return acc + rng.normal(0.0, 0.01, (n, 3))


def _gestures(n: int, rng: np.random.Generator, params: PpgParameters) -> np.ndarray:
    """Brief hand movements while sitting: Hann-windowed oscillations along random directions."""
    acc = np.zeros((n, 3))
    for _ in range(rng.poisson(params.gesture_rate * n / FS / 60.0)):
        length = int(rng.uniform(*params.gesture_length) * FS)
        start = rng.integers(0, max(n - length, 1))
        t = np.arange(length) / FS
        burst = (
            rng.uniform(*params.gesture_amplitude)
            * np.hanning(length)
            * np.sin(2 * np.pi * rng.uniform(0.8, 3.0) * t)
        )
        acc[start : start + length] += burst[:, None] * _unit(rng.normal(size=3))
    return acc


def _sitting_acc(profile: Profile, n: int, rng: np.random.Generator, params: PpgParameters) -> np.ndarray:
    tilt = butterworth_noise(n, rng, 0.003, 0.1)
    acc = _rotate(profile.gravity, profile.swing_axis, tilt)
    fidget = np.stack([butterworth_noise(n, rng, 3.0, 0.006) for _ in range(3)], axis=1)
    return acc + fidget + _gestures(n, rng, params) + rng.normal(0.0, 0.01, (n, 3))


def acceleration(
    activity: str,
    profile: Profile,
    n: int,
    rng: np.random.Generator,
    cadence: np.ndarray | None = None,
    step: np.ndarray | None = None,
    params: PpgParameters = DEFAULT_PARAMETERS,
) -> np.ndarray:
    """Wrist acceleration (n, 3) in g, gravity included (removed later by the band-pass).

    Walking needs the ``cadence`` (steps/s) and the gait phase ``step`` (:func:`step_phase`) per sample.
    """
    if activity == "walking":
        return _walking_acc(profile, cadence, step, rng, params)
    return _sitting_acc(profile, n, rng, params)


def motion_artifact(acc: np.ndarray, profile: Profile) -> np.ndarray:
    """Optical artifact (in pulse-amplitude units) driven by the dynamic part of the acceleration."""
    dynamic = acc - sps.sosfiltfilt(sps.butter(2, 0.3, fs=FS, output="sos"), acc, axis=0)
    linear = dynamic @ profile.coupling
    direction = _unit(profile.coupling)
    quadratic = profile.coupling_quadratic * (dynamic @ direction) ** 2
    mix = linear + quadratic - quadratic.mean()
    return sps.lfilter([1.0 - profile.coupling_pole], [1.0, -profile.coupling_pole], mix)


def contact_changes(n: int, activity: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return (baseline offset, pulse gain) step changes from a shifting sensor contact."""
    rate = 1 / 45.0 if activity == "walking" else 1 / 150.0
    baseline, gain = np.zeros(n), np.ones(n)
    for start in rng.integers(0, n, rng.poisson(rate * n / FS)):
        baseline[start:] += rng.normal(0.0, 1.0)
        gain[start:] *= rng.lognormal(0.0, 0.2)
    return baseline, gain


def optical_signal(
    activity: str,
    phase: np.ndarray,
    acc: np.ndarray,
    profile: Profile,
    rng: np.random.Generator,
    params: PpgParameters = DEFAULT_PARAMETERS,
) -> np.ndarray:
    """Return the raw PPG (pulse units, before band-pass) of one record.

    Pulse wave x contact modulation + motion artifact + optical noise unrelated to motion + sensor noise +
    contact changes; ``phase`` is the cumulative beat phase and ``acc`` the acceleration, per sample.
    """
    total = phase.size
    modulation = (
        1.0 + butterworth_noise(total, rng, 0.3, 0.08) + 0.15 * (acc - acc.mean(0)) @ _unit(profile.coupling)
    )
    baseline, gain = contact_changes(total, activity, rng)
    ppg = pulse_wave(phase, profile.pulse_shape) * modulation * gain + motion_artifact(acc, profile)
    cutoff, std = params.optical_noise
    optical = butterworth_noise(total, rng, cutoff, std)  # light/perfusion, not motion
    return ppg + baseline + optical + rng.normal(0.0, 0.04, total)


def simulate_record(
    activity: str,
    profile: Profile,
    n_windows: int,
    rng: np.random.Generator,
    params: PpgParameters = DEFAULT_PARAMETERS,
) -> tuple:
    """Simulate one record.

    Parameters
    ----------
    activity
        'sitting' or 'walking'.
    profile
        The subject.
    n_windows
        Number of 8 s windows (2 s shift) in the record.
    rng
        Random generator for this record.
    params
        Generator parameters.

    Returns
    -------
    tuple
        ``(signals, hr)`` DataFrames in the ``ppg_dalia.pkl`` contract.
    """
    n = (n_windows - 1) * SHIFT_SIZE + WINDOW_SIZE
    total = n + 2 * PAD
    walking = activity == "walking"
    cadence = gait_cadence(profile, total, rng, params) if walking else None
    hr = heart_rate(activity, profile, total, rng, cadence, params)
    phase = np.cumsum(hr / 60.0) / FS + rng.uniform()
    beats = beat_times(phase) - PAD / FS
    step = step_phase(cadence, rng) if walking else None
    acc = acceleration(activity, profile, total, rng, cadence, step, params)
    ppg = optical_signal(activity, phase, acc, profile, rng, params)
    filtered = bandpass(np.column_stack([profile.pulse_amplitude * ppg, acc]))[PAD : PAD + n]
    signals = pd.DataFrame(filtered, columns=["ppg", "acc_x", "acc_y", "acc_z"])
    signals.insert(0, "time", np.arange(n) / FS)
    hr_frame = pd.DataFrame({"time": window_centres(n), "hr": reference_hr(beats, n)})
    return signals, hr_frame


def generate_ppg_records(
    seed: int = 0, progress: bool = False, params: PpgParameters = DEFAULT_PARAMETERS
) -> list[dict]:
    """Generate the 29 synthetic records (15 subjects, sitting and walking; S6 has no walking).

    Parameters
    ----------
    seed
        Seed of every random step; the same seed gives identical records.
    progress
        Show a progress bar on stderr (only on a terminal).
    params
        Generator parameters; the default is version 2.0 (a variant: ``dataclasses.replace(
        PpgParameters(), NAME=VALUE)``). The provenance names the version whatever the parameters.

    Returns
    -------
    list of dict
        Records in the ``ppg_dalia.pkl`` contract (see :mod:`labkit.datasets.ppg`), ``source`` 'synthetic'.
    """
    created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    provenance = {"generator": GENERATOR, "version": VERSION, "seed": seed, "created": created}
    pairs = [(s, a) for s in SUBJECTS for a in ACTIVITIES if (s, a) not in MISSING]
    records = []
    for subject, activity in tqdm(pairs, desc="synthetic PPG", disable=None if progress else True):
        number = SUBJECTS.index(subject) + 1
        profile = make_profile(np.random.default_rng([seed, number, 0]), params)
        rng = np.random.default_rng([seed, number, ACTIVITIES.index(activity) + 1])
        signals, hr = simulate_record(
            activity, profile, int(rng.integers(*params.windows_range)), rng, params
        )
        records.append(
            {
                "subject": subject,
                "activity": activity,
                "signals": signals,
                "hr": hr,
                "source": "synthetic",
                "provenance": dict(provenance),
            }  # fmt: skip
        )
    return records
