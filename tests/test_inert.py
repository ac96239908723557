"""autograder/inert/: a notebook made inert keeps what a grader reads and nothing that runs in a browser.

Fast: no kernel, no browser (``test_inert_browser.py`` opens every grader page in Chromium). The payloads
are the catalogue of ``inert_support``; the honest content is a pandas table, a matplotlib figure, LaTeX
and the course's own lab notebooks, which must come through unchanged.
"""

from __future__ import annotations

import copy
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import inert_support as ins
import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.inert import MakeInert, make_inert
from autograder.inert.html import clean_html, is_inert
from autograder.inert.markdown import AS_TEXT_NOTE, inert_latex, inert_markdown, renders_inert
from autograder.inert.notebook import inert_output, note
from autograder.inert.svg import clean_svg

REPO = Path(__file__).resolve().parents[1]
RECORDER = ins.Recorder(port=9)
ACTIVE = re.compile(
    r"<script|<iframe|<object|<embed|<style|<svg|\son\w+\s*=|javascript:|srcdoc", re.IGNORECASE
)
PNG = ins.PIXEL


def _table() -> str:
    import pandas as pd

    return pd.DataFrame({"honest_column": [ins.HONEST_VALUE, 7]})._repr_html_()


def _figure_svg() -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 3, 2])
    ax.set_title(ins.FIGURE_TITLE)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()


# --- HTML -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ins.html_payloads(RECORDER)))
def test_every_html_payload_is_cleaned_to_nothing_active(name):
    markup = ins.html_payloads(RECORDER)[name]
    assert not is_inert(markup)
    cleaned = clean_html(markup)
    assert not ACTIVE.search(cleaned) and "/hit/" not in cleaned, cleaned
    assert is_inert(cleaned)


def test_a_pandas_table_keeps_its_rows_and_classes():
    cleaned = clean_html(_table())
    assert '<table border="1" class="dataframe">' in cleaned and f"<td>{ins.HONEST_VALUE}</td>" in cleaned
    assert "<th>honest_column</th>" in cleaned and "<style" not in cleaned


def test_images_only_from_the_notebook_and_styles_that_load_or_place_nothing():
    kept = clean_html(f'<img src="data:image/png;base64,{PNG}" alt="fig"><img src="attachment:a.png">')
    assert kept.count("<img src=") == 2
    assert clean_html('<img src="http://127.0.0.1:9/x.png"><img src="/api/contents">') == "<img><img>"
    style = clean_html('<span style="color: red; position: fixed; background: url(http://x/y)">t</span>')
    assert style == '<span style="color:red">t</span>'
    links = clean_html(
        '<a href="https://example.org">a</a><a href="data:text/html,x">b</a><a id="x" name="y">c</a>'
    )
    assert 'href="https://example.org"' in links and "data:" not in links and "id=" not in links


# --- SVG --------------------------------------------------------------------------------------------------


def test_a_matplotlib_svg_keeps_every_drawing_element():
    figure = _figure_svg()
    cleaned = clean_svg(figure)
    for element in ("path", "use", "clipPath", "g"):
        assert cleaned.count(f"<{element} ") == figure.count(f"<{element} "), element
    assert "<style" in cleaned and "stroke-linejoin" in cleaned and "<metadata" not in cleaned


def test_svg_script_handlers_foreign_content_and_outside_links_go():
    hostile = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="pwn()">'
        "<script>pwn()</script><foreignObject><div>html</div></foreignObject>"
        '<a href="javascript:pwn()"><circle r="1"/></a>'
        '<use xlink:href="http://127.0.0.1:9/hit/use#a"/><use href="#own"/>'
        '<image href="http://127.0.0.1:9/p.png"/><image href="data:image/png;base64,AA"/>'
        '<animate attributeName="href" to="javascript:pwn()"/><set attributeName="onclick" to="pwn()"/>'
        '<rect style="fill: url(http://127.0.0.1:9/hit/css)" fill="url(#grad)"/>'
        "<style>@import url(http://127.0.0.1:9/hit/import);</style></svg>"
    )
    cleaned = clean_svg(hostile)
    for gone in (
        "script",
        "foreignObject",
        "onload",
        "javascript",
        "127.0.0.1",
        "animate",
        "<set",
        "@import",
    ):
        assert gone not in cleaned, gone
    assert (
        '<g><circle r="1" /></g>' in cleaned and 'href="#own"' in cleaned and 'fill="url(#grad)"' in cleaned
    )
    assert 'href="data:image/png;base64,AA"' in cleaned


