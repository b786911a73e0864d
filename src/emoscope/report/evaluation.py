"""The evaluation report of one run, as one self-contained HTML file.

Headline figures, confusion matrix, per-class bars, calibration diagram and fairness tables.
It reads the ``metrics`` dict that ``emoscope evaluate`` stores (``ua``, ``wa``, ``macro_f1``,
``per_class``, ``confusion``, ``ci95``, ``ece``, ``fairness``...); the calibration diagram needs
per-bin figures, taken from ``metrics["calibration"]["bins"]`` or computed from the run's
``predictions`` (``true``, ``pred``, ``probabilities``) with :func:`reliability_bins`.

Examples:
    >>> m = {"ua": 0.5, "wa": 0.5, "macro_f1": 0.4, "n": 4,
    ...      "per_class": {"sad": {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 2},
    ...                    "happy": {"precision": 0.5, "recall": 1.0, "f1": 0.67, "support": 2}},
    ...      "confusion": {"labels": ["sad", "happy"], "matrix": [[1, 1], [0, 2]]}}
    >>> html = render_evaluation_report(m)
    >>> html.count('cm-cell"')
    4
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.report.style import CSP_META, CSS, colour, esc


def reliability_bins(
    proba: np.ndarray, y_true: Sequence[int], *, n_bins: int = 10
) -> list[dict[str, float | int]]:
    """Return per-bin ``lower``, ``upper``, ``n``, ``confidence`` and ``accuracy`` figures.

    The top-label confidence of each row falls into one of ``n_bins`` equal-width bins.

    Examples:
        >>> b = reliability_bins(np.array([[0.9, 0.1], [0.2, 0.8]]), [0, 0], n_bins=2)
        >>> [(x["n"], x["accuracy"]) for x in b]
        [(0, None), (2, 0.5)]
    """
    proba = np.asarray(proba, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.int64)
    confidence = proba.max(axis=1) if proba.size else np.zeros(0)
    correct = proba.argmax(axis=1) == t if proba.size else np.zeros(0, dtype=bool)
    index = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    out: list[dict[str, Any]] = []
    for b in range(n_bins):
        mask = index == b
        n = int(mask.sum())
        out.append(
            {
                "lower": b / n_bins,
                "upper": (b + 1) / n_bins,
                "n": n,
                "confidence": round(float(confidence[mask].mean()), 4) if n else None,
                "accuracy": round(float(correct[mask].mean()), 4) if n else None,
            }
        )
    return out


def _bins_from_predictions(
    predictions: Sequence[Mapping[str, Any]], labels: Sequence[str]
) -> list[dict[str, Any]] | None:
    rows = [p for p in predictions if p.get("probabilities") and p.get("true") in labels]
    if not rows:
        return None
    proba = np.array([[float(p["probabilities"].get(lab, 0.0)) for lab in labels] for p in rows])
    y_true = [list(labels).index(p["true"]) for p in rows]
    return reliability_bins(proba, y_true)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{float(value):.{digits}f}"


def _headline(metrics: Mapping[str, Any]) -> str:
    ci = metrics.get("ci95") or {}
    cards = []
    for key, name in (
        ("ua", "UA (balanced accuracy)"),
        ("wa", "WA (accuracy)"),
        ("macro_f1", "macro-F1"),
        ("weighted_f1", "weighted-F1"),
        ("ece", "ECE"),
    ):
        if key not in metrics:
            continue
        interval = ci.get(key)
        small = (
            f"95% CI [{_fmt(interval[0])}, {_fmt(interval[1])}]"
            if interval and interval[0] is not None
            else ""
        )
        cards.append(
            f'<div class="card"><div class="small">{esc(name)}</div>'
            f'<div class="big">{_fmt(metrics[key])}</div><div class="small">{esc(small)}</div>'
            "</div>"
        )
    cards.append(
        f'<div class="card"><div class="small">utterances</div><div class="big">'
        f'{esc(metrics.get("n", "-"))}</div><div class="small">errors '
        f"{esc(metrics.get('errors', 0))}</div></div>"
    )
    return '<div class="cards">' + "".join(cards) + "</div>"


def confusion_table(confusion: Mapping[str, Any]) -> str:
    """Return the confusion matrix as an HTML table, cells shaded by row share (recall)."""
    labels = list(confusion.get("labels") or [])
    matrix = np.asarray(confusion.get("matrix") or [], dtype=np.float64)
    if not labels or matrix.shape != (len(labels), len(labels)):
        return "<p>No confusion matrix.</p>"
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    head = "".join(f'<th class="num">{esc(lab)}</th>' for lab in labels)
    html = ['<table class="confusion"><tr><th>true \\ predicted</th>' + head + "</tr>"]
    for i, lab in enumerate(labels):
        cells = []
        for j in range(len(labels)):
            alpha = 0.08 + 0.8 * share[i, j]
            hue = "59,111,209" if i == j else "209,52,59"
            ink = "#fff" if share[i, j] > 0.55 else "#1d232b"
            cells.append(
                f'<td class="num cm-cell" style="background:rgba({hue},{alpha:.2f});color:{ink}" '
                f'title="{esc(lab)} -> {esc(labels[j])}: {share[i, j]:.0%} of row">'
                f"{int(matrix[i, j])}</td>"
            )
        html.append(f"<tr><th>{esc(lab)}</th>{''.join(cells)}</tr>")
    html.append("</table>")
    return "".join(html)


def per_class_svg(per_class: Mapping[str, Mapping[str, Any]]) -> str:
    """Return grouped bars of precision, recall and F1 per class as inline SVG."""
    labels = list(per_class)
    if not labels:
        return "<p>No per-class figures.</p>"
    group = 78
    width = 60 + group * len(labels)
    height = 220
    series = (("precision", "#9aa5b1"), ("recall", "#3b6fd1"), ("f1", "#1d232b"))
    parts = [f'<svg id="per-class" viewBox="0 0 {width} {height}" width="{width}" role="img">']
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = 180 - 160 * v
        parts.append(
            f'<line x1="40" x2="{width - 10}" y1="{y}" y2="{y}" stroke="#e3e6ea"/>'
            f'<text x="34" y="{y + 4}" text-anchor="end">{v:.2f}</text>'
        )
    for i, lab in enumerate(labels):
        x0 = 48 + group * i
        for k, (key, fill) in enumerate(series):
            value = float(per_class[lab].get(key) or 0.0)
            parts.append(
                f'<rect class="pc-bar" x="{x0 + 20 * k}" y="{180 - 160 * value:.1f}" width="18" '
                f'height="{160 * value:.1f}" fill="{fill}"><title>{esc(lab)} {key} '
                f"{value:.3f}</title></rect>"
            )
        support = per_class[lab].get("support", "")
        parts.append(
            f'<text x="{x0 + 29}" y="196" text-anchor="middle" fill="{colour(lab)}">'
            f'{esc(lab)}</text><text x="{x0 + 29}" y="210" text-anchor="middle">n={support}</text>'
        )
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{c}"></i>{k}</span>' for k, c in series)
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def calibration_svg(bins: Sequence[Mapping[str, Any]] | None, ece: float | None = None) -> str:
    """Return a reliability diagram (accuracy against confidence per bin) as inline SVG."""
    if not bins:
        return (
            f"<p>ECE {_fmt(ece)}. No per-bin figures were stored for this run, so the "
            "diagram cannot be drawn.</p>"
        )
    size, pad = 260, 36
    total = sum(int(b.get("n") or 0) for b in bins) or 1

    def sx(v: float) -> float:
        return pad + size * v

    def sy(v: float) -> float:
        return pad + size * (1 - v)

    parts = [
        f'<svg id="calibration" viewBox="0 0 {size + 2 * pad} {size + 2 * pad}" '
        f'width="{size + 2 * pad}" role="img">',
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="#f6f7f9"/>',
        f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#999" '
        'stroke-dasharray="4,3"/>',
    ]
    for b in bins:
        if not b.get("n") or b.get("accuracy") is None:
            continue
        lo, hi = float(b["lower"]), float(b["upper"])
        acc = float(b["accuracy"])
        parts.append(
            f'<rect class="cal-bin" x="{sx(lo) + 1:.1f}" y="{sy(acc):.1f}" '
            f'width="{size * (hi - lo) - 2:.1f}" height="{size * acc:.1f}" fill="#3b6fd1" '
            f'fill-opacity="{0.35 + 0.65 * int(b["n"]) / total:.2f}"><title>confidence '
            f"{lo:.1f}-{hi:.1f}: accuracy {acc:.2f}, n={b['n']}</title></rect>"
        )
        if b.get("confidence") is not None:
            parts.append(
                f'<circle cx="{sx(float(b["confidence"])):.1f}" cy="{sy(acc):.1f}" r="3" '
                'fill="#d1343b"/>'
            )
    for v in (0, 0.5, 1):
        parts.append(
            f'<text x="{sx(v)}" y="{pad + size + 14}" text-anchor="middle">{v}</text>'
            f'<text x="{pad - 6}" y="{sy(v) + 4}" text-anchor="end">{v}</text>'
        )
    parts.append(
        f'<text x="{pad + size / 2}" y="{pad + size + 30}" text-anchor="middle">confidence</text>'
        f'<text x="12" y="{pad + size / 2}" transform="rotate(-90 12 {pad + size / 2})" '
        'text-anchor="middle">accuracy</text></svg>'
    )
    return "".join(parts) + f"<p>ECE {_fmt(ece)}; the dashed line is perfect calibration.</p>"


def fairness_tables(fairness: Mapping[str, Any] | None) -> str:
    """Return one table per audited attribute (UA, WA, n per group) and the largest gaps."""
    if not fairness:
        return "<p>No fairness audit in this run.</p>"
    html = []
    gaps = fairness.get("largest_gap") or {}
    for key, groups in fairness.items():
        if not key.startswith("by_") or not groups:
            continue
        attribute = key[3:]
        gap = gaps.get(attribute)
        html.append(f"<h3>by {esc(attribute)}</h3>")
        if gap:
            html.append(
                f"<p>largest UA gap {_fmt(gap['gap'])}: {esc(gap['best'])} (best) vs "
                f"{esc(gap['worst'])} (worst)</p>"
            )
        html.append(
            "<table class='fairness'><tr><th>group</th><th class='num'>UA</th>"
            "<th class='num'>WA</th><th class='num'>n</th><th></th></tr>"
        )
        for name, row in groups.items():
            ua = float(row.get("ua") or 0.0)
            html.append(
                f"<tr><td>{esc(name)}</td><td class='num'>{_fmt(row.get('ua'))}</td>"
                f"<td class='num'>{_fmt(row.get('wa'))}</td><td class='num'>{esc(row.get('n'))}"
                f'</td><td><span class="bar" style="width:{160 * ua:.0f}px;background:#3b6fd1">'
                "</span></td></tr>"
            )
        html.append("</table>")
    small = fairness.get("min_group_size")
    if small:
        html.append(
            f"<p class='meta'>Groups under {esc(small)} utterances are listed but left "
            "out of the largest gap.</p>"
        )
    return "".join(html) or "<p>No fairness audit in this run.</p>"


def render_evaluation_report(
    metrics: Mapping[str, Any],
    *,
    predictions: Sequence[Mapping[str, Any]] | None = None,
    title: str = "Evaluation report",
    run: Mapping[str, Any] | None = None,
) -> str:
    """Return the evaluation report of one run as one HTML string.

    Args:
        metrics: The run's metrics (as ``emoscope evaluate`` stores them).
        predictions: The run's predictions, for the calibration diagram when ``metrics`` has no
            ``calibration`` bins.
        title: The page title.
        run: Optional run details (model, corpus, split...) shown as a list.
    """
    labels = list((metrics.get("confusion") or {}).get("labels") or metrics.get("labels") or [])
    bins = (metrics.get("calibration") or {}).get("bins")
    if bins is None and predictions:
        bins = _bins_from_predictions(predictions, labels)
    details = ""
    if run:
        details = (
            "<dl>"
            + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in run.items())
            + "</dl>"
        )
    cannot = metrics.get("labels_model_cannot_output") or []
    warning = (
        f'<p class="warn">The model cannot output: {esc(", ".join(cannot))}; its recall for '
        "these is 0 by construction.</p>"
        if cannot
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{CSP_META}
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><main>
<h1>{esc(title)}</h1>{details}
{_headline(metrics)}{warning}
<h2>Confusion matrix</h2>
<p class="meta">Rows are the true labels, columns the predictions; shading is the share of the
row (blue on the diagonal: correct).</p>
{confusion_table(metrics.get("confusion") or {})}
<h2>Per class</h2>{per_class_svg(metrics.get("per_class") or {})}
<h2>Calibration</h2>{calibration_svg(bins, metrics.get("ece"))}
<h2>Fairness</h2>{fairness_tables(metrics.get("fairness"))}
</main></body></html>
"""


