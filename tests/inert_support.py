"""Stored-script payloads for the "nothing a submission carries runs in a grader's browser" tests.

A *payload* is what a student can put in a notebook so that a page made from it runs code in the grader's
browser: markup in an exercise cell's outputs (made again by grading, in the sandbox) and in a written
answer. Every payload reports that it ran in two ways: it adds its name to ``window.top.inertRan`` (and sets
the page title), and it asks the `Recorder` (a local HTTP server) for ``/hit/<name>``. A payload that only
loads something (a remote script, a stylesheet, an ``<object>``) reports through the recorder alone.
``javascript:`` links report when clicked: `inspect_page` clicks every link named ``payload link``.

The honest content beside the payloads (a pandas table, a matplotlib figure as PNG and as SVG, LaTeX and the
student's own words) must still show on every page.
"""

from __future__ import annotations

import copy
import html
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import nbformat

#: A value of the pandas table and a word of the written answer that every page must still show.
HONEST_VALUE, HONEST_WORDS = 424242, "HONEST-ANSWER-WORDS"
#: The figure titles of the honest figures.
FIGURE_TITLE = "honest figure"
#: Payloads whose report a page cannot make without a click or a CDN (kept inert, not counted in controls).
PASSIVE = {"svg_output_script"}
#: A 1x1 PNG (for the image-metadata payload: its ``onload`` fires once the image loads).
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


@dataclass
class Recorder:
    """A local HTTP server that records every path asked of it (each payload asks ``/hit/<name>``)."""

    port: int = 0
    hits: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        """Return the URL the payload ``name`` reports to."""
        return f"http://127.0.0.1:{self.port}/hit/{name}"

    def names(self) -> set[str]:
        """Return the payload names that reported so far."""
        return {
            path.split("/hit/", 1)[1].split(".")[0].split("?")[0] for path in self.hits if "/hit/" in path
        }


def hit_name(path: str) -> str:
    """Return the payload name of a recorded ``/hit/<name>[.js]`` path."""
    return path.split("/hit/", 1)[1].split(".")[0].split("?")[0]


@contextmanager
def recording() -> Any:
    """Yield a running `Recorder` on a free loopback port; stop it after."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            recorder.hits.append(self.path)
            name = self.path.rsplit("/", 1)[-1].split(".")[0]
            body = report_js(name, recorder).encode() if self.path.endswith(".js") else b""
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript" if body else "text/plain")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


def _chars(text: str) -> str:
    """Return a JavaScript expression for the string ``text`` without quotes, spaces or markdown marks."""
    return "String.fromCharCode(" + ",".join(str(ord(c)) for c in text) + ")"


def report_js(name: str, recorder: Recorder) -> str:
    """Return JavaScript (no quotes, spaces, backticks, underscores) that reports the payload ``name`` ran."""
    return (
        "(function(){var/**/w=window;try{w=window.top;w.document.title="
        + _chars("RAN:" + name)
        + "}catch(e){}"
        "try{w.inertRan=(w.inertRan||[]).concat([" + _chars(name) + "])}catch(e){}"
        "new/**/Image().src=" + _chars(recorder.url(name)) + "})()"
    )


def _on(attribute: str, name: str, recorder: Recorder) -> str:
    """Return ``attribute="<report_js of name>"`` (an event handler or a ``javascript:`` link)."""
    prefix = "javascript:" if attribute == "href" else ""
    return f'{attribute}="{html.escape(prefix + report_js(name, recorder), quote=True)}"'


def html_payloads(recorder: Recorder) -> dict[str, str]:
    """Return name -> markup a cell displays as ``text/html``."""
    r, url = (lambda name: report_js(name, recorder)), recorder.url
    frame = html.escape("<script>" + r("html_iframe_srcdoc") + "</script>", quote=True)
    return {
        "html_script": "<script>" + r("html_script") + "</script>",
        "html_img_onerror": "<img src=x " + _on("onerror", "html_img_onerror", recorder) + ">",
        "html_svg_onload": "<svg " + _on("onload", "html_svg_onload", recorder) + "></svg>",
        "html_details_ontoggle": "<details open "
        + _on("ontoggle", "html_details_ontoggle", recorder)
        + ">x</details>",
        "html_iframe_srcdoc": f'<iframe srcdoc="{frame}"></iframe>',
        "html_remote_script": f'<script src="{url("html_remote_script")}.js"></script>',
        "html_javascript_link": "<a " + _on("href", "html_javascript_link", recorder) + ">payload link</a>",
        "html_object": f'<object data="{url("html_object")}"></object>',
        "html_style_import": f"<style>@import url({url('html_style_import')});</style>",
        "html_inline_style": f'<div style="background:url({url("html_inline_style")})">styled</div>',
    }


def output_payloads(recorder: Recorder) -> dict[str, str]:
    """Return name -> the Python that displays the payload from an exercise cell (IPython.display)."""
    r = lambda name: report_js(name, recorder)  # noqa: E731
    code = {name: f"display(HTML({markup!r}))" for name, markup in html_payloads(recorder).items()}
    isolated = "<script>" + r("html_isolated_iframe") + "</script>"
    code["html_isolated_iframe"] = (
        f"display({{'text/html': {isolated!r}}}, raw=True, metadata={{'text/html': {{'isolated': True}}}})"
    )
    code["js_output"] = f"display(Javascript({r('js_output')!r}))"
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" '
        + _on("onload", "svg_output_script", recorder)
        + "><script>"
        + r("svg_output_script")
        + "</script><circle r='5' cx='10' cy='10'/></svg>"
    )
    code["svg_output_script"] = f"display(SVG({svg!r}))"
    markdown = "<img src=x " + _on("onerror", "markdown_output", recorder) + ">"
    code["markdown_output"] = f"display(Markdown({markdown!r}))"
    width = "1 onload=" + r("png_width_attribute")  # nbconvert writes width into an unquoted attribute
    code["png_width_attribute"] = (
        f"display({{'image/png': {PIXEL!r}}}, raw=True, metadata={{'image/png': {{'width': {width!r}}}}})"
    )
    return code


def markdown_payloads(recorder: Recorder) -> dict[str, str]:
    """Return name -> markdown a student writes in a written answer."""
    r, url = (lambda name: report_js(name, recorder)), recorder.url
    frame = html.escape("<script>" + r("md_iframe_srcdoc") + "</script>", quote=True)
    return {
        "md_img_onerror": "<img src=x " + _on("onerror", "md_img_onerror", recorder) + ">",
        "md_script": "<script>" + r("md_script") + "</script>",
        "md_javascript_link": "[payload link](javascript:" + r("md_javascript_link") + ")",
        "md_html_javascript_link": "<a "
        + _on("href", "md_html_javascript_link", recorder)
        + ">payload link</a>",
        "md_iframe_srcdoc": f'<iframe srcdoc="{frame}"></iframe>',
        "md_svg_onload": "<svg " + _on("onload", "md_svg_onload", recorder) + "></svg>",
        "md_remote_image": f'<img src="{url("md_remote_image")}">',
    }


HONEST_OUTPUTS = f"""
import io
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, SVG, Image, Javascript, Markdown, display
display(pd.DataFrame({{"honest_column": [{HONEST_VALUE}, 7]}}))
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([1, 3, 2])
ax.set_title({FIGURE_TITLE!r})
for fmt in ("png", "svg"):
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    display(Image(buffer.getvalue(), format="png") if fmt == "png" else SVG(buffer.getvalue()))
plt.close(fig)
"""


def exercise_source(recorder: Recorder) -> str:
    """Return the solved ``square`` cell that also displays the honest content and every output payload."""
    return "\n".join(
        ["def square(x):", "    return x * x", HONEST_OUTPUTS, *output_payloads(recorder).values()]
    )


def answer_source(recorder: Recorder) -> str:
    """Return the written answer: the student's words, LaTeX, and every markdown payload."""
    lines = [f"{HONEST_WORDS}: a square is never negative, $x^2 \\ge 0$."]
    return "\n\n".join([*lines, *markdown_payloads(recorder).values()])


