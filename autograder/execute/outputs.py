"""What an autograded notebook keeps of a cell's outputs: text up to a limit, images whole or withheld.

nbgrader's ``LimitOutput`` counts lines, not characters, so one megabyte line passes it. Here text is cut
at ``max_text`` characters; image data is never cut (a cut image is a broken image): an image over
``max_image`` characters is replaced by one line saying so. Probe results (``MIME``) are left whole for the
grader, which removes them once it has decided.
"""

from __future__ import annotations

from nbformat import NotebookNode

from autograder.checks.probe import MIME


def cap_outputs(cell: NotebookNode, max_text: int, max_image: int) -> None:
    """Cut the text outputs of ``cell`` at ``max_text`` characters and withhold images over ``max_image``."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and len(out.get("text", "")) > max_text:
            out["text"] = out["text"][:max_text] + f"\n... output cut at {max_text} characters\n"
        data = out.get("data", {})
        for key, value in list(data.items()):
            if key == MIME or not isinstance(value, str):
                continue
            if key.startswith("image/"):
                if len(value) > max_image:
                    del data[key]
                    data["text/plain"] = f"[{key} figure of {len(value)} characters withheld: over the limit]"
            elif len(value) > max_text:
                data[key] = value[:max_text] + "\n... cut"
