"""``python -m autograder.nbgrader_cli ARGS``: nbgrader's command line, without one slow optional import.

Every submission's ``nbgrader autograde`` is a fresh process, so its start-up is paid once per notebook.
Of that start-up, about half is ``jsonschema`` importing the optional ``rfc3987_syntax`` package, which
compiles dozens of grammars to check the ``iri`` string format. No schema nbgrader or nbformat validates
uses that format (nbformat validates without a format checker), so the import is skipped: the same
validation, the same grades, a faster start. Plain ``nbgrader`` is untouched.
"""

from __future__ import annotations

import sys

#: Optional imports that cost start-up time and serve no check nbgrader makes.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def main() -> None:
    """Run nbgrader's command line (``sys.argv``) with the skipped imports unavailable."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)  # ``import name`` now raises ImportError, which jsonschema expects
    from nbgrader.apps.nbgraderapp import main as nbgrader_main

    nbgrader_main()


if __name__ == "__main__":
    main()
