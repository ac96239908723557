"""The report an instructor reads: one self-contained HTML page (figure embedded, no script, no network)."""

from __future__ import annotations

import base64
from html import escape

from autograder.similarity.calibrate import HIGHLIGHT_SCORE, HIGHLIGHT_SHARED, HIGHLIGHT_Z, NEAR_IDENTICAL
from autograder.similarity.exercises import ANSWER, CODE
from autograder.similarity.rank import ExerciseResult, Pair

STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1300px; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; font-size: 0.9em; }
tr.highlighted td { background: #fff1e0; }
.note { color: #555; font-size: 0.9em; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 0.8em; margin-bottom: 1.2em; }
.pair pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.6em; white-space: pre-wrap;
            font-size: 0.8em; margin: 0.2em 0; }
mark { background: #ffd27f; }
section.exercise { border-top: 2px solid #8da0cb; margin-top: 1.5em; }
"""

INTRO = (
    "Pairs of submissions ranked, exercise by exercise, by how unusual their similarity is <em>for that "
    "exercise across the class</em>: a list of what to read first, not a finding. The release's own text "
    "(given code, stubs, questions) is left out; in code the students' own names, numbers and comments do "
    "not count, in written answers their numbers do not. A pair's <em>score</em> is the share of each "
    "one's text that the other also has, each passage weighted by how rare it is in the exercise (text "
    "that many students share counts little); <em>overlap</em> is the same share unweighted; <em>rare "
    "text</em> is how much rare text they share. A pair is <strong>highlighted</strong> when its score is "
    "at least {code:g} (code) or {answer:g} (answers), at least {z:g} robust spreads above the exercise's "
    "median, the two share at least {chars:g} characters of rare code or {words:g} rare words, and the "
    "exercise does not converge. An exercise <em>converges</em> when many pairs are near-identical "
    "(overlap &ge; {near:g}): there a common solution and a copy can look the same; its pairs are still "
    "ranked (most rare text shared first) but nothing is highlighted. "
    "Similar text can be shared ideas, a study group, the same tutorial or chance; it cannot show who "
    "wrote what. See docs/similarity.md."
)


def _marked(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """Return ``text`` escaped, the ``spans`` wrapped in ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(spans):
        start = max(start, at)
        if end <= start:
            continue
        out += [escape(text[at:start]), "<mark>", escape(text[start:end]), "</mark>"]
        at = end
    return "".join([*out, escape(text[at:])])


def _pair_row(pair: Pair) -> str:
    cls = ' class="highlighted"' if pair.highlighted else ""
    flag = "highlighted" if pair.highlighted else ""
    return (
        f"<tr{cls}><td>{pair.rank}</td><td>{escape(pair.student_a)}</td><td>{escape(pair.student_b)}</td>"
        f"<td>{pair.score:.2f}</td><td>{pair.overlap:.2f}</td><td>{pair.shared:.0f}</td>"
        f"<td>{pair.unusualness:+.1f}</td><td>{flag}</td></tr>"
    )


def _passages(pair: Pair) -> str:
    return (
        f'<h4 id="{escape(pair.exercise)}-{pair.rank}">#{pair.rank}: {escape(pair.student_a)} and '
        f"{escape(pair.student_b)} (score {pair.score:.2f}, overlap {pair.overlap:.2f})</h4>"
        f'<div class="pair"><div><strong>{escape(pair.student_a)}</strong>'
        f"<pre>{_marked(pair.text_a, pair.passages.spans_a)}</pre></div>"
        f"<div><strong>{escape(pair.student_b)}</strong>"
        f"<pre>{_marked(pair.text_b, pair.passages.spans_b)}</pre></div></div>"
    )


def _exercise(result: ExerciseResult, shown: int) -> str:
    c = result.calibration
    if c.converges:
        verdict = (
            f"<p class='note'><strong>Converges:</strong> {100 * c.near_identical:.1f}% of its pairs are "
            f"near-identical (median overlap {c.overlap_median:.2f}): many write nearly the same here, so "
            "similarity says little and no pair is highlighted; pairs are ranked by the rare text they "
            "share.</p>"
        )
    else:
        verdict = (
            f"<p class='note'>Median pair score {c.median:.2f}, robust spread {c.spread:.2f}; "
            f"{len(result.highlighted)} of the listed pairs highlighted.</p>"
        )
    rows = "".join(_pair_row(p) for p in result.top)
    table = (
        "<table><tr><th>rank</th><th>student</th><th>student</th><th>score</th><th>overlap</th>"
        f"<th>rare text</th><th>unusualness (z)</th><th></th></tr>{rows}</table>"
    )
    read = [p for p in result.top if p.highlighted] or list(result.top[:shown])
    return (
        f'<section class="exercise" id="{escape(result.exercise.grade_id)}">'
        f"<h2>{escape(result.exercise.grade_id)} <small>({result.exercise.kind}, "
        f"{result.students} submissions, {c.pairs} pairs)</small></h2>{verdict}{table}"
        "<p class='note'>Matching passages are marked; lines given by the release are not shown.</p>"
        + "".join(_passages(p) for p in read)
        + "</section>"
    )


def _unreadable(lines: tuple[str, ...]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f"<p><strong>Left out ({len(lines)} notebooks could not be read):</strong></p><ul>{items}</ul>"


def _summary(results: list[ExerciseResult]) -> str:
    rows = "".join(
        f"<tr><td><a href='#{escape(r.exercise.grade_id)}'>{escape(r.exercise.grade_id)}</a></td>"
        f"<td>{r.exercise.kind}</td><td>{r.students}</td><td>{r.calibration.median:.2f}</td>"
        f"<td>{r.calibration.spread:.2f}</td><td>{100 * r.calibration.near_identical:.1f}%</td>"
        f"<td>{'yes' if r.calibration.converges else ''}</td><td>{len(r.highlighted)}</td></tr>"
        for r in results
    )
    return (
        "<table><tr><th>exercise</th><th>kind</th><th>submissions</th><th>median</th><th>spread</th>"
        f"<th>near-identical pairs</th><th>converges</th><th>highlighted</th></tr>{rows}</table>"
    )


def html_page(
    lab: str,
    results: list[ExerciseResult],
    figure_png: bytes,
    shown: int = 3,
    unreadable: tuple[str, ...] = (),
) -> str:
    """Return the report page of ``lab``.

    Parameters
    ----------
    lab
        The lab's id.
    results
        Its exercises, ranked (`~autograder.similarity.run.compare_lab`).
    figure_png
        The class-wide figure (`~autograder.similarity.figure.distribution_png`), embedded.
    shown
        Passages shown per exercise where none is highlighted (the top pairs).
    unreadable
        Notebooks left out because they could not be read (named at the top).
    """
    image = base64.b64encode(figure_png).decode("ascii")
    intro = INTRO.format(
        code=HIGHLIGHT_SCORE[CODE],
        answer=HIGHLIGHT_SCORE[ANSWER],
        z=HIGHLIGHT_Z,
        chars=HIGHLIGHT_SHARED[CODE],
        words=HIGHLIGHT_SHARED[ANSWER],
        near=NEAR_IDENTICAL,
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Similarity: {escape(lab)}</title>"
        f"<style>{STYLE}</style></head><body><h1>Similarity across the class: {escape(lab)}</h1>"
        f"<p>{intro}</p>{_unreadable(unreadable)}{_summary(results)}"
        "<h2>How unusual each pair is, per exercise</h2>"
        "<img id='distribution' alt='pair scores per exercise' style='max-width:100%' "
        f"src='data:image/png;base64,{image}'>"
        + "".join(_exercise(r, shown) for r in results)
        + "</body></html>"
    )
