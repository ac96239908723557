"""The sinus heart-rate estimate on synthetic beats with known timing, T waves and an artefact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit.converters import heart_rate as hr

FS = 300.0


def _beats(bpm: float, t_wave: float = 0.0, seconds: float = 10.0) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    strip = np.zeros_like(t)
    for r in np.arange(0.3, seconds, 60.0 / bpm):
        strip += np.exp(-0.5 * ((t - r) / 0.012) ** 2)  # QRS: narrow
        strip += t_wave * np.exp(-0.5 * ((t - r - 0.28) / 0.05) ** 2)  # T wave: broad
    return strip


@pytest.mark.parametrize("bpm", [45.0, 72.0, 130.0])
def test_both_estimates_find_the_rate(bpm):
    strip = _beats(bpm, t_wave=0.6)
    assert hr.rate_from_peaks(strip, FS) == pytest.approx(bpm, rel=0.02)
    assert hr.rate_from_autocorrelation(strip, FS) == pytest.approx(bpm, rel=0.03)
    assert hr.sinus_rate(-strip, FS) == pytest.approx(bpm, rel=0.02)  # polarity does not matter


def test_a_tall_t_wave_is_not_counted_as_a_beat():
    assert hr.sinus_rate(_beats(60.0, t_wave=1.2), FS) == pytest.approx(60.0, rel=0.02)


def test_a_strip_whose_estimates_disagree_has_no_rate():
    t = np.arange(3000) / FS
    beats = np.cumsum(np.tile([0.4, 1.2], 7))[:-1]  # bigeminy: no single RR interval
    strip = sum(np.exp(-0.5 * ((t - r) / 0.012) ** 2) for r in beats)
    assert hr.rate_from_autocorrelation(strip, FS) == pytest.approx(37.5, rel=0.03)  # the pair's period
    assert math.isnan(hr.sinus_rate(strip, FS))
    assert math.isnan(hr.sinus_rate(np.zeros(3000), FS))
