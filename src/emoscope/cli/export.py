"""``emoscope export DOC.json... --to FORMAT [-o PATH]``: convert prediction documents."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console_err
from emoscope.errors import EmoscopeError, UsageError


def default_target(doc_path: Path, suffix: str) -> Path:
    """Return ``doc_path`` with ``suffix`` instead of ``.json``.

    Examples:
        >>> default_target(Path("out/talk.json"), ".emotionml.xml")
        PosixPath('out/talk.emotionml.xml')
    """
    stem = doc_path.name[: -len(".json")] if doc_path.name.endswith(".json") else doc_path.name
    return doc_path.with_name(stem + suffix)


@app.command("export")
def export_command(
    docs: list[Path] = typer.Argument(..., help="Prediction documents written by analyze."),
    to: str = typer.Option(..., "--to", "-t", help="Format: emotionml, fhir, csv, html, json."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Output file (one document) or folder. Default: beside DOC."
    ),
    redact: bool = typer.Option(
        False, "--redact", help="Replace names, numbers, dates, phones, e-mails in transcripts."
    ),
    no_transcript: bool = typer.Option(
        False, "--no-transcript", help="Keep transcripts and words out of the output."
    ),
    media: str | None = typer.Option(
        None, "--media", help="URI of the recording for EmotionML references (default: its id)."
    ),
    recorded_at: str | None = typer.Option(
        None, "--recorded-at", help="UTC start of the recording for FHIR times (ISO 8601)."
    ),
) -> None:
    """Export prediction documents as EmotionML 1.0, FHIR R4, CSV or an HTML report."""
    from emoscope.export import get_exporter, write_export
    from emoscope.privacy import apply_privacy
    from emoscope.schema import read_document

    exporter = get_exporter(to)
    many = len(docs) > 1
    if output is not None and many and output.exists() and not output.is_dir():
        raise UsageError(f"-o {output} must be a folder when exporting {len(docs)} documents.")
    options = {k: v for k, v in {"media_uri": media, "recorded_at": recorded_at}.items() if v}
    failures = 0
    for doc_path in docs:
        try:
            doc = apply_privacy(read_document(doc_path), redact=redact, no_transcript=no_transcript)
            if output is None:
                target = default_target(doc_path, exporter.suffix)
            elif many or output.is_dir() or not output.suffix:
                target = output / default_target(doc_path, exporter.suffix).name
            else:
                target = output
            written = write_export(doc, to, target, **options)
            console_err.print(f"wrote {written}", highlight=False, markup=False)
        except EmoscopeError as exc:
            if not many:
                raise
            failures += 1
            console_err.print(f"emoscope: error: {exc}", markup=False, highlight=False)
    if failures:
        raise typer.Exit(1)
