"""RR-irregularity label audit: R-peak detection and flags on groups whose rhythm contradicts the label."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.ecg_arrhythmia import build_ecg_tree

from labkit.converters.audit import audit_ecg, detect_r_peaks, rr_features
from labkit.datasets.ecg import FS, N_SAMPLES, save_ecg
from labkit.synthetic.ecg import generate_ecg_dataset


def _spikes(beat_times):
    t = np.arange(N_SAMPLES) / FS
    return sum(np.exp(-0.5 * ((t - b) / 0.012) ** 2) for b in beat_times) + 0.2 * np.sin(2 * np.pi * 0.3 * t)


def test_detector_finds_every_beat_of_a_known_strip():
    beats = np.arange(0.4, 9.8, 0.75)
    peaks = detect_r_peaks(_spikes(beats))
    assert peaks.size == beats.size
    np.testing.assert_allclose(peaks / FS, beats, atol=1.5 / FS)
    features = rr_features(_spikes(beats))
    assert features["hr"] == pytest.approx(80, abs=0.5) and features["nrmssd"] < 0.02


def test_too_few_beats_gives_nan():
    assert np.isnan(rr_features(_spikes([2.0, 6.0]))["hr"])


@pytest.fixture(scope="module")
def synthetic():
    return generate_ecg_dataset(40, seed=5, label_noise=0.0)


def test_synthetic_labels_pass_the_audit(synthetic):
    table = audit_ecg(synthetic)
    assert set(table["source"]) == {"synthetic"} and table["n"].tolist() == [40] * 5
    assert (table["flag"] == "").all(), table
    af = table.set_index("rhythm").loc["atrial_fibrillation"]
    assert af["irregular_fraction"] > 0.9


def test_flutter_group_full_of_fibrillation_is_flagged(synthetic):
    signals, rhythms, ids = synthetic
    fake = rhythms.copy()
    af = np.flatnonzero(rhythms == "atrial_fibrillation")
    fake[af[:20]] = "atrial_flutter"  # half the AF strips mislabelled flutter, from another "database"
    fake_ids = ids.copy()
    fake_ids[af[:20]] = [f"JS{20000 + i}" for i in range(20)]
    fake_ids[rhythms == "atrial_flutter"] = [f"JS{i + 1:05d}" for i in range(40)]
    table = audit_ecg((signals, fake, fake_ids)).set_index(["rhythm", "source"])
    assert "as irregular as fibrillation" in table.loc[("atrial_flutter", "Ningbo"), "flag"]
    assert table.loc[("atrial_flutter", "Chapman"), "flag"] == ""
    assert table.loc[("normal_sinus_rhythm", "synthetic"), "flag"] == ""


def test_sinus_group_as_irregular_as_af_is_flagged(synthetic):
    signals, rhythms, ids = synthetic
    fake = np.where(rhythms == "atrial_fibrillation", "sinus_tachycardia", rhythms)
    fake = np.where(rhythms == "sinus_tachycardia", "atrial_fibrillation", fake)
    table = audit_ecg((signals, fake, ids)).set_index("rhythm")
    assert table.loc["sinus_tachycardia", "flag"].startswith("as irregular")
    assert table.loc["atrial_fibrillation", "flag"] == "fibrillation mostly regular"


def test_audit_reads_an_npz_file(tmp_path, synthetic):
    signals, rhythms, ids = synthetic
    path = save_ecg(
        tmp_path / "ecg.npz",
        signals,
        rhythms,
        {"source": "synthetic", "generator": "t", "seed": 5, "record_ids": ids},
    )
    assert audit_ecg(path)["n"].sum() == signals.shape[0]


def test_audit_reads_an_ecg_arrhythmia_folder(tmp_path):
    table = audit_ecg(build_ecg_tree(tmp_path))
    assert table["n"].sum() == 8
    assert set(table["source"]) == {"Georgia", "PTB-XL", "Ningbo"}
    georgia_sb = table[(table["rhythm"] == "sinus_bradycardia") & (table["source"] == "Georgia")].iloc[0]
    assert georgia_sb["hr_median"] < 62 and georgia_sb["irregular_fraction"] == 0
