"""nbgrader preprocessors the course adds to ``generate_assignment`` (see nbgrader_config.py)."""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor


class StripJupytextPairing(NbGraderPreprocessor):
    """Remove the Jupytext pairing from generated student notebooks.

    The instructor's source notebooks are paired with ``.py`` scripts; a release notebook that kept
    ``metadata.jupytext`` would make JupyterLab write a ``.py`` copy next to every student's notebook.
    """

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        """Drop ``metadata.jupytext``."""
        nb.metadata.pop("jupytext", None)
        return nb, resources
