"""Download helpers without a network: resume, checksum verification and URL construction."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from labkit.converters import download as dl
from labkit.files import DataFileError

PAYLOAD = bytes(range(256)) * 40
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
U = "https://example.org/x.bin"


class FakeServer:
    """Stand-in for urllib.request.urlopen serving in-memory files, honouring Range when asked to."""

    def __init__(self, files, honour_range=True):
        self.files, self.honour_range, self.requests = files, honour_range, []

    def __call__(self, request):
        self.requests.append((request.full_url, request.get_header("Range")))
        body = self.files[request.full_url]
        status = 200
        rng = request.get_header("Range")
        if rng and self.honour_range:
            body, status = body[int(rng.split("=")[1].rstrip("-")) :], 206
        response = io.BytesIO(body)
        response.status = status
        return response


def test_sha256_and_sums_parsing(tmp_path):
    (tmp_path / "f").write_bytes(PAYLOAD)
    assert dl.sha256_of(tmp_path / "f") == DIGEST
    text = (
        f"{DIGEST}  WFDBRecords/01/010/JS00001.hea\n{'a' * 64} *./WFDBRecords/01/010/JS00001.mat\n"
        f"{'b' * 64}  LICENSE.txt\nbad line\n"
    )
    sums = dl.parse_sha256sums(text)
    assert sums == {
        "WFDBRecords/01/010/JS00001.hea": DIGEST,
        "WFDBRecords/01/010/JS00001.mat": "a" * 64,
        "LICENSE.txt": "b" * 64,
    }
    assert dl.wanted_ecg_files(sums) == ["WFDBRecords/01/010/JS00001.hea", "WFDBRecords/01/010/JS00001.mat"]
    urls = list(dl.iter_urls(sums))
    assert urls[0][0] == "https://physionet.org/files/ecg-arrhythmia/1.0.0/WFDBRecords/01/010/JS00001.hea"


def test_fresh_download_is_verified(tmp_path):
    server = FakeServer({U: PAYLOAD})
    path = dl.download_file(U, tmp_path / "x.bin", DIGEST, opener=server)
    assert path.read_bytes() == PAYLOAD and server.requests == [(U, None)]
    assert not (tmp_path / "x.bin.part").exists()


def test_partial_file_resumes_with_range(tmp_path):
    (tmp_path / "x.bin.part").write_bytes(PAYLOAD[:1000])
    server = FakeServer({U: PAYLOAD})
    dl.download_file(U, tmp_path / "x.bin", DIGEST, opener=server)
    assert server.requests == [(U, "bytes=1000-")]
    assert (tmp_path / "x.bin").read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_cleanly(tmp_path):
    (tmp_path / "x.bin.part").write_bytes(b"garbage" * 10)
    server = FakeServer({U: PAYLOAD}, honour_range=False)
    dl.download_file(U, tmp_path / "x.bin", DIGEST, opener=server)
    assert (tmp_path / "x.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_removes_the_partial_file(tmp_path):
    server = FakeServer({U: PAYLOAD[:-1] + b"\x00"})
    with pytest.raises(DataFileError, match="checksum mismatch"):
        dl.download_file(U, tmp_path / "x.bin", DIGEST, opener=server)
    assert not (tmp_path / "x.bin").exists() and not (tmp_path / "x.bin.part").exists()


def test_verified_file_is_not_fetched_again(tmp_path):
    (tmp_path / "x.bin").write_bytes(PAYLOAD)
    server = FakeServer({})
    dl.download_file(U, tmp_path / "x.bin", DIGEST, opener=server)
    assert server.requests == []


def test_download_ecg_fetches_records_listed_in_sums(tmp_path):
    hea, mat = b"JS00001 12 500 5000\n", b"\x01\x02" * 100
    sums = (
        f"{hashlib.sha256(hea).hexdigest()}  WFDBRecords/01/010/JS00001.hea\n"
        f"{hashlib.sha256(mat).hexdigest()}  WFDBRecords/01/010/JS00001.mat\n"
        f"{'c' * 64}  ConditionNames_SNOMED-CT.csv\n"
    )
    base = dl.ECG_BASE
    server = FakeServer(
        {
            base + "SHA256SUMS.txt": sums.encode(),
            base + "WFDBRecords/01/010/JS00001.hea": hea,
            base + "WFDBRecords/01/010/JS00001.mat": mat,
        }
    )
    root = dl.download_ecg(tmp_path, opener=server)
    assert (root / "WFDBRecords/01/010/JS00001.mat").read_bytes() == mat
    assert len(server.requests) == 3


def test_ppg_zip_is_checked(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("PPG_FieldStudy/S1/S1.pkl", PAYLOAD)
    good = buffer.getvalue()
    path = dl.download_ppg(tmp_path, opener=FakeServer({dl.PPG_URL: good}))
    assert path.name == "ppg_dalia.zip"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DataFileError, match="zip"):
        dl.verify_zip(path)
