"""``emoscope compare RUN_DIR...``: runs side by side on their shared utterances."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console, console_err
from emoscope.errors import UsageError

FORMATS = ("table", "markdown", "csv", "json")


@app.command("compare")
def compare_command(
    run_dirs: list[Path] = typer.Argument(..., help="Run folders of `emoscope evaluate`."),
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table (terminal), markdown, csv or json."
    ),
    reference: str | None = typer.Option(
        None, "--reference", help="Run folder (or its name) the others are tested against."
    ),
    html: Path | None = typer.Option(None, "--html", help="Also write the HTML compare page."),
    resamples: int = typer.Option(1000, "--resamples", help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Compare runs on the utterances they all predicted, with paired significance tests.

    Against the reference run (the first unless --reference): a paired bootstrap of the UA
    difference (95% interval, two-sided p) and McNemar's exact test on accuracy.
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from emoscope.evaluation.compare import (
        COLUMNS,
        compare_runs,
        distinct_names,
        load_run,
        table_rows,
        to_csv,
        to_markdown,
    )

    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}. Got {fmt!r}.")
    names = distinct_names(run_dirs)
    runs = [load_run(p, name=n) for p, n in zip(run_dirs, names, strict=True)]
    ref = 0
    if reference is not None:
        matches = [
            i
            for i, (p, n) in enumerate(zip(run_dirs, names, strict=True))
            if reference in (str(p), n, p.name) or Path(reference).resolve() == p.resolve()
        ]
        if not matches:
            raise UsageError(
                f"--reference {reference!r} is none of the runs given ({', '.join(names)})."
            )
        ref = matches[0]
    comparison = compare_runs(runs, reference=ref, n_resamples=resamples, seed=seed)
    if fmt == "markdown":
        typer.echo(to_markdown(comparison), nl=False)
    elif fmt == "csv":
        typer.echo(to_csv(comparison), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(comparison, indent=2))
    else:
        table = Table(
            title=f"{comparison['shared']} shared utterances; paired tests vs "
            f"{comparison['reference']}"
        )
        for i, column in enumerate(COLUMNS):
            table.add_column(column, justify="left" if i < 2 else "right")
        for cells in table_rows(comparison):
            table.add_row(*cells)
        # a pipe gets the whole table (rich would squeeze it into 80 columns)
        out = console if console.is_terminal else Console(width=240)
        out.print(table)
    if html is not None:
        from emoscope.evaluation.html import render_compare_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_compare_html(comparison), encoding="utf-8")
        console_err.print(f"compare page written to {html}", highlight=False)
