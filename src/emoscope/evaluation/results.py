"""Turn a run's stored rows into ``metrics.json`` and ``predictions.jsonl`` records.

The evaluation labels are the canonical labels present in the test set or output by the model,
in canonical order; each stored probability row (over the model's own labels) is projected onto
them by name (:class:`~emoscope.evaluation.labelmap.LabelMap`) and the prediction is its argmax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from emoscope.evaluation.fairness import fairness_audit
from emoscope.evaluation.labelmap import LabelMap
from emoscope.evaluation.metrics import BOOTSTRAP_RESAMPLES, classification_report
from emoscope.evaluation.store import Row
from emoscope.labels import CANONICAL_LABELS
from emoscope.types import Utterance


def compute_metrics(
    test: Sequence[Utterance],
    rows: Sequence[Row],
    *,
    label_maps: dict[str, LabelMap],
    tasks: dict[str, str],
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the metrics document and the prediction records of a run.

    The evaluation labels are the canonical labels present in the test set or output by the
    model, in canonical order; the model's probabilities are projected onto them
    (:class:`~emoscope.evaluation.labelmap.LabelMap`).
    """
    by_id = {u.id: u for u in test}
    stored = [r for r in rows if r.id in by_id]
    ok = [r for r in stored if r.ok]
    errors = [r for r in stored if not r.ok]
    true_set = {u.canonical for u in test}
    outputs = set().union(*(m.outputs for m in label_maps.values()))
    labels = tuple(lab for lab in CANONICAL_LABELS if lab in true_set | outputs)
    index = {lab: i for i, lab in enumerate(labels)}
    proba = np.array(
        [label_maps[tasks[r.id]].project(r.probabilities or (), labels) for r in ok],
        dtype=np.float64,
    ).reshape(len(ok), len(labels))
    y_true = np.array([index[by_id[r.id].canonical] for r in ok], dtype=np.int64)  # type: ignore[index]
    y_pred = proba.argmax(axis=1) if len(ok) else np.zeros(0, dtype=np.int64)
    speakers = [by_id[r.id].speaker or f"utterance:{r.id}" for r in ok]
    report = classification_report(
        y_true,
        y_pred,
        labels=labels,
        proba=proba,
        n_resamples=n_resamples,
        seed=seed,
        groups=speakers,
    )
    fairness_rows = [
        {
            "true": int(t),
            "pred": int(p),
            "gender": by_id[r.id].gender,
            "speaker": by_id[r.id].speaker,
            "corpus": by_id[r.id].corpus,
        }
        for r, t, p in zip(ok, y_true, y_pred, strict=True)
    ]
    first = next(iter(label_maps.values()))
    metrics: dict[str, Any] = {
        "ua": report["ua"],
        "wa": report["wa"],
        "macro_f1": report["macro_f1"],
        "weighted_f1": report["weighted_f1"],
        "n": len(ok),
        "n_test": len(test),
        "pending": len(test) - len(stored),
        "errors": len(errors),
        "error_examples": [{"id": r.id, "error": r.error} for r in errors[:20]],
        "labels": list(labels),
        "labels_model_cannot_output": sorted(true_set - outputs, key=CANONICAL_LABELS.index),
        "model_labels_dropped": first.dropped,
        "per_class": report["per_class"],
        "confusion": report["confusion"],
        "ci95": report["ci95"],
        "ci95_speaker": report["ci95_by_group"],
        "bootstrap": {
            "resamples": n_resamples,
            "seed": seed,
            "method": "percentile",
            "ci95": "utterances resampled",
            "ci95_speaker": "speakers resampled with all their utterances",
        },
        "ece": report["ece"],
        "fairness": fairness_audit(fairness_rows, n_labels=len(labels)),
    }
    predictions: list[dict[str, Any]] = []
    for r, t, p, row in zip(ok, y_true, y_pred, proba, strict=True):
        predictions.append(
            {
                "id": r.id,
                "true": labels[t],
                "pred": labels[p],
                "probabilities": {
                    lab: round(float(v), 6) for lab, v in zip(labels, row, strict=True)
                },
            }
        )
    for r in errors:
        predictions.append(
            {"id": r.id, "true": by_id[r.id].canonical, "pred": None, "error": r.error}
        )
    return metrics, predictions