@pytest.mark.parametrize(
    "text",
    [
        '<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        "<svg",
        "<html/>",
    ],
)
def test_an_svg_that_declares_entities_does_not_parse_or_is_not_svg_is_not_kept(text):
    assert clean_svg(text) is None


# --- markdown ---------------------------------------------------------------------------------------------


HONEST_MARKDOWN = [
    "# Answer\n\nThe MAE is $\\frac{1}{n}\\sum |y - \\hat y| < 5$ bpm, so **good enough**.\n\n$$x^2 \\ge 0$$",
    "| model | MAE |\n|---|---|\n| CNN | 4.2 |\n\n- one\n- two\n\n> a quote",
    "Code: `a < b` and\n\n```python\nif a < b:\n    print('<b>')\n```",
    "A figure: ![fig](attachment:fig.png) and a <sup>2</sup>, a line<br>break, [docs](https://example.org).",
    "<details><summary>More</summary>\n\nmy working\n</details>",
]


@pytest.mark.parametrize("source", HONEST_MARKDOWN)
def test_honest_markdown_is_kept_exactly(source):
    assert inert_markdown(source, {"fig.png": {"image/png": PNG}}) == source


@pytest.mark.parametrize("name", sorted(ins.markdown_payloads(RECORDER)))
def test_every_markdown_payload_renders_inert_and_the_words_around_it_stay(name):
    source = f"{ins.HONEST_WORDS} before.\n\n{ins.markdown_payloads(RECORDER)[name]}\n\nAnd $x^2$ after."
    assert not renders_inert(source)
    made = inert_markdown(source)
    assert renders_inert(made) and ins.HONEST_WORDS in made and "$x^2$" in made
    assert AS_TEXT_NOTE not in made  # rule 2 (escaping) sufficed: the answer still reads as markdown


def test_links_to_other_schemes_point_nowhere_and_outside_images_become_links():
    made = inert_markdown(
        "[a](javascript:alert(1)) [b](https://example.org/x_(y)) ![c](http://127.0.0.1:9/p.png)"
    )
    assert made == "[a](#) [b](https://example.org/x_(y)) [c](http://127.0.0.1:9/p.png)"


def test_what_escaping_cannot_make_inert_is_shown_as_a_code_block_under_a_note():
    source = "[x][ref] and ```` fence\n\n[ref]: javascript:alert(1)"
    made = inert_markdown(source)
    assert made.startswith(AS_TEXT_NOTE) and source in made and "`````text" in made and renders_inert(made)


def test_latex_href_keeps_web_links_only_and_mermaid_stays_code():
    assert inert_latex(r"$\href{javascript:alert(1)}{x}$ $\href{https://a.org}{y}$") == (
        r"$\href{#}{x}$ $\href{https://a.org}{y}$"
    )
    assert inert_markdown("```mermaid\ngraph TD; A-->B\n```") == "```text\ngraph TD; A-->B\n```"


# --- notebook ---------------------------------------------------------------------------------------------


def _display(data: dict, metadata: dict | None = None) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data=data, metadata=metadata or {})


