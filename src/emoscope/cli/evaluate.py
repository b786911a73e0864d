"""``emoscope evaluate MANIFEST --model NAME -o RUN_DIR``: resumable evaluation with metrics."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console, console_err
from emoscope.errors import UsageError


def parse_folds(text: str | None) -> tuple[int, ...] | None:
    """Parse ``--folds`` (``1,2,5`` or ``1-3``) into fold numbers.

    Examples:
        >>> parse_folds("1,3-5")
        (1, 3, 4, 5)
        >>> parse_folds(None) is None
        True
    """
    if text is None or not text.strip():
        return None
    folds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                folds.extend(range(lo, hi + 1))
            else:
                folds.append(int(part))
    except ValueError:
        raise UsageError(
            f"--folds must be fold numbers like '1,2' or '1-4'. Got {text!r}."
        ) from None
    return tuple(sorted(set(folds)))


@app.command("evaluate")
def evaluate_command(
    manifest: Path = typer.Argument(..., help="Test manifest (JSONL, from `emoscope prepare`)."),
    model: str = typer.Option("default", "--model", "-m", help="Model name or directory."),
    out_dir: Path = typer.Option(..., "-o", "--out-dir", help="Run folder (resumed if present)."),
    adapter: Path | None = typer.Option(None, "--adapter", help="Adapter directory (LALMs)."),
    modality: str | None = typer.Option(
        None, "--modality", help="audio, text or both (models that have the option)."
    ),
    folds: str | None = typer.Option(
        None, "--folds", help="Only these folds, e.g. '1,2' or '1-3'."
    ),
    train_manifest: Path | None = typer.Option(
        None, "--train-manifest", help="Fit a trainable model on this manifest first."
    ),
    cross_validate: bool = typer.Option(
        False,
        "--cross-validate",
        help="Fit a trainable model per fold on the other folds (speaker-independent CV).",
    ),
    speaker_adapt: bool = typer.Option(
        False,
        "--speaker-adapt",
        help="Normalise audio features per test speaker, from that speaker's own (unlabelled) "
        "utterances, before predicting (models that can, e.g. default).",
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Utterances per batch."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples for the CIs."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Discard a stored run in the folder and start again."
    ),
) -> None:
    """Evaluate a model on a manifest: RUN_DIR/metrics.json and RUN_DIR/predictions.jsonl.

    Predictions are stored as they come (RUN_DIR/run.sqlite); run the same command again to
    resume a stopped run. Unreadable utterances are recorded as errors: the run finishes, writes
    its metrics over the others, and exits with code 1.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from emoscope.evaluation.runner import EvaluateConfig, evaluate
    from emoscope.evaluation.summary import print_summary

    config = EvaluateConfig(
        manifest=manifest,
        model=model,
        adapter=adapter,
        modality=modality,
        folds=parse_folds(folds),
        train_manifest=train_manifest,
        cross_validate=cross_validate,
        speaker_adapt=speaker_adapt,
        batch_size=batch_size,
        n_resamples=resamples,
        seed=seed,
    )
    with Progress(
        TextColumn("[bold]evaluate[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console_err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def warn(message: str) -> None:
            progress.console.print(
                f"[bold red]emoscope: warning:[/] {message}", highlight=False, soft_wrap=True
            )

        def note(text: str) -> None:
            progress.update(task, description=text)

        result = evaluate(
            config, run_dir=out_dir, overwrite=overwrite, progress=update, warn=warn, status=note
        )
    print_summary(result.metrics, console=console)
    console_err.print(
        f"written: {out_dir / 'metrics.json'}, predictions.jsonl, report.html", highlight=False
    )
    if result.errors:
        console_err.print(
            f"emoscope: {result.errors} utterance(s) failed (see 'error_examples' in "
            f"{out_dir / 'metrics.json'}); metrics are over the other {result.metrics['n']}.",
            highlight=False,
        )
        raise typer.Exit(1)
