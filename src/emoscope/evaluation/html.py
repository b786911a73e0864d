"""The compare page: runs side by side as one self-contained HTML file (inline SVG, no loads).

It shows the comparison table with the paired tests, one confusion matrix per run (SVG
heatmaps, shaded by row share, side by side) and the per-class F1 of every run as grouped bars.
The shared styles and colours come from :mod:`emoscope.report.style`.

Examples:
    >>> run = {"name": "a", "model": "m", "ua": 0.5, "wa": 0.5, "macro_f1": 0.5,
    ...        "weighted_f1": 0.5, "ci95": {"ua": [0.2, 0.8]},
    ...        "per_class": {"sad": {"f1": 0.5}, "happy": {"f1": 0.5}},
    ...        "confusion": {"labels": ["sad", "happy"], "matrix": [[1, 1], [1, 1]]}}
    >>> page = render_compare_html({"shared": 4, "labels": ["sad", "happy"],
    ...                             "reference": "a", "runs": [run, {**run, "name": "b"}]})
    >>> page.count('class="cm"'), "<script" in page
    (2, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emoscope.evaluation.compare import COLUMNS, table_rows
from emoscope.report.style import CSP_META, CSS, esc

RUN_COLOURS = ("#1d232b", "#3b6fd1", "#e0712a", "#3c9a4c", "#7f4bc4", "#d1343b", "#8a8f98")
"""Colours of the runs in the grouped bars (cycled)."""

_EXTRA_CSS = """
.grid { display: flex; flex-wrap: wrap; gap: 18px; }
.grid figure { margin: 0; background: var(--soft); border-radius: 8px; padding: 10px; }
.grid figcaption { font-weight: 600; margin-bottom: 4px; }
svg text { font: 11px system-ui, sans-serif; fill: #1d232b; }
td.num, th.num { white-space: nowrap; }
"""


def confusion_svg(confusion: Mapping[str, Any], *, cell: int = 34) -> str:
    """Return a confusion matrix as an SVG heatmap (rows true, columns predicted).

    Cells are shaded by their share of the row (recall on the diagonal, blue; confusions red)
    and show the count.
    """
    labels = list(confusion.get("labels") or [])
    matrix = np.asarray(confusion.get("matrix") or [], dtype=np.float64)
    k = len(labels)
    if not k or matrix.shape != (k, k):
        return "<p>No confusion matrix.</p>"
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    left, top = 72, 72
    size = (left + cell * k + 48, top + cell * k + 8)  # room for the last rotated label
    parts = [
        f'<svg class="cm" viewBox="0 0 {size[0]} {size[1]}" width="{size[0]}" '
        f'height="{size[1]}" role="img" aria-label="confusion matrix">'
    ]
    for j, lab in enumerate(labels):
        x = left + cell * j + cell / 2
        parts.append(
            f'<text x="{x}" y="{top - 6}" transform="rotate(-45 {x} {top - 6})">{esc(lab)}</text>'
        )
    for i, lab in enumerate(labels):
        y = top + cell * i
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end">{esc(lab)}</text>'
        )
        for j in range(k):
            hue = "59,111,209" if i == j else "209,52,59"
            alpha = 0.06 + 0.85 * share[i, j]
            ink = "#fff" if share[i, j] > 0.55 else "#1d232b"
            x = left + cell * j
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                f'fill="rgba({hue},{alpha:.2f})"><title>{esc(lab)} -> {esc(labels[j])}: '
                f"{int(matrix[i, j])} ({share[i, j]:.0%} of row)</title></rect>"
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'style="fill:{ink}">{int(matrix[i, j])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def per_class_bars_svg(runs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    """Return grouped bars of per-class F1, one bar per run in each label's group."""
    if not runs or not labels:
        return "<p>No per-class figures.</p>"
    bar = max(6, min(18, 90 // len(runs)))
    group = bar * len(runs) + 18
    width, height, base, span = 56 + group * len(labels), 230, 180, 160
    parts = [
        f'<svg id="per-class-compare" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="per-class F1 by run">'
    ]
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = base - span * v
        parts.append(
            f'<line x1="40" x2="{width - 6}" y1="{y}" y2="{y}" stroke="#e3e6ea"/>'
            f'<text x="34" y="{y + 4}" text-anchor="end">{v:.2f}</text>'
        )
    for g, lab in enumerate(labels):
        x0 = 48 + group * g
        for r, run in enumerate(runs):
            f1 = float((run.get("per_class") or {}).get(lab, {}).get("f1") or 0.0)
            h = span * f1
            colour = RUN_COLOURS[r % len(RUN_COLOURS)]
            parts.append(
                f'<rect class="bar-f1" x="{x0 + bar * r}" y="{base - h:.1f}" width="{bar - 1}" '
                f'height="{h:.1f}" fill="{colour}"><title>{esc(run["name"])} {esc(lab)} F1 '
                f"{f1:.3f}</title></rect>"
            )
        parts.append(
            f'<text x="{x0 + bar * len(runs) / 2}" y="{base + 16}" text-anchor="middle">'
            f"{esc(lab)}</text>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{RUN_COLOURS[r % len(RUN_COLOURS)]}"></i>'
        f"{esc(run['name'])}</span>"
        for r, run in enumerate(runs)
    )
    return "".join(parts) + f'<p class="legend">{legend}</p>'


def comparison_table_html(comparison: Mapping[str, Any]) -> str:
    """Return the comparison table as HTML."""
    head = "".join(
        f'<th class="{"" if i < 2 else "num"}">{esc(c)}</th>' for i, c in enumerate(COLUMNS)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"" if i < 2 else "num"}">{esc(c)}</td>' for i, c in enumerate(cells)
        )
        + "</tr>"
        for cells in table_rows(dict(comparison))
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_compare_html(comparison: Mapping[str, Any], *, title: str = "Run comparison") -> str:
    """Return the compare page of :func:`~emoscope.evaluation.compare.compare_runs` output."""
    runs = list(comparison["runs"])
    figures = "".join(
        f"<figure><figcaption>{esc(run['name'])}</figcaption>"
        f"<div class='meta'>{esc(run['model'])} &middot; UA {run['ua']:.3f}</div>"
        f"{confusion_svg(run['confusion'])}</figure>"
        for run in runs
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{CSP_META}
<title>{esc(title)}</title><style>{CSS}{_EXTRA_CSS}</style></head>
<body><main>
<h1>{esc(title)}</h1>
<p class="meta">{comparison["shared"]} utterances predicted by every run; paired tests against
{esc(comparison["reference"])}: paired bootstrap on UA (95% interval of the difference, two-sided
p) and McNemar's exact test on accuracy.</p>
{comparison_table_html(comparison)}
<h2>Confusion matrices</h2>
<p class="meta">Rows are the true labels, columns the predictions; shading is the share of the
row (blue on the diagonal: correct).</p>
<div class="grid">{figures}</div>
<h2>Per-class F1</h2>
{per_class_bars_svg(runs, comparison["labels"])}
</main></body></html>
"""
