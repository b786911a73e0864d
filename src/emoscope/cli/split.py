"""``emoscope split MANIFEST --folds loso|session|K -o OUT``: write speaker-independent folds."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console


@app.command("split")
def split_command(
    manifest_path: Path = typer.Argument(..., help="A manifest (.jsonl or .csv)."),
    folds: str = typer.Option(..., "--folds", help="loso, session, or K speaker-grouped folds."),
    output: Path = typer.Option(
        None, "-o", "--output", help="Where to write (default: overwrite MANIFEST)."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed for K folds."),
) -> None:
    """Assign speaker-independent folds to a manifest (checked for speaker overlap)."""
    from emoscope.cli.prepare import parse_folds
    from emoscope.data.manifest import Manifest
    from emoscope.data.splits import assign_folds, iter_folds

    manifest = Manifest.load(manifest_path)
    manifest = assign_folds(manifest, seed=seed, **parse_folds(folds))
    sizes = [len(test) for _, test in iter_folds(manifest)]
    target = manifest.save(output or manifest_path)
    console.print(
        f"Wrote {target}: {len(sizes)} folds of {min(sizes)}-{max(sizes)} utterances, "
        f"{len(manifest.speakers())} speakers, no speaker in two folds.",
        soft_wrap=True,
    )
