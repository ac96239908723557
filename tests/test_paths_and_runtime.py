"""Where data and logs are found, and how the runtime decides between interactive and headless."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit import paths, runtime


def test_course_root_is_found_from_a_nested_folder(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    nested = tmp_path / "autograded" / "alice" / "lab"
    nested.mkdir(parents=True)
    assert paths.find_course_root(nested) == tmp_path.resolve()


def test_data_dir_prefers_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "elsewhere"))
    assert paths.data_dir() == (tmp_path / "elsewhere").resolve()


def test_data_and_log_dirs_default_to_the_course_root(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.delenv(paths.LOG_ENV, raising=False)
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "source").mkdir()
    assert paths.data_dir(tmp_path / "source") == tmp_path.resolve() / "data"
    assert paths.log_dir("ecg", tmp_path / "source") == tmp_path.resolve() / "logs" / "ecg"


def test_no_course_and_no_env_gives_an_actionable_error(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    with pytest.raises(paths.CourseNotFoundError, match="LABKIT_DATA_DIR"):
        paths.data_dir(tmp_path)


def test_missing_data_file_names_the_command_that_creates_it(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as error:
        paths.data_file(paths.ECG_FILE)
    message = str(error.value)
    assert str(tmp_path / paths.ECG_FILE) in message and "labkit data synth" in message


def test_epoch_cap_parses_and_validates(monkeypatch):
    monkeypatch.delenv(runtime.MAX_EPOCHS_ENV, raising=False)
    assert runtime.epoch_cap() is None
    monkeypatch.setenv(runtime.MAX_EPOCHS_ENV, "2")
    assert runtime.epoch_cap() == 2
    monkeypatch.setenv(runtime.MAX_EPOCHS_ENV, "two")
    with pytest.raises(ValueError, match="whole number"):
        runtime.epoch_cap()
    monkeypatch.setenv(runtime.MAX_EPOCHS_ENV, "0")
    with pytest.raises(ValueError, match="at least 1"):
        runtime.epoch_cap()


def test_plain_python_is_never_interactive(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/tmp/x.ipynb")
    assert not runtime.in_notebook()
    assert not runtime.is_interactive()


def test_grading_and_headless_switch_off_interactivity(monkeypatch):
    monkeypatch.setattr(runtime, "in_notebook", lambda: True)
    monkeypatch.setenv("JPY_SESSION_NAME", "/tmp/x.ipynb")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("LABKIT_HEADLESS", raising=False)
    assert runtime.is_interactive()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.is_graded() and not runtime.is_interactive()
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("LABKIT_HEADLESS", "1")
    assert not runtime.is_interactive()
    monkeypatch.delenv("LABKIT_HEADLESS")
    monkeypatch.delenv("JPY_SESSION_NAME")  # nbclient / nbconvert kernels
    assert not runtime.is_interactive()


def test_course_marker_sits_at_the_repo_root():
    root = Path(__file__).resolve().parents[1]
    assert paths.find_course_root(root / "labkit") == root
