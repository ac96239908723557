"""MkDocs hook: links from a page to repository files outside docs/ (``../bench/x.md``) are checked too.

MkDocs validates links between pages; a link that leaves docs/ for a file of the repository (a benchmark's
report, a module) is outside what it knows, so this hook checks that the file exists (a missing one is a
warning, which ``strict: true`` turns into a failed build) and writes the link as plain HTML with the same
relative target: it resolves from site/ as from docs/, both being folders of the repository root.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

LOG = logging.getLogger("mkdocs.hooks.repository_links")
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((\.\./[^)#\s]+)(#[^)\s]*)?\)")


def _inline(text: str) -> str:
    """Return a link text as HTML (code spans kept)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Check and rewrite every link of ``page`` to a repository file outside the docs folder."""
    docs = Path(config["docs_dir"]).resolve()
    here = (docs / page.file.src_uri).parent

    def rewrite(match: re.Match) -> str:
        text, target, anchor = match[1], match[2], match[3] or ""
        path = (here / target).resolve()
        if docs in path.parents:
            return match[0]  # a page of the site: MkDocs checks it
        if not path.exists():
            where = page.file.src_uri
            LOG.warning("Doc file '%s' links to '%s', which is not in the repository", where, target)
        href = html.escape(target + anchor)
        return f'<a href="{href}">{_inline(text)}</a>'

    return LINK.sub(rewrite, markdown)
