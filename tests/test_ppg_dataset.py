"""Contract of ppg_dalia.pkl: save/load round trip and every check reporting the problem it should."""

from __future__ import annotations

import copy
import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from datasets_support import make_record

from labkit import datacli
from labkit.datasets.ppg import (
    ProvenanceWarning,
    amplitude_mismatch,
    check_ppg,
    check_records,
    load_ppg,
    n_windows,
    save_ppg,
    unknown_provenance,
    window_centres,
)
from labkit.files import DataFileError


@pytest.fixture
def records() -> list[dict]:
    return [make_record("S1", "sitting"), make_record("S1", "walking", 7), make_record("S2", "sitting", 3)]


def test_alignment_rule() -> None:
    assert n_windows(200) == 1
    assert n_windows(249) == 1
    assert n_windows(250) == 2
    assert n_windows(199) == 0
    np.testing.assert_allclose(window_centres(300), [4.0, 6.0, 8.0])


def test_valid_records_pass(records: list[dict]) -> None:
    assert check_records(records) == []


def test_round_trip(tmp_path, records: list[dict]) -> None:
    path = save_ppg(tmp_path / "ppg.pkl", records)
    assert check_ppg(path) == []
    loaded = load_ppg(path)
    assert len(loaded) == 3
    pd.testing.assert_frame_equal(loaded[1]["signals"], records[1]["signals"])
    assert loaded[1]["provenance"] == records[1]["provenance"]


def test_save_refuses_overwrite_and_forces(tmp_path, records: list[dict]) -> None:
    path = save_ppg(tmp_path / "ppg.pkl", records)
    with pytest.raises(FileExistsError, match="--force"):
        save_ppg(path, records[:1])
    save_ppg(path, records[:1], force=True)
    assert len(load_ppg(path)) == 1


def test_save_validates_before_writing(tmp_path, records: list[dict]) -> None:
    records[0]["hr"] = records[0]["hr"].iloc[:-1]
    with pytest.raises(DataFileError, match="rows but"):
        save_ppg(tmp_path / "ppg.pkl", records)
    assert not list(tmp_path.iterdir())


def test_load_default_path_uses_data_dir(tmp_path, monkeypatch, records: list[dict]) -> None:
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path))
    save_ppg(tmp_path / "ppg_dalia.pkl", records)
    assert len(load_ppg()) == 3


def _broken(records: list[dict], change) -> list[dict]:
    records = copy.deepcopy(records)
    change(records)
    return records


def _drop_column(r: list[dict]) -> None:
    r[0]["signals"] = r[0]["signals"].drop(columns="acc_y")


def _resample(r: list[dict]) -> None:
    r[0]["signals"]["time"] = r[0]["signals"]["time"] * 25.0 / 32.0


def _nan(r: list[dict]) -> None:
    r[1]["signals"].loc[10, "ppg"] = np.nan


def _hr_range(r: list[dict]) -> None:
    r[0]["hr"].loc[2, "hr"] = 400.0


def _hr_time(r: list[dict]) -> None:
    r[0]["hr"]["time"] = r[0]["hr"]["time"] - 4.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r[0].pop("hr"), "lacks keys \\['hr'\\]"),
        (_drop_column, "lacks columns \\['acc_y'\\]"),
        (_resample, "not sampled uniformly at 25 Hz"),
        (lambda r: r[0]["hr"].drop(index=4, inplace=True), "has 4 rows but"),
        (_hr_range, "outside the plausible"),
        (_hr_time, "window centres"),
        (_nan, "1 NaN/inf"),
        (lambda r: r.append(copy.deepcopy(r[0])), "duplicate \\(subject, activity\\)"),
        (lambda r: r[0].update(subject="S16"), "unknown subject 'S16'"),
        (lambda r: r[0].update(activity="cycling"), "unknown activity 'cycling'"),
        (lambda r: r[0].update(source=""), "source is '', expected a non-empty string"),
        (lambda r: r[0].update(source=3), "source is 3, expected a non-empty string"),
        (lambda r: r[0].update(provenance="x"), "provenance is a str"),
        (lambda r: r[0].update(signals=r[0]["signals"].iloc[:150]), "fewer than one 200-sample window"),
    ],
)
def test_each_problem_is_reported(records: list[dict], change, message: str) -> None:
    problems = check_records(_broken(records, change))
    assert len(problems) >= 1
    assert any(re.search(message, p) for p in problems), problems


