"""Print a run's headline figures and per-class table on a rich console."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ci(metrics: dict[str, Any], name: str) -> str:
    ci = metrics.get("ci95", {}).get(name)
    if not ci or ci[0] is None or ci[0] != ci[0]:
        return ""
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]"


def print_summary(metrics: dict[str, Any], *, console: Console) -> None:
    """Print UA/WA/F1 with intervals, ECE, counts, fairness gaps and the per-class table."""
    console.print(
        f"UA {_fmt(metrics['ua'])}{_ci(metrics, 'ua')}  WA {_fmt(metrics['wa'])}"
        f"{_ci(metrics, 'wa')}  macro-F1 {_fmt(metrics['macro_f1'])}{_ci(metrics, 'macro_f1')}"
        f"  weighted-F1 {_fmt(metrics['weighted_f1'])}  ECE {_fmt(metrics.get('ece'))}",
        highlight=False,
    )
    console.print(
        f"n {metrics['n']}  errors {metrics['errors']}  skipped (no canonical label) "
        f"{metrics['skipped_unmapped']}",
        highlight=False,
    )
    gaps = metrics.get("fairness", {}).get("largest_gap", {})
    parts = [
        f"{attr} {gap['gap']:.3f} ({gap['best']} vs {gap['worst']})"
        for attr, gap in gaps.items()
        if attr != "overall" and gap
    ]
    if parts:
        console.print("largest UA gap: " + "; ".join(parts), highlight=False)
    if metrics.get("labels_model_cannot_output"):
        console.print(
            "labels the model cannot output: " + ", ".join(metrics["labels_model_cannot_output"]),
            highlight=False,
        )
    table = Table(title=None, show_edge=False)
    for column in ("label", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, row in metrics["per_class"].items():
        table.add_row(
            label,
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    console.print(table)
