"""Contract of ecg_rhythms.npz: save/load round trip, refusal to overwrite, checks of broken files."""

from __future__ import annotations

import numpy as np
import pytest
from datasets_support import ecg_arrays

from labkit.datasets.ecg import FS, RHYTHMS, check_ecg, load_ecg, load_ecg_provenance, save_ecg
from labkit.files import DataFileError


def test_round_trip_keeps_arrays_and_provenance(tmp_path):
    signals, rhythms, prov = ecg_arrays()
    path = save_ecg(tmp_path / "ecg.npz", signals, rhythms, prov)
    loaded, labels, fs = load_ecg(path)
    assert fs == FS == 128
    assert loaded.dtype == np.float32 and loaded.shape == (10, 1, 1280)
    np.testing.assert_array_equal(loaded, signals)
    np.testing.assert_array_equal(labels, rhythms)
    got = load_ecg_provenance(path)
    assert got["source"] == "synthetic" and got["generator"] == "test 1.0" and got["seed"] == 0
    assert got["label_noise"] == 0.0 and got["created"]
    assert got["record_ids"].tolist() == prov["record_ids"]
    assert check_ecg(path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["ecg.npz"]  # no temporary file left behind


def test_file_loads_without_pickles(tmp_path):
    signals, rhythms, prov = ecg_arrays()
    path = save_ecg(tmp_path / "ecg.npz", signals, rhythms, prov)
    with np.load(path, allow_pickle=False) as data:
        assert {"signals", "rhythms", "fs", "source", "record_ids"} <= set(data.files)
        assert data["fs"].item() == 128


def test_refuses_overwrite_without_force(tmp_path):
    signals, rhythms, prov = ecg_arrays()
    path = save_ecg(tmp_path / "ecg.npz", signals, rhythms, prov)
    with pytest.raises(FileExistsError, match="--force"):
        save_ecg(path, signals[:5], rhythms[:5], prov | {"record_ids": prov["record_ids"][:5]})
    assert load_ecg(path)[0].shape[0] == 10
    save_ecg(path, signals[:5], rhythms[:5], prov | {"record_ids": prov["record_ids"][:5]}, force=True)
    assert load_ecg(path)[0].shape[0] == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s, r, p: (s[:, :, :1000], r, p), "shape"),
        (lambda s, r, p: (s, np.where(r == RHYTHMS[0], "ventricular_tachycardia", r), p), "unknown rhythm"),
        (lambda s, r, p: (np.where(np.arange(s.size).reshape(s.shape) == 7, np.nan, s), r, p), "NaN"),
        (lambda s, r, p: (s, r, p | {"source": "real"}), "source"),
        (lambda s, r, p: (s, r, p | {"record_ids": p["record_ids"][:3]}), "record_ids"),
    ],
)
def test_save_rejects_contract_violations(tmp_path, change, message):
    signals, rhythms, prov = change(*ecg_arrays())
    with pytest.raises(ValueError, match=message):
        save_ecg(tmp_path / "ecg.npz", signals.astype(np.float32), rhythms, prov)
    assert not (tmp_path / "ecg.npz").exists()


def test_truncated_file_gives_one_line(tmp_path):
    signals, rhythms, prov = ecg_arrays()
    path = save_ecg(tmp_path / "ecg.npz", signals, rhythms, prov)
    path.write_bytes(path.read_bytes()[:5000])
    problems = check_ecg(path)
    assert len(problems) == 1 and str(path) in problems[0] and "labkit data" in problems[0]
    assert "\n" not in problems[0]
    with pytest.raises(DataFileError, match="truncated or corrupt"):
        load_ecg(path)


def test_check_reports_wrong_dtype_fs_and_missing_keys(tmp_path):
    signals, rhythms, _ = ecg_arrays()
    path = tmp_path / "bad.npz"
    np.savez(path, signals=signals.astype(np.float64), rhythms=rhythms, fs=250)
    problems = check_ecg(path)
    assert len(problems) == 1 and "lacks keys" in problems[0]
    np.savez(
        path,
        signals=signals.astype(np.float64),
        rhythms=rhythms,
        fs=250,
        source="synthetic",
        generator="g",
        seed=0,
        record_ids=np.arange(10).astype(str),
        label_noise=0.0,
        created="now",
    )
    text = " | ".join(check_ecg(path))
    assert "float32" in text and "fs is" in text


def test_missing_file_names_the_fix(tmp_path):
    problems = check_ecg(tmp_path / "none.npz")
    assert len(problems) == 1 and "labkit data synth" in problems[0]
    with pytest.raises(DataFileError, match="missing"):
        load_ecg(tmp_path / "none.npz")


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, signals=np.array([object()], dtype=object), rhythms=np.array(["x"]), fs=128)
    with pytest.raises(DataFileError, match=str(path.name)):
        load_ecg(path)
