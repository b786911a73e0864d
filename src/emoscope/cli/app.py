"""The typer application that every sub-command module adds to."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from emoscope import __version__

console = Console()
console_err = Console(stderr=True)

app = typer.Typer(
    name="emoscope",
    help=(
        "Emotion recognition in speech from sound and words. Offline by default: no network "
        "access unless --allow-download is given (anywhere on the command line)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"emoscope {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    """Emotion recognition in speech from sound and words. Offline by default."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
