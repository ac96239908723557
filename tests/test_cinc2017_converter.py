"""The CinC 2017 converter on the 300 real Challenge records in shared/ (headers with the date quirk)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from labkit.converters import cinc2017 as conv
from labkit.datasets.ecg import FS, N_SAMPLES
from labkit.datasets.ecg_held_out import record_of
from labkit.files import DataFileError

REPO = Path(__file__).resolve().parents[1]
CINC = REPO.parent / "shared" / "data" / "cinc2017_validation"


@pytest.fixture(scope="module")
def cinc() -> Path:
    if not (CINC / conv.REFERENCE).is_file():
        pytest.skip(f"CinC 2017 records not found at {CINC} (shared/ must sit beside the checkout)")
    return CINC


@pytest.fixture(scope="module")
def one_per_record(cinc):
    return conv.prepare_cinc2017(cinc, per_record=1)


def test_the_header_with_the_date_before_the_time_is_parsed(cinc):
    assert "2014-05-08 05:05:15" in (cinc / "A00001.hea").read_text()
    header = conv.parse_header(cinc / "A00001.hea")
    assert (header.name, header.fs, header.n_samples, header.gain, header.baseline) == (
        "A00001",
        300.0,
        9000,
        1000.0,
        0,
    )


def test_the_signal_is_in_millivolts(cinc):
    signal, fs = conv.read_record(cinc / "A00001.hea")
    raw = scipy.io.loadmat(cinc / "A00001.mat")["val"][0]
    assert fs == 300.0 and signal.shape == (9000,)
    np.testing.assert_allclose(signal, raw / 1000.0)
    assert 0.3 < np.ptp(signal) < 5.0  # a QRS of a few tenths of a mV to a few mV


def test_one_strip_per_record_keeps_af_and_normal_records_only(one_per_record, cinc):
    signals, rhythms, ids, report = one_per_record
    unclear = report["dropped"].get("unclear heart rate", 0)
    assert signals.shape == (200 - unclear, 1, N_SAMPLES) and signals.dtype == np.float32
    assert unclear <= 10 and report["left_out"] == {"O": 70, "~": 30}
    reference = conv.read_reference(cinc)
    assert all(reference[i] in ("A", "N") for i in ids) and len(set(ids.tolist())) == len(ids)
    af = np.array([reference[i] == "A" for i in ids])
    assert (rhythms[af] == "atrial_fibrillation").all()
    assert set(rhythms[~af].tolist()) == {"normal_sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia"}
    assert "atrial_flutter" not in rhythms


def test_sinus_labels_follow_the_heart_rate(one_per_record):
    signals, rhythms, _, _ = one_per_record
    sinus = rhythms != "atrial_fibrillation"
    rates = np.array([conv.heart_rate(s.astype(float), FS) for s in signals[sinus, 0]])  # at 128 Hz
    agree = [conv.sinus_rhythm(bpm) == r for bpm, r in zip(rates, rhythms[sinus], strict=True)]
    assert np.mean(agree) >= 0.95  # the resampled strip gives nearly the rate measured at 300 Hz
    assert (rhythms == "sinus_bradycardia").sum() >= 20 and (rhythms == "normal_sinus_rhythm").sum() >= 100
    assert conv.sinus_rhythm(59.9) == "sinus_bradycardia" and conv.sinus_rhythm(100.1) == "sinus_tachycardia"
    assert conv.sinus_rhythm(60.0) == conv.sinus_rhythm(100.0) == "normal_sinus_rhythm"


def test_heart_rate_of_a_known_record_matches_its_peaks(cinc):
    signal, fs = conv.read_record(cinc / "A00001.hea")
    start = conv.strip_starts(signal.size, fs, 1)[0]
    bpm = conv.heart_rate(signal[start : start + 3000], fs)
    assert 60 < bpm < 100  # A00001 is a normal record at about 75 bpm


def test_all_strips_cut_without_overlap_and_keep_the_record(cinc):
    assert conv.strip_starts(9000, 300.0, None) == [0, 3000, 6000]
    assert conv.strip_starts(9100, 300.0, None) == [50, 3050, 6050]
    assert conv.strip_starts(9000, 300.0, 1) == [3000]
    assert conv.strip_starts(2999, 300.0, None) == []
    strips, rhythms, ids, _ = conv.record_strips(cinc / "A00001.hea", "N", None)
    assert ids == ["A00001#0", "A00001#10", "A00001#20"]
    assert {record_of(i) for i in ids} == {"A00001"}


def test_a_resampled_strip_keeps_its_shape():
    t = np.arange(3000) / 300.0
    strip = conv.to_lab_strip(np.sin(2 * np.pi * 1.0 * t), 300.0)
    expected = np.sin(2 * np.pi * 1.0 * np.arange(N_SAMPLES) / FS)
    assert strip.shape == (N_SAMPLES,) and np.abs(strip[20:-20] - expected[20:-20]).max() < 0.01


def test_a_broken_header_and_a_missing_reference_name_the_file(tmp_path, cinc):
    (tmp_path / "X.hea").write_text("X\n")
    with pytest.raises(DataFileError, match="X.hea: unreadable CinC 2017 header"):
        conv.parse_header(tmp_path / "X.hea")
    with pytest.raises(DataFileError, match="REFERENCE.csv: missing"):
        conv.prepare_cinc2017(tmp_path)
    assert conv.is_cinc2017(cinc) and not conv.is_cinc2017(tmp_path)