def test_not_a_list_and_empty() -> None:
    assert "expected a list" in check_records({"a": 1})[0]
    assert check_records([]) == ["holds no records"]
    assert "expected a dict" in check_records([3])[0]


def test_missing_file_one_line(tmp_path) -> None:
    problems = check_ppg(tmp_path / "nope.pkl")
    assert len(problems) == 1
    assert "file missing" in problems[0] and "labkit data synth" in problems[0]
    with pytest.raises(DataFileError, match="nope.pkl: file missing"):
        load_ppg(tmp_path / "nope.pkl")


def test_truncated_file_one_line(tmp_path, records: list[dict]) -> None:
    path = save_ppg(tmp_path / "ppg.pkl", records)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    problems = check_ppg(path)
    assert len(problems) == 1 and "truncated or corrupt" in problems[0]
    with pytest.raises(DataFileError, match="truncated or corrupt"):
        load_ppg(path)


def test_garbage_file_one_line(tmp_path) -> None:
    path = tmp_path / "ppg.pkl"
    path.write_bytes(b"this is not a pickle at all")
    problems = check_ppg(path)
    assert len(problems) == 1 and "ppg.pkl" in problems[0]


def test_load_reports_first_problem_and_count(tmp_path, records: list[dict]) -> None:
    path = tmp_path / "ppg.pkl"
    bad = _broken(records, lambda r: (r[0].update(subject="S99"), r[1].update(activity="running")))
    joblib.dump(bad, path)
    with pytest.raises(DataFileError, match="S99.*and 1 more problems.*labkit data"):
        load_ppg(path)
    assert len(check_ppg(path)) == 2


# --- real files as they come: open source field, files without provenance, amplitude across devices -------


def _original_layout(records: list[dict]) -> list[dict]:
    """The original lab's records: subject, activity, signals and hr only."""
    return [{key: r[key] for key in ("subject", "activity", "signals", "hr")} for r in records]


def test_source_is_an_open_field(records: list[dict]) -> None:
    records[0]["source"] = "wesad"  # another public PPG+ACC set, brought in by its own converter
    assert check_records(records) == []


def test_original_layout_loads_and_states_unknown_provenance_once(tmp_path, records: list[dict]) -> None:
    path = tmp_path / "ppg_dalia.pkl"
    joblib.dump(_original_layout(records), path)
    assert check_ppg(path) == []
    with pytest.warns(ProvenanceWarning, match=r"3 of 3 records carry no source or provenance") as caught:
        loaded = load_ppg(path)
    assert len(caught) == 1
    assert [r["source"] for r in loaded] == ["unknown"] * 3 and all(r["provenance"] == {} for r in loaded)
    assert unknown_provenance(loaded) == [0, 1, 2]
    assert unknown_provenance(records) == []


def test_file_with_provenance_loads_without_warning(tmp_path, records: list[dict]) -> None:
    path = save_ppg(tmp_path / "ppg.pkl", records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_ppg(path)


def _held_out(records: list[dict]) -> list[dict]:
    records = copy.deepcopy(records)
    test = make_record("S13", "sitting")
    test["signals"]["ppg"] *= 20.0  # another device: 20x the training amplitude
    return records + [test, make_record("S14", "sitting")]


def test_amplitude_mismatch_names_far_off_held_out_subjects(records: list[dict]) -> None:
    lines = amplitude_mismatch(_held_out(records))
    assert len(lines) == 1 and lines[0].startswith("S13's PPG amplitude")
    assert "10x or more outside the training subjects'" in lines[0]
    assert amplitude_mismatch(records + [make_record("S14", "sitting")]) == []


def test_data_check_reports_unknown_provenance_and_amplitude(tmp_path, records: list[dict], capsys) -> None:
    joblib.dump(_original_layout(_held_out(records)), tmp_path / "ppg_dalia.pkl")
    datacli.main(["check", "--dir", str(tmp_path)])  # fails on the missing ECG file; the PPG line stays
    out = capsys.readouterr().out
    assert "ppg_dalia.pkl: source unknown, 5 records of 4 subjects" in out
    assert "5 of 5 records carry no source or provenance (original lab layout): provenance unknown" in out
    assert "WARN" in out and "S13's PPG amplitude" in out
