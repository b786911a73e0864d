"""Fairness audit: UA per gender, per speaker and per corpus, and the largest gap between groups.

A group's UA is the mean recall over the classes present in that group. Utterances whose group
attribute is unknown (``None``) are left out of that attribute's audit. A gap is only reported
between groups of at least ``min_n`` utterances, so that one speaker with two clips cannot make
the headline.

Examples:
    >>> rows = [
    ...     {"true": 0, "pred": 0, "gender": "female", "speaker": "a", "corpus": "x"},
    ...     {"true": 1, "pred": 1, "gender": "female", "speaker": "a", "corpus": "x"},
    ...     {"true": 0, "pred": 1, "gender": "male", "speaker": "b", "corpus": "x"},
    ...     {"true": 1, "pred": 1, "gender": "male", "speaker": "b", "corpus": "x"},
    ... ]
    >>> audit = fairness_audit(rows, n_labels=2, min_n=1)
    >>> audit["by_gender"]["female"]["ua"], audit["by_gender"]["male"]["ua"]
    (1.0, 0.5)
    >>> audit["largest_gap"]["gender"]
    {'gap': 0.5, 'best': 'female', 'worst': 'male'}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from emoscope.evaluation.metrics import confusion_matrix, unweighted_accuracy

ATTRIBUTES: tuple[str, ...] = ("gender", "speaker", "corpus")
"""The utterance attributes audited, in report order."""

MIN_GROUP_SIZE = 10
"""Groups smaller than this are reported but left out of the largest gap."""


def ua_by_group(
    rows: Iterable[Mapping[str, Any]], *, attribute: str, n_labels: int
) -> dict[str, dict[str, float | int]]:
    """Return ``{group: {"ua", "wa", "n"}}`` for one attribute (groups sorted by name).

    Args:
        rows: Mappings with integer ``true`` and ``pred`` and the attribute's value.
        attribute: The key that names the group (``gender``, ``speaker``, ``corpus``).
        n_labels: The number of labels.
    """
    groups: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for row in rows:
        value = row.get(attribute)
        if value is None:
            continue
        t, p = groups[str(value)]
        t.append(int(row["true"]))
        p.append(int(row["pred"]))
    out: dict[str, dict[str, float | int]] = {}
    for name in sorted(groups):
        t, p = groups[name]
        cm = confusion_matrix(t, p, n_labels=n_labels)
        out[name] = {
            "ua": round(unweighted_accuracy(t, p, n_labels=n_labels), 4),
            "wa": round(float(cm.trace() / max(len(t), 1)), 4),
            "n": len(t),
        }
    return out


def largest_gap(
    groups: Mapping[str, Mapping[str, float | int]], *, min_n: int = MIN_GROUP_SIZE
) -> dict[str, Any] | None:
    """Return the UA gap between the best and worst group of at least ``min_n`` utterances.

    Returns ``None`` when fewer than two groups are large enough.

    Examples:
        >>> largest_gap({"a": {"ua": 0.9, "n": 20}, "b": {"ua": 0.6, "n": 20}})
        {'gap': 0.3, 'best': 'a', 'worst': 'b'}
    """
    eligible = {k: v for k, v in groups.items() if int(v["n"]) >= min_n}
    if len(eligible) < 2:
        return None
    best = max(eligible, key=lambda k: (eligible[k]["ua"], k))
    worst = min(eligible, key=lambda k: (eligible[k]["ua"], k))
    return {
        "gap": round(float(eligible[best]["ua"]) - float(eligible[worst]["ua"]), 4),
        "best": best,
        "worst": worst,
    }


def fairness_audit(
    rows: Iterable[Mapping[str, Any]], *, n_labels: int, min_n: int = MIN_GROUP_SIZE
) -> dict[str, Any]:
    """Return ``by_gender``, ``by_speaker``, ``by_corpus`` and ``largest_gap`` per attribute.

    ``largest_gap`` maps each attribute to ``{"gap", "best", "worst"}`` (or ``None`` when fewer
    than two groups have ``min_n`` utterances), plus ``overall``: the attribute with the
    largest gap.
    """
    rows = list(rows)
    audit: dict[str, Any] = {}
    gaps: dict[str, Any] = {}
    for attribute in ATTRIBUTES:
        groups = ua_by_group(rows, attribute=attribute, n_labels=n_labels)
        audit[f"by_{attribute}"] = groups
        gaps[attribute] = largest_gap(groups, min_n=min_n)
    present = {k: v for k, v in gaps.items() if v is not None}
    overall = max(present, key=lambda k: present[k]["gap"]) if present else None
    gaps["overall"] = None if overall is None else {"attribute": overall, **present[overall]}
    audit["largest_gap"] = gaps
    audit["min_group_size"] = min_n
    return audit
