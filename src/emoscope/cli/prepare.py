"""``emoscope prepare CORPUS CORPUS_DIR -o MANIFEST``: turn a corpus folder into a manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from emoscope.cli.app import app, console, console_err
from emoscope.errors import UsageError


def parse_options(items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` recipe options; values are JSON when they parse, else text.

    Examples:
        >>> parse_options(["setup=4class", "merge_excited=true", "context_turns=2"])
        {'setup': '4class', 'merge_excited': True, 'context_turns': 2}
    """
    options: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option takes KEY=VALUE (e.g. setup=4class). Got {item!r}.")
        try:
            options[key.strip()] = json.loads(value)
        except ValueError:
            options[key.strip()] = value
    return options


def parse_folds(value: str | None) -> dict[str, Any] | None:
    """Parse ``--folds``: ``loso``, ``session`` or a number of speaker-grouped folds.

    Examples:
        >>> parse_folds("5"), parse_folds("loso")
        ({'scheme': 'kfold', 'k': 5}, {'scheme': 'loso'})
    """
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("loso", "session"):
        return {"scheme": v}
    if v.isdigit() and int(v) >= 2:
        return {"scheme": "kfold", "k": int(v)}
    raise UsageError(f"--folds must be loso, session or a number of folds >= 2. Got {value!r}.")


def _list_recipes() -> None:
    from rich.table import Table

    from emoscope.data.recipes import available_recipes, get_recipe

    table = Table(title="Corpus recipes")
    table.add_column("name", style="bold")
    table.add_column("corpus")
    table.add_column("options")
    for name in available_recipes():
        r = get_recipe(name)
        table.add_row(name, r.description, ", ".join(f"{k}={v!r}" for k, v in r.options().items()))
    console.print(table)


@app.command("prepare")
def prepare_command(
    corpus: str = typer.Argument(None, help="Recipe name (see --list), e.g. ravdess, meld."),
    corpus_dir: Path = typer.Argument(None, help="The corpus folder as distributed."),
    output: Path = typer.Option(
        None, "-o", "--output", help="Manifest to write: .jsonl (default format) or .csv."
    ),
    folds: str = typer.Option(
        None, "--folds", help="Write speaker-independent folds: loso, session, or K (e.g. 5)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed for K folds."),
    keep_calm: bool = typer.Option(
        False,
        "--keep-calm",
        help="RAVDESS: keep calm apart (no canonical label) instead of neutral.",
    ),
    option: list[str] = typer.Option(
        [], "--option", "-O", help="Recipe option KEY=VALUE (repeatable), e.g. -O setup=4class."
    ),
    durations: bool = typer.Option(
        True, "--durations/--no-durations", help="Read each file's duration from its header."
    ),
    list_: bool = typer.Option(False, "--list", help="List the recipes and their options."),
) -> None:
    """Parse a corpus in its authors' layout into one manifest (JSONL or CSV)."""
    if list_:
        _list_recipes()
        return
    if corpus is None or corpus_dir is None or output is None:
        raise UsageError(
            "Give CORPUS, CORPUS_DIR and -o MANIFEST, e.g. "
            "`emoscope prepare ravdess ~/corpora/ravdess -o ravdess.jsonl` (--list for recipes)."
        )
    from rich.progress import BarColumn, Progress, TextColumn

    from emoscope.data.recipes import get_recipe, prepare
    from emoscope.data.splits import assign_folds
    from emoscope.data.stats import add_durations

    fold_spec = parse_folds(folds)
    options = parse_options(option)
    if keep_calm:
        if "calm_as_neutral" not in get_recipe(corpus).options():
            raise UsageError(f"--keep-calm applies to RAVDESS only; {corpus!r} has no calm label.")
        options["calm_as_neutral"] = False
    with console_err.status(f"Reading {corpus} in {corpus_dir} ..."):
        manifest = prepare(corpus, corpus_dir, **options)
    if durations and any(u.audio for u in manifest):
        with Progress(
            TextColumn("[bold]durations[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console_err,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=len(manifest))
            manifest, problems = add_durations(
                manifest, on_progress=lambda _u: progress.advance(task)
            )
        for message in problems[:10]:
            console_err.print(f"[yellow]warning:[/] {message}", soft_wrap=True)
        if len(problems) > 10:
            console_err.print(f"[yellow]warning:[/] ... and {len(problems) - 10} more unreadable")
    if fold_spec is not None:
        manifest = assign_folds(manifest, seed=seed, **fold_spec)
    manifest.save(output)
    unmapped = sum(manifest.unmapped_counts().values())
    fold_note = f", {len(manifest.folds())} folds" if fold_spec else ""
    console.print(
        f"Wrote {output}: {len(manifest)} utterances, {len(manifest.speakers())} speakers"
        f"{fold_note}; {unmapped} without a canonical label.",
        soft_wrap=True,
    )
