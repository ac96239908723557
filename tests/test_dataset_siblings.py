"""The ECG and PPG dataset modules behave alike: default path, order of checks, error type; the band-pass."""

from __future__ import annotations

import numpy as np
import pytest
from datasets_support import ecg_arrays, make_record

from labkit.datasets import ecg, ppg
from labkit.files import DataFileError
from labkit.paths import ECG_FILE, PPG_FILE


def _save_ecg(path, valid=True, force=False):
    signals, rhythms, prov = ecg_arrays()
    if not valid:
        signals = signals[:, :, :1000]
    return ecg.save_ecg(path, signals, rhythms, prov, force=force)


def _save_ppg(path, valid=True, force=False):
    records = [make_record("S1", "sitting"), make_record("S2", "sitting")]
    if not valid:
        records[0]["hr"] = records[0]["hr"].iloc[:-1]
    return ppg.save_ppg(path, records, force=force)


SIBLINGS = {
    "ecg": (ECG_FILE, _save_ecg, ecg.check_ecg, ecg.load_ecg),
    "ppg": (PPG_FILE, _save_ppg, ppg.check_ppg, ppg.load_ppg),
}


@pytest.mark.parametrize("kind", SIBLINGS)
def test_check_and_load_default_to_the_data_folder(kind, tmp_path, monkeypatch):
    name, save, check, load = SIBLINGS[kind]
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    (problem,) = check()
    assert name in problem and "labkit data synth" in problem
    save(tmp_path / name)
    assert check() == [] and len(load()) > 0


@pytest.mark.parametrize("kind", SIBLINGS)
def test_save_refuses_overwrite_first_then_validates_with_one_error_type(kind, tmp_path):
    name, save, check, _ = SIBLINGS[kind]
    path = save(tmp_path / name)
    with pytest.raises(FileExistsError, match="--force"):
        save(path, valid=False)
    with pytest.raises(DataFileError, match="not written"):
        save(path, valid=False, force=True)
    assert check(path) == []  # the valid file is still there


def test_bandpass_keeps_the_contract_band():
    t = np.arange(60 * ppg.FS) / ppg.FS

    def gain(hz: float) -> float:
        wave = np.sin(2 * np.pi * hz * t)
        middle = slice(10 * ppg.FS, -10 * ppg.FS)
        return float(ppg.bandpass(wave)[middle].std() / wave[middle].std())

    assert ppg.BAND == (0.4, 4.0)
    assert gain(1.5) > 0.99 and gain(0.05) < 0.01 and gain(10.0) < 0.01
    assert ppg.bandpass(np.column_stack([t, t])).shape == (t.size, 2)
