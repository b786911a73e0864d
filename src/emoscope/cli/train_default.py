"""``emoscope train-default``: rebuild the embedded default model's weights from the corpora.

It reads RAVDESS (audio side) and MELD (text side) from ``--data`` (a folder holding
``ravdess/`` and ``meld/``), cross-validates by actor, trains the final heads and writes
``model.safetensors``, ``config.json``, ``report.json`` and ``report.md`` to ``--out``.
Seeded: on the same machine it reproduces the shipped weights bit for bit (``--check-shipped``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from emoscope.cli.app import app, console, console_err
from emoscope.errors import UsageError


def _parse_actors(text: str | None) -> tuple[int, ...] | None:
    """Parse ``"1,2,5-8"`` into actor numbers.

    Examples:
        >>> _parse_actors("1,3-5")
        (1, 3, 4, 5)
    """
    if not text:
        return None
    out: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                lo, hi = part.split("-", 1)
                out.extend(range(int(lo), int(hi) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise UsageError(
            f"--actors must be numbers and ranges like '1,2,5-8'. Got {text!r}."
        ) from None
    return tuple(sorted(set(out)))


def report_markdown(report: dict) -> str:
    """Render the training report as a short Markdown summary."""
    lines = ["# Default model: training report", ""]
    for key, title in (
        ("ravdess_audio", "RAVDESS audio, actor-independent CV"),
        ("ravdess_audio_spk", "RAVDESS audio, per-speaker normalised, actor-independent CV"),
        ("ravdess_both_audio", "RAVDESS audio + text fusion (CV audio)"),
        ("ravdess_both_audio_spk", "RAVDESS audio (speaker-normalised) + text fusion"),
        ("meld_dev_text", "MELD dev, text (trained on MELD train)"),
    ):
        r = report.get(key)
        if not r:
            continue
        lines += [f"## {title}", "", f"n = {r['n']}", "", "| metric | value | 95 % CI |"]
        lines.append("|---|---|---|")
        for m in ("ua", "wa", "macro_f1", "weighted_f1"):
            lo, hi = r["ci95"][m]
            lines.append(f"| {m} | {r[m]:.3f} | {lo:.3f}-{hi:.3f} |")
        lines += ["", "| class | precision | recall | f1 | n |", "|---|---|---|---|---|"]
        for label, c in r["per_class"].items():
            lines.append(
                f"| {label} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} "
                f"| {c['support']} |"
            )
        if r.get("per_group"):
            lines += ["", "| group | n | UA | WA | macro-F1 |", "|---|---|---|---|---|"]
            for g, v in r["per_group"].items():
                lines.append(
                    f"| {g} | {v['n']} | {v['ua']:.3f} | {v['wa']:.3f} | {v['macro_f1']:.3f} |"
                )
        for extra in ("temperature", "ece_uncalibrated", "ece_calibrated", "nll_calibrated"):
            if extra in r:
                lines.append(f"\n{extra}: {r[extra]}")
        lines.append("")
    return "\n".join(lines) + "\n"


@app.command("train-default")
def train_default_command(
    data: Path = typer.Option(
        Path("../shared/data"),
        "--data",
        help="Folder holding ravdess/ (Actor_NN/...) and meld/ (train/dev CSVs).",
    ),
    out: Path = typer.Option(Path("default-model"), "-o", "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    actors: str = typer.Option(
        None, "--actors", help="Only these RAVDESS actors, e.g. '1-4' (default: all found)."
    ),
    meld_limit: int = typer.Option(
        None, "--meld-limit", help="Only the first N MELD train and dev utterances."
    ),
    boot: int = typer.Option(1000, "--boot", help="Bootstrap resamples for the CIs."),
    cache_dir: Path = typer.Option(
        None, "--cache-dir", help="Feature cache (default: $EMOSCOPE_CACHE or ~/.cache/emoscope)."
    ),
    check_shipped: bool = typer.Option(
        False,
        "--check-shipped",
        help="Compare the new arrays with the shipped weights; exit 1 if they differ.",
    ),
) -> None:
    """Rebuild the default model's weights from RAVDESS and MELD, with a cross-validated report."""
    import numpy as np
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from emoscope.models.default import load_weights, save_weights, shipped_weights_dir
    from emoscope.models.default_training import TrainSettings, train_default

    if not data.is_dir():
        raise UsageError(
            f"--data {data}: no such folder. Give the folder that holds ravdess/ and meld/."
        )
    if boot < 1:
        raise UsageError(f"--boot must be at least 1. Got {boot}.")
    settings = TrainSettings(
        seed=seed, actors=_parse_actors(actors), meld_limit=meld_limit, boot=boot
    )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console_err,
        transient=False,
    ) as bar:

        def progress(description: str, total: int):  # noqa: ANN202
            task = bar.add_task(description, total=total)
            return lambda n: bar.advance(task, n)

        result = train_default(data, settings=settings, cache_root=cache_dir, progress=progress)
    save_weights(out, result.arrays, result.config)
    (out / "report.json").write_text(
        json.dumps(result.report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    from emoscope.cli.train_default import report_markdown

    (out / "report.md").write_text(report_markdown(result.report), encoding="utf-8")
    summary = result.config["summary"]
    console.print(
        f"RAVDESS audio UA {summary['ravdess_audio_ua']:.3f} "
        f"(speaker-normalised {summary['ravdess_audio_spk_ua']:.3f}); "
        f"MELD dev weighted F1 {summary['meld_dev_weighted_f1']:.3f}. Wrote {out}/"
    )
    if check_shipped:
        shipped, _ = load_weights(shipped_weights_dir())
        new, _ = load_weights(out)
        same = set(shipped) == set(new) and all(np.array_equal(shipped[k], new[k]) for k in new)
        if same:
            console.print("Identical to the shipped weights (bit for bit).")
        else:
            diffs = {
                k: float(np.abs(shipped[k] - new[k]).max())
                for k in sorted(set(shipped) & set(new))
                if shipped[k].shape == new[k].shape and not np.array_equal(shipped[k], new[k])
            }
            console_err.print(
                f"Differs from the shipped weights: arrays {sorted(set(shipped) ^ set(new))} "
                f"only on one side; largest differences {diffs}."
            )
            raise typer.Exit(1)
