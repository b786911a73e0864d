"""``emoscope merge-adapter ADAPTER -o OUT_DIR``: fold a LoRA adapter into its base model."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console


@app.command("merge-adapter")
def merge_adapter_command(
    adapter: Path = typer.Argument(..., help="Adapter folder (OUT_DIR/<fold>/adapter)."),
    out_dir: Path = typer.Option(..., "-o", "--out-dir", help="Merged checkpoint folder."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Base checkpoint (default: the one the adapter records)."
    ),
    dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
) -> None:
    """Merge an adapter into its base model: a full checkpoint that `--model OUT_DIR` loads."""
    from emoscope.models.finetune.merge import merge_adapter

    merge_adapter(adapter, out_dir, base=model, dtype=dtype)
    console.print(f"merged checkpoint: {out_dir}", highlight=False)
