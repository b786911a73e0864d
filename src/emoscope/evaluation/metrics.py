"""Classification metrics for emotion recognition, with bootstrap intervals and calibration.

Conventions (the ones speech-emotion papers use):

- **UA** (unweighted accuracy) is balanced accuracy: the mean recall over the classes present in
  the reference labels. **WA** (weighted accuracy) is plain accuracy.
- **macro-F1** is the mean F1 over the classes present in the reference labels; a class that is
  only ever predicted (never true) lowers the others' recall but gets no F1 of its own.
  **weighted-F1** weights each class's F1 by its support.
- Confidence intervals are percentile bootstrap intervals over utterances (seeded, 1000
  resamples by default).
- **ECE** (expected calibration error) uses 15 equal-width confidence bins (Guo et al., 2017).

Labels are handled as integer indices into a ``labels`` tuple, which keeps the bootstrap
vectorised (one ``bincount`` for all resamples).

Examples:
    >>> labels = ("neutral", "happy", "sad")
    >>> y_true = [0, 0, 1, 2]
    >>> y_pred = [0, 1, 1, 2]
    >>> round(unweighted_accuracy(y_true, y_pred, n_labels=3), 4)  # (0.5 + 1 + 1) / 3
    0.8333
    >>> weighted_accuracy(y_true, y_pred)
    0.75
    >>> confusion_matrix(y_true, y_pred, n_labels=3).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emoscope.errors import UsageError

ECE_BINS = 15
"""Number of equal-width confidence bins of :func:`expected_calibration_error`."""

BOOTSTRAP_RESAMPLES = 1000
"""Default number of bootstrap resamples."""


def _as_index_arrays(y_true: Sequence[int], y_pred: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise UsageError(
            f"y_true and y_pred must be 1-D and of the same length. Got {t.shape} and {p.shape}."
        )
    return t, p


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], *, n_labels: int) -> np.ndarray:
    """Return the ``(n_labels, n_labels)`` count matrix: rows are true labels, columns predicted.

    Examples:
        >>> confusion_matrix([0, 1, 1], [1, 1, 0], n_labels=2).tolist()
        [[0, 1], [1, 1]]
    """
    t, p = _as_index_arrays(y_true, y_pred)
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_labels):
        raise UsageError(f"Label indices must lie in [0, {n_labels}). Got values outside.")
    return np.bincount(t * n_labels + p, minlength=n_labels * n_labels).reshape(n_labels, n_labels)


def _ua_from_confusions(cm: np.ndarray) -> np.ndarray:
    """UA of each matrix in a ``(..., K, K)`` stack (mean recall over the rows with support)."""
    support = cm.sum(axis=-1)
    diag = np.diagonal(cm, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, diag / np.maximum(support, 1), np.nan)
    return np.nanmean(recall, axis=-1)


def _wa_from_confusions(cm: np.ndarray) -> np.ndarray:
    total = cm.sum(axis=(-2, -1))
    return np.trace(cm, axis1=-2, axis2=-1) / np.maximum(total, 1)


def _f1_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(np.float64)
    denom = cm.sum(axis=-1) + cm.sum(axis=-2)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def _macro_f1_from_confusions(cm: np.ndarray) -> np.ndarray:
    support = cm.sum(axis=-1)
    f1 = np.where(support > 0, _f1_per_class(cm), np.nan)
    return np.nanmean(f1, axis=-1)


def _weighted_f1_from_confusions(cm: np.ndarray) -> np.ndarray:
    support = cm.sum(axis=-1).astype(np.float64)
    return (_f1_per_class(cm) * support).sum(axis=-1) / np.maximum(support.sum(axis=-1), 1)


CONFUSION_METRICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ua": _ua_from_confusions,
    "wa": _wa_from_confusions,
    "macro_f1": _macro_f1_from_confusions,
    "weighted_f1": _weighted_f1_from_confusions,
}
"""Metrics computed from a confusion matrix (or a stack of them), by name."""


def unweighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int], *, n_labels: int) -> float:
    """Return UA (balanced accuracy): mean recall over the classes present in ``y_true``."""
    return float(_ua_from_confusions(confusion_matrix(y_true, y_pred, n_labels=n_labels)))


def weighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Return WA (plain accuracy)."""
    t, p = _as_index_arrays(y_true, y_pred)
    return float((t == p).mean()) if t.size else float("nan")


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], *, n_labels: int) -> float:
    """Return the mean F1 over the classes present in ``y_true``.

    Examples:
        >>> round(macro_f1([0, 0, 1, 1], [0, 1, 1, 1], n_labels=2), 4)  # (2/3 + 0.8) / 2
        0.7333
    """
    return float(_macro_f1_from_confusions(confusion_matrix(y_true, y_pred, n_labels=n_labels)))


