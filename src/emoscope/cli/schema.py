"""``emoscope schema``: print the JSON Schema of the prediction document."""

from __future__ import annotations

import json

import typer

from emoscope.cli.app import app


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of emoscope.prediction/1 (the analyze output)."""
    from emoscope.schema import load_schema

    typer.echo(json.dumps(load_schema(), indent=2, sort_keys=True))
