"""``emoscope analyze PATH... -o OUT_DIR``: one prediction document per recording."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from emoscope.cli.app import app, console_err
from emoscope.errors import EmoscopeError, UsageError


def output_names(paths: list[Path]) -> list[str]:
    """Return a distinct output stem per input (``x``, ``x-2`` when two inputs share a stem).

    Examples:
        >>> output_names([Path("a/x.wav"), Path("b/x.flac"), Path("y.mp3")])
        ['x', 'x-2', 'y']
    """
    used: dict[str, int] = {}
    names = []
    for p in paths:
        n = used.get(p.stem, 0) + 1
        used[p.stem] = n
        names.append(p.stem if n == 1 else f"{p.stem}-{n}")
    return names


@app.command("analyze")
def analyze_command(
    paths: list[Path] = typer.Argument(..., help="Recordings to analyse (wav, flac, mp3, ...)."),
    out_dir: Path = typer.Option(Path("emoscope-out"), "-o", "--out-dir", help="Output folder."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Redo inputs whose output exists (default: skip them, resume)."
    ),
) -> None:
    """Analyse recordings: write OUT_DIR/<input stem>.json for each (emoscope.prediction/1)."""
    from emoscope.pipeline import analyze
    from emoscope.schema import write_document

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir} exists and is not a folder. Give a folder path.")
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    errors_path = out_dir / "errors.jsonl"
    with Progress(
        TextColumn("[bold]analyze[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(paths))
        for path, name in zip(paths, output_names(paths), strict=True):
            target = out_dir / f"{name}.json"
            progress.update(task, description=path.name)
            if target.exists() and not overwrite:
                progress.advance(task)
                continue
            try:
                doc = analyze(path)
                write_document(doc, target)
            except EmoscopeError as exc:
                failures += 1
                console_err.print(f"emoscope: error: {exc}", markup=False, highlight=False)
                with open(errors_path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"input": str(path), "error": str(exc)}) + "\n")
            progress.advance(task)
    done = len(paths) - failures
    console_err.print(f"{done} of {len(paths)} recording(s) written to {out_dir}/", highlight=False)
    if failures:
        raise typer.Exit(1)
