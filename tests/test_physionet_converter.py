"""The ecg-arrhythmia converter on twelve real WFDB records laid out as the release does."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.signal
from fixtures.ecg_arrhythmia import EXPECTED, build_ecg_tree

from labkit.converters import physionet_ecg as conv
from labkit.files import DataFileError


@pytest.fixture
def tree(tmp_path):
    return build_ecg_tree(tmp_path)


def _header(root, name):
    return root / "WFDBRecords" / "01" / "010" / f"{name}.hea"


def test_fixture_has_both_dx_spellings(tree):
    texts = [p.read_text() for p in (tree / "WFDBRecords").rglob("*.hea")]
    assert sum("#Dx:" in t for t in texts) == 6 and sum("# Dx:" in t for t in texts) == 6


def test_each_record_gets_its_expected_rhythm(tree):
    for name, rhythm in EXPECTED.items():
        assert conv.read_rhythm(_header(tree, name)) == rhythm, name


@pytest.mark.parametrize(
    "line", ["#Dx: 426177001,59118001", "# Dx: 426177001,59118001", " Dx:426177001, 59118001"]
)
def test_dx_codes_accept_both_spellings(line):
    assert conv.dx_codes(["Age: 50", line.lstrip("#") if line.startswith("# ") else line]) == [
        "426177001",
        "59118001",
    ]


def test_prepare_keeps_records_with_exactly_one_rhythm(tree):
    signals, rhythms, ids, report = conv.prepare_ecg(tree, n_per_rhythm=1500, seed=0)
    expected = {name: r for name, r in EXPECTED.items() if r is not None}
    assert dict(zip(ids.tolist(), rhythms.tolist(), strict=True)) == expected
    assert "HR06003" not in ids
    assert signals.shape == (8, 1, 1280) and signals.dtype == np.float32
    assert report["kept"]["sinus_bradycardia"] == 4 and report["kept"]["atrial_fibrillation"] == 0
    assert report["skipped"] == {"not exactly one lab rhythm": 4}
    assert report["shortfall"]["atrial_flutter"] == 1500
    assert report["by_source"]["sinus_tachycardia"] == {"Georgia": 1, "Ningbo": 1}
    text = conv.format_report(report)
    assert "shortfall: atrial_fibrillation" in text and "PTB-XL 1" in text


def test_balanced_sample_is_seeded(tree):
    a = conv.prepare_ecg(tree, n_per_rhythm=1, seed=1)
    b = conv.prepare_ecg(tree, n_per_rhythm=1, seed=1)
    assert a[2].tolist() == b[2].tolist()
    assert sorted(a[1].tolist()) == ["normal_sinus_rhythm", "sinus_bradycardia", "sinus_tachycardia"]
    seen = {tuple(sorted(conv.prepare_ecg(tree, n_per_rhythm=1, seed=s)[2].tolist())) for s in range(4)}
    assert len(seen) > 1


def test_lead_ii_in_mv_resampled_to_128_hz(tree):
    header = _header(tree, "JS20000")
    strip = conv.read_lead_ii(header)
    raw = scipy.io.loadmat(header.with_suffix(".mat"))["val"]  # int16 (12, 5000), 1000 units per mV
    expected = scipy.signal.resample_poly(raw[1] / 1000.0, 32, 125)
    assert strip.shape == (1280,) and strip.dtype == np.float32
    np.testing.assert_allclose(strip, expected, atol=1e-4)


def test_lead_ii_is_picked_by_name_not_position(tree):
    header = _header(tree, "E07506")
    lines = header.read_text().splitlines()
    first, second = lines[1].rsplit(" ", 1), lines[2].rsplit(" ", 1)
    lines[1], lines[2] = f"{first[0]} {second[1]}", f"{second[0]} {first[1]}"  # name column 0 'II'
    header.write_text("\n".join(lines) + "\n")
    raw = scipy.io.loadmat(header.with_suffix(".mat"))["val"]
    strip = conv.read_lead_ii(header)
    np.testing.assert_allclose(strip, scipy.signal.resample_poly(raw[0] / 1000.0, 32, 125), atol=1e-4)


def test_record_without_lead_ii_is_dropped_with_reason(tree):
    header = _header(tree, "E07506")
    header.write_text(header.read_text().replace(" II\n", " X2\n", 1))
    with pytest.raises(ValueError, match="no lead II"):
        conv.read_lead_ii(header)
    report = conv.prepare_ecg(tree)[3]
    assert report["dropped"] == {"no lead II": 1}


def test_truncated_mat_gives_one_clear_line(tree):
    mat = _header(tree, "E07500").with_suffix(".mat")
    mat.write_bytes(mat.read_bytes()[:3000])
    with pytest.raises(DataFileError) as error:
        conv.read_lead_ii(_header(tree, "E07500"))
    message = str(error.value)
    assert "E07500.mat" in message and "\n" not in message and "Fix:" in message
    signals, rhythms, ids, report = conv.prepare_ecg(tree)
    assert "E07500" not in ids and report["dropped"] == {"unreadable file": 1}
    assert "E07500.mat" in report["errors"][0]


def test_flat_lead_is_dropped():
    with pytest.raises(ValueError, match="flat lead"):
        conv.to_strip(np.zeros(5000), 500, conv.Path("X.hea"))
    with pytest.raises(ValueError, match="wrong length"):
        conv.to_strip(np.ones(4000), 500, conv.Path("X.hea"))
    with pytest.raises(ValueError, match="NaN"):
        conv.to_strip(np.r_[np.nan, np.arange(4999.0)], 500, conv.Path("X.hea"))


@pytest.mark.parametrize(
    ("record", "source"),
    [
        ("JS00001", "Chapman"),
        ("JS10646", "Chapman"),
        ("JS10647", "Ningbo"),
        ("JS45551", "Ningbo"),
        ("E07500", "Georgia"),
        ("HR06000", "PTB-XL"),
        ("syn0-atrial_flutter-00001", "synthetic"),
    ],
)
def test_source_names(record, source):
    assert conv.source_of(record) == source


def test_empty_folder_names_the_fix(tmp_path):
    with pytest.raises(DataFileError, match="labkit data download ecg"):
        conv.prepare_ecg(tmp_path)
