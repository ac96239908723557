"""``labkit data`` subcommands end to end on small data: exit codes and the one-line messages."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.ecg_arrhythmia import build_ecg_tree

from labkit.datacli import main
from labkit.datasets.ecg import load_ecg, load_ecg_provenance


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    assert main(["synth", "--out", str(out), "--n-per-rhythm", "20", "--seed", "4", "--no-progress"]) == 0
    return out


def test_synth_writes_both_files_with_provenance(synth_dir):
    signals, rhythms, fs = load_ecg(synth_dir / "ecg_rhythms.npz")
    assert signals.shape == (100, 1, 1280) and fs == 128
    prov = load_ecg_provenance(synth_dir / "ecg_rhythms.npz")
    assert (
        prov["source"] == "synthetic"
        and prov["seed"] == 4
        and prov["generator"].startswith("labkit.synthetic.ecg")
    )
    assert (synth_dir / "ppg_dalia.pkl").is_file()


def test_check_passes_and_names_the_source(synth_dir, capsys):
    assert main(["check", "--dir", str(synth_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(line.startswith("OK") for line in out)
    assert "source synthetic" in out[0] and "synthetic, not real" in out[0] and "atrial_flutter 20" in out[0]
    assert "ecg_real_eval.npz: real evaluation set shipped with labkit (ODC-By 1.0)" in out[2]
    assert "source physionet-cinc2017" in out[2] and "real recordings" in out[2]


def test_existing_file_is_not_overwritten(synth_dir, capsys):
    before = (synth_dir / "ecg_rhythms.npz").read_bytes()
    assert main(["synth", "--out", str(synth_dir), "--only", "ecg", "--n-per-rhythm", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err and "Traceback" not in err
    assert (synth_dir / "ecg_rhythms.npz").read_bytes() == before


def test_if_missing_keeps_valid_files(synth_dir, capsys):
    assert main(["synth", "--out", str(synth_dir), "--if-missing", "--no-progress"]) == 0
    assert capsys.readouterr().out.count("kept") == 2


def test_if_missing_refuses_a_broken_file_and_force_replaces_it(tmp_path, capsys):
    path = tmp_path / "ecg_rhythms.npz"
    path.write_bytes(b"PK\x03\x04 truncated")
    assert (
        main(["synth", "--out", str(tmp_path), "--only", "ecg", "--if-missing", "--n-per-rhythm", "4"]) == 2
    )
    assert "--force" in capsys.readouterr().err
    args = [
        "synth",
        "--out",
        str(tmp_path),
        "--only",
        "ecg",
        "--if-missing",
        "--force",
        "--n-per-rhythm",
        "4",
    ]
    assert main(args) == 0
    assert load_ecg(path)[0].shape[0] == 20


def test_check_fails_on_a_truncated_file(tmp_path, synth_dir, capsys):
    for name in ("ecg_rhythms.npz", "ppg_dalia.pkl"):
        (tmp_path / name).write_bytes((synth_dir / name).read_bytes())
    data = (tmp_path / "ecg_rhythms.npz").read_bytes()
    (tmp_path / "ecg_rhythms.npz").write_bytes(data[: len(data) // 3])
    assert main(["check", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL") and "ecg_rhythms.npz" in out[0] and out[1].startswith("OK")


def test_check_reports_missing_files(tmp_path, capsys):
    assert main(["check", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL") == 2 and "labkit data synth" in out


def test_label_noise_option_is_recorded(tmp_path):
    args = ["synth", "--out", str(tmp_path), "--only", "ecg", "--n-per-rhythm", "40", "--label-noise", "0.1"]
    assert main(args) == 0
    prov = load_ecg_provenance(tmp_path / "ecg_rhythms.npz")
    _, rhythms, _ = load_ecg(tmp_path / "ecg_rhythms.npz")
    assert prov["label_noise"] == 0.1
    wrong = np.array([r not in i for r, i in zip(rhythms, prov["record_ids"], strict=True)])
    assert wrong.mean() == pytest.approx(0.1, abs=0.02)


def test_prepare_ecg_from_the_real_sample(tmp_path, capsys):
    root = build_ecg_tree(tmp_path)
    out = tmp_path / "data"
    assert main(["prepare", "ecg", "--from", str(root), "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "sinus_bradycardia          4" in text and "shortfall: atrial_flutter" in text
    prov = load_ecg_provenance(out / "ecg_rhythms.npz")
    assert prov["source"] == "physionet-ecg-arrhythmia" and "JS20007" in prov["record_ids"]
    assert main(["check", "--dir", str(out)]) == 1  # the PPG file is missing, the ECG one is fine
    assert "OK   " + str(out / "ecg_rhythms.npz") in capsys.readouterr().out


def test_audit_prints_a_table(tmp_path, capsys):
    root = build_ecg_tree(tmp_path)
    assert main(["audit", "ecg", "--from", str(root), "--csv", str(tmp_path / "a.csv"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "irregular_fraction" in out and "Ningbo" in out and (tmp_path / "a.csv").is_file()


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    assert main(["prepare", "ecg", "--from", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    assert main(["audit", "ecg", "--from", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("labkit: error:") and "Fix:" in line for line in err)


def test_download_without_network_is_one_line(tmp_path, capsys, monkeypatch):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["download", "ecg", "--to", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no route to host" in err and "machine with internet" in err and len(err.splitlines()) == 1