def weighted_f1(y_true: Sequence[int], y_pred: Sequence[int], *, n_labels: int) -> float:
    """Return the support-weighted mean F1."""
    return float(_weighted_f1_from_confusions(confusion_matrix(y_true, y_pred, n_labels=n_labels)))


def per_class_metrics(cm: np.ndarray, labels: Sequence[str]) -> dict[str, dict[str, float | int]]:
    """Return precision, recall, F1 and support per label from a confusion matrix.

    A precision with no predictions of the class, or a recall with no support, is 0.0 (the
    scikit-learn ``zero_division=0`` convention).

    Examples:
        >>> cm = confusion_matrix([0, 0, 1], [0, 1, 1], n_labels=2)
        >>> per_class_metrics(cm, ["a", "b"])["b"]
        {'precision': 0.5, 'recall': 1.0, 'f1': 0.6667, 'support': 1, 'predicted': 2}
    """
    cm = np.asarray(cm)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    f1 = _f1_per_class(cm)
    out: dict[str, dict[str, float | int]] = {}
    for i, label in enumerate(labels):
        out[label] = {
            "precision": round(float(tp[i] / predicted[i]) if predicted[i] else 0.0, 4),
            "recall": round(float(tp[i] / support[i]) if support[i] else 0.0, 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
    return out


def bootstrap_confusions(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    *,
    n_labels: int,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """Return a ``(n_resamples, K, K)`` stack of confusion matrices of bootstrap resamples.

    Args:
        y_true: True label indices.
        y_pred: Predicted label indices.
        n_labels: K, the number of labels.
        n_resamples: How many resamples (with replacement, of the same size).
        seed: Seed of the resampling; the same seed and data give the same stack.
        indices: Optional ``(n_resamples, n)`` resample indices to use instead of drawing them
            (the paired bootstrap uses the same indices for two systems).
    """
    t, p = _as_index_arrays(y_true, y_pred)
    n = t.size
    if indices is None:
        indices = bootstrap_indices(n, n_resamples=n_resamples, seed=seed)
    k2 = n_labels * n_labels
    codes = (t * n_labels + p)[indices] + np.arange(indices.shape[0])[:, None] * k2
    counts = np.bincount(codes.ravel(), minlength=indices.shape[0] * k2)
    return counts.reshape(indices.shape[0], n_labels, n_labels)


def bootstrap_indices(
    n: int, *, n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Return ``(n_resamples, n)`` indices drawn with replacement from ``range(n)``, seeded."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_resamples, n))


def cluster_bootstrap_confusions(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    groups: Sequence[Any],
    *,
    n_labels: int,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Return ``(n_resamples, K, K)`` confusion matrices of a bootstrap over groups (speakers).

    Each resample draws as many groups as there are, with replacement, and takes all the
    utterances of each drawn group: the intervals then account for utterances of one speaker
    not being independent. One matrix product builds every resample.

    Examples:
        >>> stack = cluster_bootstrap_confusions([0, 1, 1], [0, 1, 0], ["a", "b", "b"],
        ...                                      n_labels=2, n_resamples=4)
        >>> stack.shape, sorted({int(m.sum()) for m in stack}) <= [2, 3, 4, 6]
        ((4, 2, 2), True)
    """
    t, p = _as_index_arrays(y_true, y_pred)
    names, group_index = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    if group_index.shape != t.shape:
        raise UsageError(f"groups must have one value per item ({t.size}). Got {len(groups)}.")
    k2 = n_labels * n_labels
    per_group = np.zeros((len(names), k2), dtype=np.int64)
    np.add.at(per_group, (group_index, t * n_labels + p), 1)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_resamples, len(names)))
    weights = np.zeros((n_resamples, len(names)), dtype=np.int64)
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1)
    return (weights @ per_group).reshape(n_resamples, n_labels, n_labels)


def bootstrap_ci(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    *,
    n_labels: int,
    metrics: Sequence[str] = ("ua", "wa", "macro_f1", "weighted_f1"),
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    groups: Sequence[Any] | None = None,
) -> dict[str, list[float | None]]:
    """Return percentile bootstrap intervals ``{metric: [low, high]}``.

    Args:
        y_true: True label indices.
        y_pred: Predicted label indices.
        n_labels: The number of labels.
        metrics: Names from :data:`CONFUSION_METRICS`.
        n_resamples: Bootstrap resamples.
        seed: Seed of the resampling.
        level: Coverage of the interval.
        groups: When given (e.g. speakers), resample groups instead of items
            (:func:`cluster_bootstrap_confusions`).

    Returns:
        ``[None, None]`` per metric when there are no items.

    Examples:
        >>> ci = bootstrap_ci([0, 1] * 50, [0, 1] * 45 + [1, 0] * 5, n_labels=2, seed=1)
        >>> low, high = ci["wa"]
        >>> low < 0.9 < high
        True
    """
    unknown = sorted(set(metrics) - set(CONFUSION_METRICS))
    if unknown:
        raise UsageError(
            f"bootstrap_ci has no metric {unknown}. Known: {', '.join(CONFUSION_METRICS)}."
        )
    if len(y_true) == 0:
        return {m: [None, None] for m in metrics}
    if groups is None:
        stack = bootstrap_confusions(
            y_true, y_pred, n_labels=n_labels, n_resamples=n_resamples, seed=seed
        )
    else:
        stack = cluster_bootstrap_confusions(
            y_true, y_pred, groups, n_labels=n_labels, n_resamples=n_resamples, seed=seed
        )
    alpha = (1.0 - level) / 2.0
    out: dict[str, list[float | None]] = {}
    for name in metrics:
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # resamples without a class
            values = CONFUSION_METRICS[name](stack)
        low, high = np.nanquantile(values, [alpha, 1.0 - alpha])
        out[name] = [_round(low), _round(high)]
    return out


def expected_calibration_error(
    proba: np.ndarray, y_true: Sequence[int], *, n_bins: int = ECE_BINS
) -> float:
    """Return the expected calibration error of the top-label confidence.

    The confidences (row maxima) fall into ``n_bins`` equal-width bins over [0, 1]; ECE is the
    share-weighted mean of |accuracy - mean confidence| over the bins.

    Examples:
        >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
        >>> round(expected_calibration_error(proba, [0, 1, 0, 0]), 4)  # bins: 0.9 vs 0.5, 0.6 vs 1
        0.4
    """
    proba = np.asarray(proba, dtype=np.float64)
    t = np.asarray(y_true, dtype=np.int64)
    if proba.ndim != 2 or proba.shape[0] != t.size:
        raise UsageError(
            f"proba must be (n, K) with n = len(y_true) = {t.size}. Got shape {proba.shape}."
        )
    if t.size == 0:
        return float("nan")
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == t).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    acc_sum = np.bincount(bins, weights=correct, minlength=n_bins)
    return float(np.abs(acc_sum - conf_sum).sum() / t.size)


def classification_report(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    *,
    labels: Sequence[str],
    proba: np.ndarray | None = None,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    groups: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Return every headline figure of a run as JSON-ready data.

    Args:
        y_true: True label indices into ``labels``.
        y_pred: Predicted label indices into ``labels``.
        labels: The label names (confusion matrix order).
        proba: Optional ``(n, len(labels))`` probabilities, for the ECE.
        n_resamples: Bootstrap resamples of the 95% intervals.
        seed: Bootstrap seed.
        groups: Optional group (speaker) of each item: adds ``ci95_by_group``, intervals of a
            bootstrap over groups (``None`` values when there are fewer than two groups).

    Returns:
        ``ua``, ``wa``, ``macro_f1``, ``weighted_f1``, ``n``, ``per_class``, ``confusion``
        (``labels`` and ``matrix``), ``ci95``, ``ece`` (``None`` without ``proba``) and, with
        ``groups``, ``ci95_by_group``.

    Examples:
        >>> r = classification_report([0, 1, 1], [0, 1, 0], labels=["sad", "happy"])
        >>> r["ua"], r["wa"], r["confusion"]["matrix"]
        (0.75, 0.6667, [[1, 0], [1, 1]])
    """
    k = len(labels)
    cm = confusion_matrix(y_true, y_pred, n_labels=k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no items: figures are None
        figures = {name: fn(cm) for name, fn in CONFUSION_METRICS.items()}
    report = {
        **{name: _round(value) for name, value in figures.items()},
        "n": len(y_true),
        "per_class": per_class_metrics(cm, labels),
        "confusion": {"labels": list(labels), "matrix": cm.tolist()},
        "ci95": bootstrap_ci(y_true, y_pred, n_labels=k, n_resamples=n_resamples, seed=seed),
        "ece": None if proba is None else _round(expected_calibration_error(proba, y_true)),
    }
    if groups is not None:
        if len({str(g) for g in groups}) >= 2:
            report["ci95_by_group"] = bootstrap_ci(
                y_true, y_pred, n_labels=k, n_resamples=n_resamples, seed=seed, groups=groups
            )
        else:
            report["ci95_by_group"] = {m: [None, None] for m in report["ci95"]}
    return report


def _round(value: float | np.ndarray) -> float | None:
    v = float(value)
    return None if np.isnan(v) else round(v, 4)