def _hostile_notebook() -> nbformat.NotebookNode:
    outputs = [
        _display({"text/html": markup, "text/plain": "<HTML>"})
        for markup in ins.html_payloads(RECORDER).values()
    ]
    outputs += [
        _display({"text/html": "<script>pwn()</script>"}, {"text/html": {"isolated": True}}),
        _display({"application/javascript": "pwn()", "text/plain": "<Javascript object>"}),
        _display({"application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "text/plain": "VBopwn()"}),
        _display({"application/vnd.plotly.v1+json": {}, "application/pdf": "JVBER"}),
        _display(
            {"image/png": PNG}, {"image/png": {"width": "1 onload=pwn()", "height": 20, "filenames": "x"}}
        ),
        _display({"text/markdown": '<img src=x onerror="pwn()">'}),
        _display({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"><script>pwn()</script></svg>'}),
        _display({"text/html": _table()}),
        nbformat.v4.new_output("stream", name="stdout", text="<script>printed</script>\n"),
    ]
    markdown = nbformat.v4.new_markdown_cell("\n\n".join(ins.markdown_payloads(RECORDER).values()))
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>'
    markdown.attachments = {"a.svg": {"image/svg+xml": svg, "text/html": "<script>pwn()</script>"}}
    raw = nbformat.v4.new_raw_cell(
        "<script>pwn()</script><b>bold</b>", metadata={"raw_mimetype": "text/html"}
    )
    code = nbformat.v4.new_code_cell("x = 1", outputs=outputs)
    nb = nbformat.v4.new_notebook(cells=[code, markdown, raw])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_active_outputs_go_with_a_visible_note_and_the_rest_is_cleaned():
    nb = make_inert(_hostile_notebook())
    outputs = nb.cells[0].outputs
    kinds = [sorted(o.get("data", {})) for o in outputs]
    assert ["text/plain"] in kinds and len(outputs) == len(_hostile_notebook().cells[0].outputs)
    assert note(["application/javascript"]) + "\n<Javascript object>" in [
        o.data.get("text/plain") for o in outputs[:-1]
    ]
    widget = next(o for o in outputs if "VBopwn()" in str(o.get("data", {})))
    assert widget.data == {"text/plain": note(["application/vnd.jupyter.widget-view+json"]) + "\nVBopwn()"}
    png = next(o for o in outputs if "image/png" in o.get("data", {}))
    assert png.metadata == {"image/png": {"height": 20}}
    assert all("isolated" not in str(o.get("metadata")) for o in outputs)
    assert "widgets" not in nb.metadata and nb.cells[2].source == "<b>bold</b>"
    assert set(nb.cells[1].attachments["a.svg"]) == {"image/svg+xml"}
    assert outputs[-1].text == "<script>printed</script>\n"  # a stream is text: every page escapes it
    assert f"<td>{ins.HONEST_VALUE}</td>" in outputs[-2].data["text/html"]


def test_making_inert_twice_changes_nothing_more():
    once = make_inert(_hostile_notebook())
    assert make_inert(copy.deepcopy(once)) == once


class _Active(HTMLParser):
    """Payload markup a page still holds: embeds, handlers, loads, script links, payload scripts."""

    MARKS = ("pwn()", "fromCharCode", "/hit/")
    LOADS = {"src", "data", "srcdoc", "style", "action", "formaction", "background", "poster"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._tag = tag
        if tag in ("iframe", "object", "embed"):
            self.found.append(tag)
        for name, value in attrs:
            marked = any(mark in (value or "") for mark in self.MARKS)
            runs = name.startswith("on") or name in self.LOADS
            if (
                (marked and runs)
                or name == "srcdoc"
                or (value or "").strip().lower().startswith("javascript:")
            ):
                self.found.append(f"{tag}[{name}]")

    def handle_data(self, data: str) -> None:
        if self._tag == "script" and any(mark in data for mark in self.MARKS):
            self.found.append("script")


def _active(page: str) -> list[str]:
    parser = _Active()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_nbconvert_renders_an_inert_notebook_without_active_markup(template):
    assert _active(HTMLExporter(template_name=template).from_notebook_node(_hostile_notebook())[0])  # control
    page, _ = HTMLExporter(template_name=template).from_notebook_node(make_inert(_hostile_notebook()))
    assert not _active(page)
    assert f"<td>{ins.HONEST_VALUE}</td>" in page


def test_as_an_exporter_step_it_cleans_what_the_exporter_renders():
    exporter = HTMLExporter(template_name="classic", preprocessors=[MakeInert])  # formgrader's configuration
    page, _ = exporter.from_notebook_node(_hostile_notebook())
    assert not _active(page) and "application/vnd.jupyter.widget-state+json" not in page


@pytest.mark.parametrize("folder", ["source", "release"])
def test_the_course_labs_come_through_unchanged(folder):
    for path in sorted((REPO / folder).glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        assert make_inert(copy.deepcopy(nb)) == nb, path


def test_an_output_type_a_notebook_does_not_store_is_dropped():
    assert inert_output(nbformat.from_dict({"output_type": "clear_output", "wait": False})) is None
