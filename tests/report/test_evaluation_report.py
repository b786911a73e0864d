"""The evaluation report: confusion matrix, per-class bars, calibration, fairness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoscope.report import reliability_bins, render_evaluation_report

LABELS = ["neutral", "happy", "sad", "angry"]


@pytest.fixture(scope="module")
def run() -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    logits = rng.normal(0, 1, (200, 4))
    logits[np.arange(200), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    cm = np.zeros((4, 4), dtype=int)
    for t, p in zip(y, pred, strict=True):
        cm[t, p] += 1
    per_class = {}
    for k, lab in enumerate(LABELS):
        tp = cm[k, k]
        prec = tp / max(cm[:, k].sum(), 1)
        rec = tp / max(cm[k].sum(), 1)
        per_class[lab] = {
            "precision": prec,
            "recall": rec,
            "f1": 2 * prec * rec / max(prec + rec, 1e-9),
            "support": int(cm[k].sum()),
        }
    metrics = {
        "ua": float(np.mean([per_class[lab]["recall"] for lab in LABELS])),
        "wa": float((pred == y).mean()),
        "macro_f1": 0.5,
        "n": 200,
        "errors": 0,
        "ci95": {"ua": [0.4, 0.6]},
        "ece": 0.08,
        "per_class": per_class,
        "confusion": {"labels": LABELS, "matrix": cm.tolist()},
        "fairness": {
            "by_gender": {
                "female": {"ua": 0.62, "wa": 0.6, "n": 100},
                "male": {"ua": 0.48, "wa": 0.5, "n": 100},
            },
            "largest_gap": {"gender": {"gap": 0.14, "best": "female", "worst": "male"}},
            "min_group_size": 10,
        },
    }
    predictions = [
        {
            "id": str(i),
            "true": LABELS[t],
            "pred": LABELS[p],
            "probabilities": dict(zip(LABELS, row.tolist(), strict=True)),
        }
        for i, (t, p, row) in enumerate(zip(y, pred, proba, strict=True))
    ]
    return metrics, predictions


def test_reliability_bins_match_the_data() -> None:
    proba = np.array([[0.95, 0.05], [0.9, 0.1], [0.55, 0.45], [0.58, 0.42]])
    bins = reliability_bins(proba, [0, 1, 0, 1], n_bins=5)
    assert [b["n"] for b in bins] == [0, 0, 2, 0, 2]
    assert bins[4]["accuracy"] == 0.5 and bins[4]["confidence"] == pytest.approx(0.925)
    assert bins[2]["accuracy"] == 0.5


def test_report_in_chromium(run, tmp_path: Path, open_page) -> None:
    metrics, predictions = run
    path = tmp_path / "eval.html"
    path.write_text(render_evaluation_report(metrics, predictions=predictions, run={"model": "m"}))
    load = open_page(path)
    page = load.page
    assert page.locator("table.confusion td.cm-cell").count() == 16
    cells = page.locator("table.confusion td.cm-cell").all_inner_texts()
    assert [int(c) for c in cells] == [v for row in metrics["confusion"]["matrix"] for v in row]
    assert page.locator("svg#per-class rect.pc-bar").count() == 12
    assert page.locator("svg#calibration rect.cal-bin").count() >= 3
    assert page.locator("table.fairness tr").count() == 3
    assert "largest UA gap 0.140" in page.locator("body").inner_text()
    assert load.console_errors == [] and load.errors == []


def test_without_bins_the_calibration_section_says_so(run) -> None:
    metrics, _ = run
    html = render_evaluation_report(metrics)
    assert "cannot be drawn" in html and "ECE 0.080" in html


def test_labels_the_model_cannot_output_are_warned(run) -> None:
    metrics, _ = run
    html = render_evaluation_report({**metrics, "labels_model_cannot_output": ["disgust"]})
    assert "cannot output: disgust" in html


def test_run_folder_report(run, tmp_path: Path, open_page) -> None:
    import json

    from emoscope.errors import UsageError
    from emoscope.report import write_run_report

    metrics, predictions = run
    with pytest.raises(UsageError, match="no metrics.json"):
        write_run_report(tmp_path)
    stored = {
        **metrics,
        "model": {"name": "egemaps-logreg", "version": "1"},
        "warnings": ["speaker overlap: none"],
        "created": "2026-11-25T10:00:00Z",
    }
    (tmp_path / "metrics.json").write_text(json.dumps(stored))
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions))
    out = write_run_report(tmp_path)
    assert out == tmp_path / "report.html"
    load = open_page(out)
    text = load.page.locator("body").inner_text()
    assert "egemaps-logreg 1" in text and "speaker overlap: none" in text
    assert load.page.locator("svg#calibration rect.cal-bin").count() >= 3
    assert load.console_errors == []
