"""The documentation site (mkdocs.yml, docs/): it builds with warnings as errors; a broken link fails it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _build(root: Path, site: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)


def test_the_site_builds_strict_and_a_broken_link_fails_it(tmp_path):
    built = _build(ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "authoring.html").is_file()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", copy / "docs")
    (copy / "bench").mkdir()
    (copy / "bench" / "hr_prior_probe.md").write_text("# a report\n")  # a repository file a page links to
    assert _build(copy, tmp_path / "ok").returncode == 0
    page = copy / "docs" / "authoring.md"
    page.write_text(page.read_text() + "\nSee [the grading page](grading.md#no-such-section).\n")
    broken = _build(copy, tmp_path / "broken")
    assert broken.returncode != 0 and "no-such-section" in broken.stderr, broken.stderr
    page.write_text(page.read_text() + "\nSee [a module](../autograder/no_such_module.py).\n")
    assert "no_such_module.py" in _build(copy, tmp_path / "broken2").stderr


def test_the_authoring_example_is_the_tested_one():
    """docs/authoring.md shows the cells that test_labs_structure adds to the HR lab and tries."""
    cells = (ROOT / "tests" / "fixtures" / "rmse_exercise.py.txt").read_text().rstrip("\n")
    assert cells in (ROOT / "docs" / "authoring.md").read_text(), (
        "docs/authoring.md, section 2: the example cells differ from tests/fixtures/rmse_exercise.py.txt; "
        "copy the fixture's cells into the page"
    )
