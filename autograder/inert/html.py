"""HTML from a submission that a grader's browser may render: one allowlist, applied by nh3 (Ammonia).

What passes: text, headings, lists, links (``http``, ``https``, ``mailto``, relative), tables (with the
``class`` and ``border`` pandas writes), images whose source is inside the notebook (``data:image/...`` or a
cell ``attachment:``), and ``style`` attributes limited to colours, fonts, alignment, borders and spacing.
What goes: every script, ``<style>``, ``<iframe>``, ``<object>``, ``<embed>``, ``<svg>``, ``<math>`` and
``<form>`` element (the first eight with their content), event-handler attributes, ``id`` and ``name``
(which could shadow the page's own globals), ``javascript:`` and every other scheme, and images that would
make the grader's browser send a request (to the student's server or to the grader's own).
"""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import nh3

#: Tags kept (their attributes filtered); nh3's defaults with table footers, without image maps.
TAGS = (set(nh3.ALLOWED_TAGS) | {"tfoot"}) - {"map", "area"}
#: Tags removed together with their content (the rest of a disallowed tag's content stays as text).
REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "svg", "math", "template", "noscript", "noembed",
    "textarea", "select", "frameset",
}  # fmt: skip
#: Attributes kept on every tag, besides nh3's per-tag defaults.
COMMON_ATTRIBUTES = {"class", "title", "style", "lang", "dir"}
#: CSS properties a ``style`` attribute keeps: none of them positions, layers or loads anything.
STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family", "font-variant",
    "text-align", "text-decoration", "text-transform", "vertical-align", "white-space", "line-height",
    "width", "height", "max-width", "min-width", "border", "border-collapse", "border-color",
    "border-style", "border-width", "border-top", "border-right", "border-bottom", "border-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "list-style-type",
}  # fmt: skip
#: URL schemes nh3 lets through; `_url_allowed` narrows them per attribute.
URL_SCHEMES = {"http", "https", "mailto", "data", "attachment"}
#: Where an image may come from: the notebook itself (so opening a page sends no request).
IMAGE_SOURCES = ("data:image/", "attachment:")
_URL_NOISE = re.compile(r"[\x00-\x20]")


def _attributes() -> dict[str, set[str]]:
    attributes = copy.deepcopy(nh3.ALLOWED_ATTRIBUTES)
    attributes.setdefault("table", set()).add("border")
    attributes["*"] = set(COMMON_ATTRIBUTES)
    return attributes


ATTRIBUTES = _attributes()


def _url_allowed(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: images only from the notebook, links never to ``data:`` or attachments."""
    url = _URL_NOISE.sub("", value).lower()  # a browser ignores these characters in a URL too
    if attribute == "src":
        return value if tag == "img" and url.startswith(IMAGE_SOURCES) else None
    if attribute in ("href", "cite") and url.startswith(("data:", "attachment:")):
        return None
    return value


def clean_html(text: str, attributes: dict[str, set[str]] | None = None) -> str:
    """Return ``text`` with everything outside the allowlist of this module removed.

    Parameters
    ----------
    text
        An HTML fragment (an output's ``text/html``, or what a markdown cell renders to).
    attributes
        The allowed attributes per tag (`ATTRIBUTES` when None).
    """
    return nh3.clean(
        text,
        tags=TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=attributes or ATTRIBUTES,
        attribute_filter=_url_allowed,
        url_schemes=URL_SCHEMES,
        filter_style_properties=STYLE_PROPERTIES,
        strip_comments=True,
    )


class _Shape(HTMLParser):
    """The start tags (with attributes) and text of an HTML fragment, end tags and comments aside."""

    #: Tags an HTML parser adds or a sanitiser may leave implicit, and attributes nh3 adds.
    IMPLIED_TAGS, ADDED_ATTRIBUTES = {"tbody", "html", "head", "body"}, {"rel"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.IMPLIED_TAGS:
            kept = sorted((name, value or "") for name, value in attrs if name not in self.ADDED_ATTRIBUTES)
            self.items.append(("tag", tag, tuple(kept)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.items.append(("text", " ".join(data.split())))

    def handle_comment(self, data: str) -> None:
        self.items.append(("comment", data))

    def unknown_decl(self, data: str) -> None:
        self.items.append(("declaration", data))


def shape(text: str) -> list[tuple]:
    """Return the start tags (name, sorted attributes) and the text of the HTML fragment ``text``."""
    parser = _Shape()
    parser.feed(text)
    parser.close()
    return parser.items


def is_inert(text: str, attributes: dict[str, set[str]] | None = None) -> bool:
    """Return whether cleaning the HTML fragment ``text`` would take nothing out of it.

    Parameters
    ----------
    text
        An HTML fragment.
    attributes
        The allowed attributes per tag (`ATTRIBUTES` when None).
    """
    return shape(text) == shape(clean_html(text, attributes))
