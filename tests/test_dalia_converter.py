"""PPG-DaLiA converter on small pickles that have the real dataset's structure and dtypes."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from labkit.converters.dalia import label_span, prepare_dalia
from labkit.datasets.ppg import FS, check_records, save_ppg
from labkit.files import DataFileError

# (start s, end s, activity code, heart rate bpm of the fixture's pulse, acc frequency Hz)
S1_PLAN = [(0, 10, 0, 80, 0), (10, 50, 1, 70, 0), (50, 55.5, 0, 90, 0), (55.5, 100, 7, 114, 1.8),
           (100, 120, 3, 100, 2.6)]  # fmt: skip
S2_PLAN = [(0, 30, 1, 66, 0), (30, 62, 7, 108, 1.6), (62, 70, 0, 90, 0)]
S6_PLAN = [(0, 100, 0, 80, 0), (100, 160, 1, 72, 0), (160, 5450, 6, 80, 0), (5450, 5600, 7, 120, 1.7)]


def _piecewise(plan, fs: float, column: int) -> np.ndarray:
    duration = plan[-1][1]
    t = np.arange(int(duration * fs)) / fs
    values = np.zeros_like(t)
    for start, end, *rest in plan:
        values[(t >= start) & (t < end)] = rest[column]
    return values


def make_dalia_subject(subject: str, plan) -> dict:
    duration = plan[-1][1]
    hr = _piecewise(plan, 64, 1)
    phase = np.cumsum(hr / 60.0) / 64
    bvp = 50 * np.sin(2 * np.pi * phase) + 20 * np.sin(4 * np.pi * phase + 1)
    acc_f = _piecewise(plan, 32, 2)
    t32 = np.arange(acc_f.size) / 32
    swing = 64 * np.sin(2 * np.pi * np.cumsum(acc_f) / 32)  # 1 g amplitude where walking
    acc = np.column_stack([swing, 0.5 * swing, np.full(t32.size, -64.0)])
    n_labels = int((duration - 8) // 2 + 1)
    return {
        "rpeaks": np.arange(10, 1000, 700, dtype=np.int64),
        "signal": {
            "chest": {
                "ACC": np.zeros((70, 3)),
                "ECG": np.zeros((70, 1)),
                "EMG": np.zeros((70, 1)),
                "EDA": np.zeros((70, 1)),
                "Temp": np.zeros((70, 1)),
                "Resp": np.zeros((70, 1)),
            },
            "wrist": {
                "ACC": acc.astype(np.float64),
                "BVP": bvp[:, None].astype(np.float64),
                "EDA": np.zeros((int(duration * 4), 1)),
                "TEMP": np.zeros((int(duration * 4), 1)),
            },
        },  # fmt: skip
        "label": 60.0 + np.arange(n_labels, dtype=np.float64),  # unique, so alignment is visible
        "activity": _piecewise(plan, 4, 0)[:, None].astype(np.float64),
        "questionnaire": {"WEIGHT": 70.0, "Gender": " m", "AGE": 30, "HEIGHT": 180.0, "SKIN": 3, "SPORT": 4},
        "subject": subject,
    }


def write_subject(root: Path, subject: str, data: dict) -> Path:
    folder = root / "PPG_FieldStudy" / subject
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{subject}.pkl"
    with open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=2)
    return path


@pytest.fixture(scope="module")
def dalia_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("dalia")
    for subject, plan in (("S1", S1_PLAN), ("S2", S2_PLAN), ("S6", S6_PLAN)):
        write_subject(root, subject, make_dalia_subject(subject, plan))
    return root


@pytest.fixture(scope="module")
def converted(dalia_root: Path) -> dict:
    records = prepare_dalia(dalia_root, subjects=("S1", "S2", "S6"))
    return {(r["subject"], r["activity"]): r for r in records}


def _peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), 8192))
    freqs = np.fft.rfftfreq(8192, 1 / FS)
    return float(freqs[np.argmax(spectrum)])


def test_records_follow_contract(converted: dict, tmp_path: Path) -> None:
    records = list(converted.values())
    assert check_records(records) == []
    assert all(r["source"] == "ppg-dalia" for r in records)
    save_ppg(tmp_path / "ppg.pkl", records)


def test_drops_other_activities_and_s6_after_90_minutes(converted: dict) -> None:
    assert sorted(converted) == [("S1", "sitting"), ("S1", "walking"), ("S2", "sitting"), ("S2", "walking"),
                                 ("S6", "sitting")]  # fmt: skip


def test_labels_aligned_to_segments(converted: dict) -> None:
    # S1 sitting [10, 50) s -> labels 5..21; walking [55.5, 100) s -> labels 28..46 (label k = 60 + k)
    sitting, walking = converted[("S1", "sitting")], converted[("S1", "walking")]
    np.testing.assert_array_equal(sitting["hr"]["hr"].to_numpy(), 60.0 + np.arange(5, 22))
    np.testing.assert_array_equal(walking["hr"]["hr"].to_numpy(), 60.0 + np.arange(28, 47))
    assert len(sitting["signals"]) == 40 * FS
    assert sitting["provenance"]["start_s"] == 10.0 and walking["provenance"]["start_s"] == 56.0
    # S2 sitting [0, 30) -> labels 0..11
    np.testing.assert_array_equal(converted[("S2", "sitting")]["hr"]["hr"].to_numpy(), 60.0 + np.arange(12))


def test_signals_resampled_band_passed_in_g(converted: dict) -> None:
    sitting, walking = converted[("S1", "sitting")]["signals"], converted[("S1", "walking")]["signals"]
    assert _peak_hz(sitting["ppg"].to_numpy()) == pytest.approx(70 / 60, abs=0.03)
    assert _peak_hz(walking["ppg"].to_numpy()) == pytest.approx(114 / 60, abs=0.03)
    assert _peak_hz(walking["acc_x"].to_numpy()) == pytest.approx(1.8, abs=0.03)
    # 1 g sine amplitude (64 raw units); the constant -1 g on z is removed by the band-pass
    assert walking["acc_x"].to_numpy()[100:-100].max() == pytest.approx(1.0, abs=0.05)
    assert np.abs(walking["acc_z"].to_numpy()[100:-100]).max() < 0.05
    assert abs(sitting["ppg"].mean()) < 1.0


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ((10.0, 50.0), (5, 17)),
        ((55.5, 100.0), (28, 19)),
        ((5300.0, 5600.0), (2650, 47)),
        ((11.0, 18.9), (6, 0)),
    ],
)
def test_label_span(run, expected) -> None:
    assert label_span(*run, n_labels=10_000, n_samples=5400 * FS) == expected


def test_missing_root_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        DataFileError, match="no PPG_FieldStudy/S\\*/S\\*.pkl files found.*labkit data prepare"
    ):
        prepare_dalia(tmp_path / "nowhere")


def test_missing_subject_file(dalia_root: Path) -> None:
    with pytest.raises(DataFileError, match="S3.pkl: subject file missing"):
        prepare_dalia(dalia_root, subjects=("S1", "S3"))
    with pytest.raises(DataFileError, match="subject file missing \\(12 of 15\\)"):
        prepare_dalia(dalia_root)


def test_wrong_structure_one_line(tmp_path: Path) -> None:
    data = make_dalia_subject("S1", S2_PLAN)
    del data["signal"]["wrist"]["BVP"]
    write_subject(tmp_path, "S1", data)
    with pytest.raises(DataFileError, match="not a PPG-DaLiA subject pickle.*BVP"):
        prepare_dalia(tmp_path, subjects=("S1",))


def test_truncated_pickle_one_line(tmp_path: Path) -> None:
    path = write_subject(tmp_path, "S2", make_dalia_subject("S2", S2_PLAN))
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataFileError, match="S2.pkl: truncated or unreadable pickle"):
        prepare_dalia(tmp_path / "PPG_FieldStudy", subjects=("S2",))
