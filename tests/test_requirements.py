"""autograder/execute/requirements.py: a worker's environment is checked against the grading host's."""

from __future__ import annotations

import pytest

from autograder.execute.requirements import check, requirements
from autograder.records import InfrastructureError


def test_the_environment_check_names_every_difference():
    wanted = requirements(["import numpy as np\nfrom nbformat import v4"])
    assert {"python", "numpy", "nbformat", "nbgrader", "ipykernel", "code:labkit", "code:autograder"} <= set(
        wanted
    )
    check(wanted)  # this environment matches itself
    wrong = {**wanted, "numpy": "0.0.1", "no-such-distribution": "1.0", "code:labkit": "0" * 16}
    with pytest.raises(InfrastructureError) as exc:
        check(wrong)
    text = str(exc.value)
    assert "numpy " in text and "(host: 0.0.1)" in text and "no-such-distribution missing" in text
    assert "code:labkit" in text and "fix: start the worker in the course environment" in text
