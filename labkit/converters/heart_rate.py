"""Heart rate of a sinus-rhythm strip from real, hand-held recordings (motion artefacts, tall T waves).

Two estimates from one QRS envelope (band-pass 5-15 Hz, squared slope, clipped at its 98th percentile so a
motion artefact does not set the scale, 80 ms moving average): the median RR interval of the R peaks, and
the fundamental period of the envelope's autocorrelation. A strip on whose rate they disagree by more than
10% (a T wave counted as a beat, an artefact taken for a run of beats) has no reliable rate: NaN.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal

AGREEMENT = 0.10  # the two estimates may differ by this share of the peak-based rate
MIN_BEATS = 4  # fewer R peaks than this in a strip: no rate
MIN_RR_S, MAX_RR_S = 0.3, 2.0  # 30 to 200 bpm


def qrs_envelope(strip: np.ndarray, fs: float) -> np.ndarray:
    """Return the QRS envelope of a strip: squared slope of its 5-15 Hz band, clipped, 80 ms average."""
    sos = scipy.signal.butter(3, [5.0, 15.0], btype="bandpass", fs=fs, output="sos")
    slope = np.gradient(scipy.signal.sosfiltfilt(sos, np.asarray(strip, dtype=float)))
    energy = np.minimum(slope**2, np.percentile(slope**2, 98))
    width = max(1, int(0.08 * fs))
    return np.convolve(energy, np.ones(width) / width, mode="same")


def r_peaks(strip: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the R peaks: envelope peaks 0.3 s apart above a quarter of its 99th percentile.

    Peaks below 40% of the median peak (T waves, small artefacts) are dropped.
    """
    envelope = qrs_envelope(strip, fs)
    peaks, props = scipy.signal.find_peaks(
        envelope, height=0.25 * np.percentile(envelope, 99), distance=int(MIN_RR_S * fs)
    )
    heights = props["peak_heights"]
    return peaks[heights >= 0.4 * np.median(heights)] if peaks.size else peaks


def rate_from_peaks(strip: np.ndarray, fs: float) -> float:
    """Heart rate (bpm) from the median RR interval of :func:`r_peaks`; NaN below 4 peaks."""
    peaks = r_peaks(strip, fs)
    return 60.0 * fs / float(np.median(np.diff(peaks))) if peaks.size >= MIN_BEATS else math.nan


def rate_from_autocorrelation(strip: np.ndarray, fs: float) -> float:
    """Heart rate (bpm) from the envelope's autocorrelation; NaN without a peak.

    The rate is that of the strongest lag in 0.3-2 s, or of a shorter lag it is a multiple of when that one
    is at least 80% as strong (the fundamental).
    """
    envelope = qrs_envelope(strip, fs)
    envelope = envelope - envelope.mean()
    corr = np.correlate(envelope, envelope, "full")[envelope.size - 1 :]
    corr = corr / corr[0] if corr[0] > 0 else corr
    lags, _ = scipy.signal.find_peaks(corr[: int(MAX_RR_S * fs) + 1])
    lags = lags[lags >= int(MIN_RR_S * fs)]
    if not lags.size:
        return math.nan
    best = lags[np.argmax(corr[lags])]
    for lag in lags[lags < best]:
        if corr[lag] >= 0.8 * corr[best] and abs(best / lag - round(best / lag)) < 0.1:
            return 60.0 * fs / float(lag)
    return 60.0 * fs / float(best)


def sinus_rate(strip: np.ndarray, fs: float) -> float:
    """Heart rate (bpm) of a regular strip when both estimates agree within 10%, else NaN."""
    peaks, corr = rate_from_peaks(strip, fs), rate_from_autocorrelation(strip, fs)
    if math.isnan(peaks) or math.isnan(corr) or abs(peaks - corr) > AGREEMENT * peaks:
        return math.nan
    return peaks
