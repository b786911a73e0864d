"""``emoscope models``: list the registered model backends."""

from __future__ import annotations

from emoscope.cli.app import app, console


@app.command("models")
def models_command() -> None:
    """List the model backends that --model accepts (a model directory works too)."""
    from rich.table import Table

    from emoscope.models.base import available_models, get_entry

    table = Table("name", "config", "options")
    for name in available_models():
        entry = get_entry(name)
        fields = getattr(entry.config_cls, "__dataclass_fields__", {})
        table.add_row(name, entry.config_cls.__name__, ", ".join(fields) or "-")
    console.print(table)
