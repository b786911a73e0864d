"""Compare evaluation runs on the utterances they share, with paired significance tests.

Each run folder holds ``metrics.json`` and ``predictions.jsonl`` (from ``emoscope evaluate``).
The runs are compared only on the utterances that every run predicted (errors left out), so the
figures are paired. Against a reference run (the first, unless chosen):

- **paired bootstrap on UA** (Koehn, 2004): the same resampled utterance sets for both runs;
  the 95% interval of the UA difference and a two-sided p-value
  ``min(1, 2 * min(P(delta <= 0), P(delta >= 0)))`` with the +1 correction;
- **McNemar's exact test** on accuracy: the two-sided binomial test on the utterances that one
  run gets right and the other wrong (exact at every sample size, no continuity correction).

Examples:
    >>> mcnemar([True, True, False, True], [True, False, False, False])
    {'b': 2, 'c': 0, 'p_value': 0.5}
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import UsageError
from emoscope.evaluation.metrics import (
    BOOTSTRAP_RESAMPLES,
    CONFUSION_METRICS,
    bootstrap_confusions,
    bootstrap_indices,
    classification_report,
    confusion_matrix,
)
from emoscope.labels import CANONICAL_LABELS


@dataclass
class Run:
    """One evaluation run as read from its folder."""

    name: str
    path: Path
    metrics: dict[str, Any]
    predictions: dict[str, dict[str, Any]]  # id -> record, errors left out

    @property
    def model(self) -> str:
        """A short description of the run's model."""
        model = self.metrics.get("model") or {}
        if "folds" in model:
            model = model["folds"][0] if model["folds"] else {}
        spec = str(model.get("spec") or model.get("class") or "?")
        return Path(spec).name if "/" in spec else spec


def load_run(path: Path, *, name: str | None = None) -> Run:
    """Read a run folder.

    Raises:
        UsageError: If ``metrics.json`` or ``predictions.jsonl`` is missing or unreadable.
    """
    path = Path(path)
    metrics_path, preds_path = path / "metrics.json", path / "predictions.jsonl"
    for p in (metrics_path, preds_path):
        if not p.is_file():
            raise UsageError(
                f"{path} is not a finished evaluation run: {p.name} is missing. "
                f"Run `emoscope evaluate MANIFEST --model M -o {path}` first."
            )
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        predictions = {}
        for line in preds_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                if rec.get("pred") is not None:
                    predictions[rec["id"]] = rec
    except (ValueError, KeyError) as exc:
        raise UsageError(f"{path}: cannot read the run's files ({exc}).") from None
    return Run(name or path.name, path, metrics, predictions)


def distinct_names(paths: Sequence[Path]) -> list[str]:
    """Return a short distinct name per run folder (its name, or parent/name when they clash).

    Examples:
        >>> distinct_names([Path("a/run"), Path("b/run"), Path("c/x")])
        ['a/run', 'b/run', 'x']
    """
    names = [Path(p).name for p in paths]
    return [
        f"{Path(p).parent.name}/{Path(p).name}" if names.count(Path(p).name) > 1 else Path(p).name
        for p in paths
    ]


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict[str, Any]:
    """Return McNemar's exact test of two paired correctness vectors.

    ``b`` counts the items A gets right and B wrong, ``c`` the reverse; the p-value is the
    two-sided binomial test of ``b`` against ``b + c`` trials at 0.5 (1.0 when ``b + c == 0``).
    """
    from scipy.stats import binomtest

    a = np.asarray(correct_a, dtype=bool)
    b_ = np.asarray(correct_b, dtype=bool)
    b = int((a & ~b_).sum())
    c = int((~a & b_).sum())
    p = 1.0 if b + c == 0 else float(binomtest(b, b + c, 0.5).pvalue)
    return {"b": b, "c": c, "p_value": round(min(p, 1.0), 6)}


