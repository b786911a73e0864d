"""``emoscope stats MANIFEST``: class balance, speakers, durations, gender balance."""

from __future__ import annotations

from pathlib import Path

import typer

from emoscope.cli.app import app, console, console_err


def _fmt_s(seconds: float) -> str:
    """Format seconds as ``1h 02m`` / ``3m 05s`` / ``4.2s``.

    Examples:
        >>> _fmt_s(3725), _fmt_s(185), _fmt_s(4.24)
        ('1h 02m', '3m 05s', '4.2s')
    """
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    return f"{seconds:.1f}s"


def _counts_table(title: str, counts: dict, total: int):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column(title.split()[0].lower())
    table.add_column("n", justify="right")
    table.add_column("%", justify="right")
    for key, n in counts.items():
        table.add_row(str(key), str(n), f"{100 * n / max(1, total):.1f}")
    return table


@app.command("stats")
def stats_command(
    manifest_path: Path = typer.Argument(..., help="A manifest (.jsonl or .csv)."),
    durations: bool = typer.Option(
        False, "--durations", help="Read unknown durations from the audio headers (slower)."
    ),
) -> None:
    """Print a manifest's class balance, speakers, durations and gender balance."""
    from rich.table import Table

    from emoscope.data.manifest import Manifest
    from emoscope.data.stats import add_durations, manifest_stats

    manifest = Manifest.load(manifest_path)
    if durations:
        manifest, problems = add_durations(manifest)
        for message in problems[:10]:
            console_err.print(f"[yellow]warning:[/] {message}", soft_wrap=True)
    s = manifest_stats(manifest)
    overview = Table(title=f"{manifest_path}", title_justify="left", show_header=False)
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("utterances", str(s.n_utterances))
    overview.add_row("corpora", ", ".join(f"{k} ({v})" for k, v in s.corpora.items()))
    overview.add_row("speakers", str(s.n_speakers))
    if s.per_speaker:
        lo, med, hi = s.per_speaker
        overview.add_row("per speaker", f"min {lo}, median {med:g}, max {hi}")
    overview.add_row("with audio / text", f"{s.with_audio} / {s.with_text}")
    if s.duration_range:
        lo, mean, hi = s.duration_range
        overview.add_row(
            "duration",
            f"{_fmt_s(s.total_s)} total over {s.n_durations} utterances; "
            f"min {lo:.2f}s, mean {mean:.2f}s, max {hi:.2f}s",
        )
    else:
        overview.add_row("duration", "unknown (use --durations to read the audio headers)")
    overview.add_row(
        "gender (utterances)", ", ".join(f"{k} {v}" for k, v in s.genders.items()) or "-"
    )
    overview.add_row(
        "gender (speakers)", ", ".join(f"{k} {v}" for k, v in s.speaker_genders.items()) or "-"
    )
    if s.splits:
        overview.add_row("splits", ", ".join(f"{k} {v}" for k, v in s.splits.items()))
    if s.folds:
        overview.add_row("folds", ", ".join(f"{k}: {v}" for k, v in s.folds.items()))
    console.print(overview)
    console.print(_counts_table("Native labels", s.labels, s.n_utterances))
    console.print(_counts_table("Canonical labels", s.canonical, sum(s.canonical.values())))
    for message in s.warnings:
        console_err.print(f"[yellow]warning:[/] {message}", soft_wrap=True)
