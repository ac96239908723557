"""SVG figures from a submission, kept as drawings only: no script, no event handler, no outside reference.

An ``image/svg+xml`` output is parsed as XML and rebuilt from an allowlist of drawing elements (shapes,
paths, text, groups, gradients, clip paths, markers, ``<use>`` of the figure's own parts: what matplotlib
writes). Removed: ``<script>``, ``<foreignObject>`` (HTML inside SVG), animation elements (they can rewrite
a link), ``<a>`` (its children are kept in a group), metadata, every ``on*`` attribute, every link that
does not point inside the figure (``href="#id"``; an ``<image>`` may hold a ``data:image/...`` picture),
and CSS that loads anything (``url(...)`` to anything but ``#id``, ``@import``). A document that does not
parse, or declares entities, is not kept at all.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
#: Drawing elements kept (SVG namespace).
ELEMENTS = {
    "svg", "g", "defs", "desc", "title", "symbol", "use", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "textPath", "clipPath", "mask", "pattern", "marker",
    "linearGradient", "radialGradient", "stop", "image", "style", "switch",
    "filter", "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feFlood",
    "feGaussianBlur", "feMerge", "feMergeNode", "feOffset", "feFuncA", "feFuncR", "feFuncG", "feFuncB",
}  # fmt: skip
#: Elements whose children are kept (in a ``<g>``) while the element itself goes.
UNWRAPPED = {"a"}
_EXTERNAL_CSS = re.compile(r"url\s*\(\s*(?![\s'\"]*#)|@import|expression\s*\(|javascript:", re.IGNORECASE)

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


def _local(name: str) -> tuple[str, str]:
    """Return (namespace, local name) of an ElementTree tag or attribute name."""
    if name.startswith("{"):
        namespace, local = name[1:].split("}", 1)
        return namespace, local
    return "", name


def _attribute_kept(element: str, name: str, value: str) -> bool:
    namespace, local = _local(name)
    if local.lower().startswith("on") or namespace not in ("", XLINK_NS, XML_NS):
        return False
    if local == "href":
        target = re.sub(r"[\x00-\x20]", "", value).lower()
        return target.startswith("#") or (element == "image" and target.startswith("data:image/"))
    return not _EXTERNAL_CSS.search(value)


def _clean(element: ET.Element) -> None:
    """Clean the children and attributes of ``element`` in place (the element itself is kept)."""
    for name in list(element.attrib):
        if not _attribute_kept(_local(element.tag)[1], name, element.attrib[name]):
            del element.attrib[name]
    if _local(element.tag)[1] == "style" and _EXTERNAL_CSS.search(element.text or ""):
        element.text = ""
    for child in list(element):
        namespace, local = _local(child.tag) if isinstance(child.tag, str) else ("", "")
        if namespace == SVG_NS and local in UNWRAPPED:
            child.tag, child.attrib = f"{{{SVG_NS}}}g", {}
        elif namespace != SVG_NS or local not in ELEMENTS:
            element.remove(child)
            continue
        _clean(child)


def clean_svg(text: str) -> str | None:
    """Return the SVG document ``text`` rebuilt from the allowlist, or None when it cannot be kept.

    Parameters
    ----------
    text
        An ``image/svg+xml`` output.
    """
    if "<!ENTITY" in text:
        return None
    try:
        root = ET.fromstring(text.encode())
    except (ET.ParseError, ValueError):
        return None
    if root.tag != f"{{{SVG_NS}}}svg":
        return None
    _clean(root)
    return ET.tostring(root, encoding="unicode")
