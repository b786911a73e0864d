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


def export_suffixes(formats: list[str]) -> dict[str, str]:
    """Return each export format's file suffix, checking the names first.

    Raises:
        UsageError: If a format is unknown (lists the known ones).
    """
    if not formats:
        return {}
    from emoscope.export import available_formats, get_exporter

    known = available_formats()
    unknown = [f for f in formats if f not in known]
    if unknown:
        raise UsageError(
            f"--export: unknown format(s) {', '.join(unknown)}. Known formats: {', '.join(known)}."
        )
    return {f: get_exporter(f).suffix for f in dict.fromkeys(formats)}


@app.command("analyze")
def analyze_command(
    paths: list[Path] = typer.Argument(..., help="Recordings to analyse (wav, flac, mp3, ...)."),
    out_dir: Path = typer.Option(Path("emoscope-out"), "-o", "--out-dir", help="Output folder."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Redo inputs whose output exists (default: skip them, resume)."
    ),
    model: str = typer.Option(
        "default",
        "--model",
        help="Emotion model: a registered name (`emoscope models`) or a model folder; "
        "'none' for no predictions.",
    ),
    asr_model: str = typer.Option(
        None,
        "--asr-model",
        help="faster-whisper model name or CTranslate2 folder (default: bundled tiny.en).",
    ),
    language: str = typer.Option(
        None, "--language", help="Language code for a multilingual ASR model (default: detect)."
    ),
    transcript: Path = typer.Option(
        None,
        "--transcript",
        help="Your transcript (.txt aligned to the audio; .srt/.vtt/.json timed): used and "
        "checked against what is heard (one input only).",
    ),
    speakers: str = typer.Option(
        None, "--speakers", help="Tell speakers apart: a count N or 'auto' (default: off)."
    ),
    min_segment: float = typer.Option(
        1.0, "--min-segment", help="Seconds; shorter segments are flagged too_short."
    ),
    max_segment: float = typer.Option(
        15.0, "--max-segment", help="Seconds; longer speech is cut at its longest pause."
    ),
    export: list[str] = typer.Option(
        [], "--export", help="Also write this format (repeatable): csv, emotionml, fhir, html..."
    ),
    redact: bool = typer.Option(
        False, "--redact", help="Replace names and other identifiers in transcripts."
    ),
    no_transcript: bool = typer.Option(
        False, "--no-transcript", help="Leave transcripts and words out of every output."
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Explain each prediction (modalities, time, words, acoustic cues); slower.",
    ),
    speaker_adapt: bool = typer.Option(
        True,
        "--speaker-adapt/--no-speaker-adapt",
        help="Make the audio predictions relative to each speaker's own voice over the "
        "recording (per --speakers / transcript speaker, else the whole recording), where the "
        "model offers it; off: absolute predictions, comparable across sessions.",
    ),
) -> None:
    """Analyse recordings: write OUT_DIR/<input stem>.json for each (emoscope.prediction/1)."""
    from emoscope.pipeline import AnalyzeConfig, analyze, prepare
    from emoscope.schema import write_document

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out-dir {out_dir} exists and is not a folder. Give a folder path.")
    if transcript is not None and len(paths) > 1:
        raise UsageError(
            f"--transcript belongs to one recording, but {len(paths)} were given. "
            "Analyse that recording on its own."
        )
    suffixes = export_suffixes(export)
    config = AnalyzeConfig(
        model=None if model.lower() == "none" else model,
        asr_model=asr_model,
        language=language,
        transcript=str(transcript) if transcript else None,
        speakers=speakers,
        min_segment_s=min_segment,
        max_segment_s=max_segment,
        redact=redact,
        no_transcript=no_transcript,
        explain=explain,
        speaker_adapt=speaker_adapt,
    )
    with console_err.status("loading models"):
        notes = prepare(config)
    for note in notes:
        console_err.print(f"emoscope: note: {note}", markup=False, highlight=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    errors_path = out_dir / "errors.jsonl"
    with Progress(
        TextColumn("[bold]analyze[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(paths))
        inner = progress.add_task("", total=1.0, visible=False)

        def on_progress(stage: str, done: float, total: float) -> None:
            progress.update(
                inner,
                completed=done / total if total else 1.0,
                description=f"  {stage} {done:.0f}/{total:.0f} s",
                visible=True,
            )

        for path, name in zip(paths, output_names(paths), strict=True):
            target = out_dir / f"{name}.json"
            progress.update(task, description=path.name)
            if target.exists() and not overwrite:
                progress.advance(task)
                continue
            try:
                progress.reset(inner, total=1.0, visible=False)
                doc = analyze(path, config, progress=on_progress)
                write_document(doc, target)
                for fmt, suffix in suffixes.items():
                    from emoscope.export import write_export

                    if out_dir / f"{name}{suffix}" != target:  # json: the document itself
                        write_export(doc, fmt, out_dir / f"{name}{suffix}")
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
