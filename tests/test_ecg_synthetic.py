"""Physiological properties of the synthetic ECG, measured on the strips with an R-peak detector."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from labkit.converters.audit import batch_rr_features
from labkit.datasets.ecg import FS, N_SAMPLES, RHYTHMS
from labkit.synthetic import ecg_rhythm
from labkit.synthetic.ecg import apply_label_noise, generate_ecg_dataset

N_PER = 80


@pytest.fixture(scope="module")
def dataset():
    return generate_ecg_dataset(N_PER, seed=3, label_noise=0.0)


@pytest.fixture(scope="module")
def features(dataset):
    signals, rhythms, _ = dataset
    table = batch_rr_features(signals)
    return {r: {k: table[k].to_numpy()[rhythms == r] for k in table.columns} for r in RHYTHMS}


def test_shapes_dtypes_and_balance(dataset):
    signals, rhythms, ids = dataset
    assert signals.shape == (5 * N_PER, 1, N_SAMPLES) and signals.dtype == np.float32
    assert np.isfinite(signals).all()
    assert sorted(set(rhythms)) == list(RHYTHMS)
    assert all((rhythms == r).sum() == N_PER for r in RHYTHMS)
    assert len(set(ids)) == ids.size
    # ids name the generated rhythm (no label noise here)
    assert all(r in i for r, i in zip(rhythms, ids, strict=True))


def test_amplitudes_are_in_millivolts(dataset):
    signals = dataset[0][:, 0]
    peak_to_peak = np.ptp(signals, axis=1)
    assert 0.3 < np.median(peak_to_peak) < 4.0
    assert peak_to_peak.max() < 8.0


def test_deterministic_for_a_seed_and_seeds_differ():
    a = generate_ecg_dataset(6, seed=11)
    b = generate_ecg_dataset(6, seed=11)
    c = generate_ecg_dataset(6, seed=12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])


def _share(values, low, high):
    return np.mean((values >= low) & (values <= high))


def test_heart_rates_match_each_rhythm(features):
    hr = {r: f["hr"] for r, f in features.items()}
    assert _share(hr["sinus_bradycardia"], 35, 62) >= 0.95
    assert _share(hr["normal_sinus_rhythm"], 54, 106) >= 0.95
    assert _share(hr["sinus_tachycardia"], 98, 160) >= 0.95
    assert np.median(hr["sinus_bradycardia"]) < 60 < np.median(hr["normal_sinus_rhythm"]) < 100
    assert np.median(hr["sinus_tachycardia"]) > 100
    assert _share(hr["atrial_flutter"], 55, 180) >= 0.95  # 240-350/min atrial rate with 2:1 to 4:1 block


def test_fibrillation_is_irregular_and_sinus_is_not(features):
    af = np.median(features["atrial_fibrillation"]["nrmssd"])
    for sinus in ("normal_sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia"):
        assert af > 4 * np.median(features[sinus]["nrmssd"]), sinus
    assert np.mean(features["atrial_fibrillation"]["nrmssd"] > 0.1) > 0.9
    assert np.mean(features["normal_sinus_rhythm"]["nrmssd"] > 0.1) < 0.2


def test_flutter_waves_have_their_spectral_peak_at_4_to_5_8_hz():
    t = np.arange(N_SAMPLES) / FS
    _, waves = ecg_rhythm.flutter(40, t, np.random.default_rng(0))
    freqs, power = scipy.signal.welch(waves, fs=FS, nperseg=512, axis=1)
    peaks = freqs[np.argmax(power, axis=1)]
    assert np.all((peaks >= 3.9) & (peaks <= 5.9)), peaks


def test_fibrillation_waves_sit_between_4_and_9_hz():
    t = np.arange(N_SAMPLES) / FS
    waves = ecg_rhythm.fibrillation_waves(40, t, np.random.default_rng(0))
    freqs, power = scipy.signal.welch(waves, fs=FS, nperseg=512, axis=1)
    band = (freqs >= 3.5) & (freqs <= 10)
    assert np.median(power[:, band].sum(1) / power.sum(1)) > 0.8


def test_flutter_with_fixed_block_is_regular_and_variable_block_is_not(features):
    nrmssd = features["atrial_flutter"]["nrmssd"]
    regular = np.mean(nrmssd < 0.05)
    assert 0.3 < regular < 0.75  # half the records have a fixed ratio


def test_label_noise_swaps_confusable_pairs_and_keeps_counts():
    rhythms = np.repeat(np.array(RHYTHMS), 200)
    noisy = apply_label_noise(rhythms, 0.1, np.random.default_rng(0))
    assert all((noisy == r).sum() == 200 for r in RHYTHMS)
    changed = noisy != rhythms
    assert changed.mean() == pytest.approx(0.1, abs=0.01)
    pairs = {(a, b) for a, b in zip(rhythms[changed], noisy[changed], strict=True)}
    allowed = {
        ("atrial_fibrillation", "atrial_flutter"),
        ("normal_sinus_rhythm", "sinus_bradycardia"),
        ("normal_sinus_rhythm", "sinus_tachycardia"),
    }
    assert pairs <= allowed | {(b, a) for a, b in allowed}
    assert ("sinus_bradycardia", "sinus_tachycardia") not in pairs


def test_label_noise_rate_is_validated():
    with pytest.raises(ValueError, match="label_noise"):
        apply_label_noise(np.array(RHYTHMS), 0.9, np.random.default_rng(0))