def payload_submission(release: nbformat.NotebookNode, recorder: Recorder) -> nbformat.NotebookNode:
    """Return the mini lab's release with the solved exercises, the payloads and the honest content."""
    nb = copy.deepcopy(release)
    sources = {
        "square": exercise_source(recorder),
        "mean_value": "def mean_value(values):\n    return sum(values) / len(values)\n",
        "q1": answer_source(recorder),
    }
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
    return nb


def expected_names(recorder: Recorder) -> set[str]:
    """Return the name of every payload of the catalogue."""
    return set(output_payloads(recorder)) | set(markdown_payloads(recorder))


#: Runs in a page after it loaded: what ran (window flag, title) and what of the page's DOM is active.
INSPECT_JS = """() => {
  const active = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value || '';
      if (a.name.startsWith('on') && v.includes('fromCharCode')) active.push(el.tagName + '[' + a.name + ']');
      if (/^\\s*javascript:/i.test(v) && /(href|src|action|data)$/.test(a.name))
        active.push(el.tagName + '[' + a.name + ']');
      if (a.name === 'srcdoc') active.push(el.tagName + '[srcdoc]');
    }
    const script = el.tagName === 'SCRIPT';
    const payload = el.textContent.includes('fromCharCode') || (el.src || '').includes('/hit/');
    if (script && payload) active.push('SCRIPT');
    if (['IFRAME', 'OBJECT', 'EMBED'].includes(el.tagName)) active.push(el.tagName);
  }
  return {ran: window.inertRan || [], title: document.title, active: active};
}"""

#: The honest content a page shows: the pandas value, the student's words, and the rendered figures.
HONEST_JS = """([value, words]) => {
  const text = document.body.innerText;
  const images = Array.from(document.images).filter(i => i.complete && i.naturalWidth > 100);
  return {
    table: Array.from(document.querySelectorAll('table td')).some(c => c.innerText.trim() === String(value)),
    words: text.includes(words),
    png: images.some(i => i.src.startsWith('data:image/png')),
    svg: images.some(i => i.src.startsWith('data:image/svg+xml')),
  };
}"""


@dataclass
class PageReport:
    """What one page did: payloads that reported (flag or recorder), active DOM left, honest content."""

    url: str
    ran: set[str]
    active: list[str]
    honest: dict[str, bool]


def inspect_page(page: Any, url: str, recorder: Recorder, settle_ms: int = 700) -> PageReport:
    """Open ``url``, let its payloads fire, click its ``payload link`` links and report what happened."""
    before = len(recorder.hits)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(settle_ms)
    for link in page.get_by_text("payload link", exact=True).all():
        try:
            link.click(timeout=2000, no_wait_after=True)
        except Exception:  # noqa: BLE001 (an element that is not clickable cannot run a link either)
            continue
    page.wait_for_timeout(300)
    found = page.evaluate(INSPECT_JS)
    ran = set(found["ran"]) | {hit_name(path) for path in recorder.hits[before:] if "/hit/" in path}
    if found["title"].startswith("RAN:"):
        ran.add(found["title"][4:])
    honest = page.evaluate(HONEST_JS, [HONEST_VALUE, HONEST_WORDS])
    return PageReport(url, ran, found["active"], honest)