def paired_bootstrap(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    *,
    n_labels: int,
    metric: str = "ua",
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Return the paired bootstrap of ``metric(B) - metric(A)``: delta, 95% CI and p-value.

    Examples:
        >>> t = np.array([0, 1] * 50)
        >>> r = paired_bootstrap(t, t.copy(), np.zeros(100, dtype=int), n_labels=2)
        >>> r["delta"], bool(r["p_value"] < 0.01)
        (-0.5, True)
    """
    fn = CONFUSION_METRICS[metric]
    idx = bootstrap_indices(len(y_true), n_resamples=n_resamples, seed=seed)
    a = fn(bootstrap_confusions(y_true, pred_a, n_labels=n_labels, indices=idx))
    b = fn(bootstrap_confusions(y_true, pred_b, n_labels=n_labels, indices=idx))
    delta = b - a
    observed = float(
        fn(confusion_matrix(y_true, pred_b, n_labels=n_labels))
        - fn(confusion_matrix(y_true, pred_a, n_labels=n_labels))
    )
    below = float(np.count_nonzero(delta <= 0) + 1) / (n_resamples + 1)
    above = float(np.count_nonzero(delta >= 0) + 1) / (n_resamples + 1)
    low, high = np.nanquantile(delta, [0.025, 0.975])
    return {
        "metric": metric,
        "delta": round(observed, 4),
        "ci95": [round(float(low), 4), round(float(high), 4)],
        "p_value": round(min(1.0, 2 * min(below, above)), 6),
        "resamples": n_resamples,
        "seed": seed,
    }


def compare_runs(
    runs: Sequence[Run],
    *,
    reference: int = 0,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """Return the comparison of ``runs`` on their shared utterances.

    Returns:
        ``shared`` (the number of shared utterances), ``labels``, ``reference`` (its name) and
        ``runs``: per run its name, model, figures on the shared set (``ua``, ``wa``,
        ``macro_f1``, ``weighted_f1``, ``ci95``, ``per_class``, ``confusion``) and, except for
        the reference, ``vs_reference`` (``paired_bootstrap`` and ``mcnemar``).

    Raises:
        UsageError: If fewer than two runs are given, they share no utterance, or their true
            labels disagree on a shared utterance.
    """
    if len(runs) < 2:
        raise UsageError(f"compare needs at least two run folders. Got {len(runs)}.")
    if not 0 <= reference < len(runs):
        raise UsageError(f"The reference must be one of the {len(runs)} runs. Got {reference}.")
    shared_set = set(runs[0].predictions)
    for run in runs[1:]:
        shared_set &= set(run.predictions)
    shared = [i for i in runs[0].predictions if i in shared_set]
    if not shared:
        raise UsageError(
            "The runs share no predicted utterance; compare runs over the same test manifest."
        )
    for uid in shared:
        truths = {run.predictions[uid]["true"] for run in runs}
        if len(truths) > 1:
            raise UsageError(
                f"Utterance {uid!r} has different true labels in the runs ({sorted(truths)}); "
                "compare runs over the same test manifest and label mapping."
            )
    used = {runs[0].predictions[u]["true"] for u in shared}
    for run in runs:
        used |= {run.predictions[u]["pred"] for u in shared}
    labels = [lab for lab in CANONICAL_LABELS if lab in used] + sorted(used - set(CANONICAL_LABELS))
    index = {lab: i for i, lab in enumerate(labels)}
    y_true = np.array([index[runs[0].predictions[u]["true"]] for u in shared])
    preds = [np.array([index[run.predictions[u]["pred"]] for u in shared]) for run in runs]
    rows = []
    for k, (run, pred) in enumerate(zip(runs, preds, strict=True)):
        report = classification_report(
            y_true, pred, labels=labels, n_resamples=n_resamples, seed=seed
        )
        row: dict[str, Any] = {
            "name": run.name,
            "path": str(run.path),
            "model": run.model,
            "n_run": run.metrics.get("n"),
            **{m: report[m] for m in ("ua", "wa", "macro_f1", "weighted_f1")},
            "ci95": report["ci95"],
            "per_class": report["per_class"],
            "confusion": report["confusion"],
        }
        if k != reference:
            row["vs_reference"] = {
                "paired_bootstrap": paired_bootstrap(
                    y_true,
                    preds[reference],
                    pred,
                    n_labels=len(labels),
                    n_resamples=n_resamples,
                    seed=seed,
                ),
                "mcnemar": mcnemar(preds[reference] == y_true, pred == y_true),
            }
        rows.append(row)
    others = [row for row in rows if "vs_reference" in row]
    for test in ("paired_bootstrap", "mcnemar"):
        adjusted = holm([row["vs_reference"][test]["p_value"] for row in others])
        for row, p in zip(others, adjusted, strict=True):
            row["vs_reference"][test]["p_holm"] = p
    return {
        "shared": len(shared),
        "labels": labels,
        "reference": runs[reference].name,
        "runs": rows,
    }


def holm(p_values: Sequence[float]) -> list[float]:
    """Return Holm's step-down adjusted p-values (same order as given).

    Examples:
        >>> holm([0.01, 0.04, 0.03])
        [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = round(running, 6)
    return adjusted


COLUMNS = (
    "run",
    "model",
    "n",
    "UA",
    "UA 95% CI",
    "WA",
    "macro-F1",
    "wF1",
    "dUA",
    "dUA 95% CI",
    "p boot",
    "p McNemar",
)
"""Columns of the comparison table (dUA, its interval and p-values are against the reference)."""


def table_rows(comparison: dict[str, Any]) -> list[list[str]]:
    """Return the comparison as rows of strings, in :data:`COLUMNS` order."""
    out = []
    for row in comparison["runs"]:
        vs = row.get("vs_reference")
        boot = vs["paired_bootstrap"] if vs else None
        ci = row["ci95"]["ua"]
        out.append(
            [
                row["name"] + ("" if vs else " (ref)"),
                row["model"],
                str(comparison["shared"]),
                _f(row["ua"]),
                f"[{_f(ci[0])}, {_f(ci[1])}]",
                _f(row["wa"]),
                _f(row["macro_f1"]),
                _f(row["weighted_f1"]),
                "" if boot is None else f"{boot['delta']:+.3f}",
                "" if boot is None else f"[{boot['ci95'][0]:+.3f}, {boot['ci95'][1]:+.3f}]",
                "" if boot is None else _p(boot["p_value"]),
                "" if vs is None else _p(vs["mcnemar"]["p_value"]),
            ]
        )
    return out


def to_markdown(comparison: dict[str, Any]) -> str:
    """Return the comparison as a Markdown table (with a line on the shared set)."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    for cells in table_rows(comparison):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines.append(
        f"{comparison['shared']} shared utterances; paired tests against {comparison['reference']}."
    )
    return "\n".join(lines) + "\n"


def to_csv(comparison: dict[str, Any]) -> str:
    """Return the comparison as CSV (one header row, one row per run)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(table_rows(comparison))
    return buf.getvalue()


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"