def _run_details(metrics: Mapping[str, Any]) -> dict[str, Any]:
    model = metrics.get("model") or {}
    if isinstance(model, Mapping) and "folds" in model:
        name = f"{len(model['folds'])} fitted folds"
    elif isinstance(model, Mapping):
        name = " ".join(str(model.get(k)) for k in ("name", "version") if model.get(k))
    else:
        name = str(model)
    details = {
        "model": name or "-",
        "manifest": (metrics.get("manifest") or {}).get("path", "-"),
        "created": metrics.get("created", "-"),
        "emoscope": metrics.get("emoscope_version", "-"),
    }
    for i, warning in enumerate(metrics.get("warnings") or [], start=1):
        details[f"warning {i}"] = warning
    return details


def write_run_report(run_dir: Path, *, out: Path | None = None) -> Path:
    """Render the evaluation report of an ``emoscope evaluate`` run folder.

    Reads ``RUN_DIR/metrics.json`` and, for the calibration diagram, ``predictions.jsonl``.

    Args:
        run_dir: The run folder.
        out: Where to write (default ``RUN_DIR/report.html``).

    Returns:
        The path written.

    Raises:
        UsageError: If the folder has no ``metrics.json`` (the run is not finished).
    """
    from emoscope.errors import UsageError

    run_dir = Path(run_dir)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise UsageError(
            f"{run_dir}: no metrics.json. Finish the run with `emoscope evaluate` first."
        )
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    predictions = []
    predictions_path = run_dir / "predictions.jsonl"
    if predictions_path.is_file():
        with open(predictions_path, encoding="utf-8") as fh:
            predictions = [json.loads(line) for line in fh if line.strip()]
    html = render_evaluation_report(
        metrics,
        predictions=predictions,
        title=f"Evaluation report - {run_dir.name}",
        run=_run_details(metrics),
    )
    target = Path(out) if out is not None else run_dir / "report.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target
