"""Cost of the exports, the reports and the explanations.

1. Render time of every export format for documents of 6 and 600 segments.
2. Explanations on the shipped demo recording (8 segments, 39 s): wall time and model calls
   per segment, with a deterministic loudness + keyword model, so the figure is the cost of the
   method (occlusion copies, eGeMAPS cues) rather than of a particular backend. With a real
   backend, multiply the model calls by its time per utterance.

Usage::

    nice .venv/bin/python benchmarks/exports_explain.py
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from emoscope.audio import load_audio
from emoscope.explain import explain_segments
from emoscope.export import available_formats, export_bytes
from emoscope.labels import CANONICAL_LABELS
from emoscope.testing.documents import sample_document
from emoscope.types import Utterance

DEMO = Path(__file__).resolve().parents[1] / "samples" / "demo.flac"
TRUTH = DEMO.with_suffix(".truth.json")


class CountingModel:
    """Loudness -> angry, a few words -> sad/happy/fearful; counts the utterances it scores."""

    labels = CANONICAL_LABELS
    modalities = frozenset({"audio", "text"})

    def __init__(self) -> None:
        self.calls = 0

    def predict_proba(self, batch):
        """Return probabilities over the canonical labels."""
        self.calls += len(batch)
        rows = []
        for u in batch:
            loud = float(np.sqrt(np.mean(u.load_audio() ** 2))) if u.has_audio else 0.0
            t = (u.transcript or "").lower()
            lg = np.zeros(len(self.labels))
            lg[0] = 1.0
            lg[1] = 2.0 * sum(w in t for w in ("wonderful", "happy", "good"))
            lg[2] = 2.0 * sum(w in t for w in ("alone", "tired", "matter"))
            lg[3] = 2.0 * sum(w in t for w in ("lying", "never", "stop")) + 10 * loud
            lg[4] = 2.0 * sum(w in t for w in ("scared", "terrible", "worries"))
            p = np.exp(lg - lg.max())
            rows.append(p / p.sum())
        return np.array(rows)


def big_document(n: int):
    doc = sample_document()
    segs = []
    for i in range(n):
        s = doc.segments[i % len(doc.segments)]
        start = 5.0 * i
        words = [w.model_copy(update={"start": start + 0.1, "end": start + 0.2}) for w in s.words]
        segs.append(
            s.model_copy(
                update={
                    "id": f"seg-{i + 1:04d}",
                    "start": start,
                    "end": start + 4.0,
                    "words": words,
                }
            )
        )
    rec = doc.recording.model_copy(update={"duration_s": 5.0 * n})
    return doc.model_copy(update={"segments": segs, "recording": rec})


def main() -> None:
    console = Console()
    table = Table(title=f"export render time ({platform.processor() or platform.machine()})")
    table.add_column("format")
    for n in (6, 600):
        table.add_column(f"{n} segments, ms", justify="right")
        table.add_column(f"{n} segments, KiB", justify="right")
    docs = {6: sample_document(), 600: big_document(600)}
    for fmt in available_formats():
        row = [fmt]
        for doc in docs.values():
            try:
                export_bytes(doc, fmt)  # warm-up (imports)
                t0 = time.perf_counter()
                data = export_bytes(doc, fmt)
                row += [f"{1000 * (time.perf_counter() - t0):.0f}", f"{len(data) / 1024:.0f}"]
            except Exception as exc:  # noqa: BLE001 - a missing optional renderer
                row += [f"n/a ({type(exc).__name__})", "-"]
        table.add_row(*row)
    console.print(table)

    import json

    wav = load_audio(DEMO).samples
    turns = json.loads(TRUTH.read_text())
    utts = [
        Utterance(
            id=f"t{i}",
            waveform=wav[int(t["start"] * 16000) : int(t["end"] * 16000)],
            transcript=t["text"],
            speaker=t["speaker"],
        )
        for i, t in enumerate(turns)
    ]
    model = CountingModel()
    t0 = time.perf_counter()
    explain_segments(model, utts, cues=False)
    occlusion_s = time.perf_counter() - t0
    calls = model.calls
    t0 = time.perf_counter()
    explain_segments(CountingModel(), utts, cues=True)
    total_s = time.perf_counter() - t0
    speech = sum(len(u.waveform) for u in utts) / 16000
    table = Table(title=f"explanations on samples/demo.flac ({len(utts)} segments, {speech:.0f} s)")
    for col in ("part", "wall s", "per segment s", "model calls / segment"):
        table.add_column(col, justify="right")
    table.add_row(
        "ablation + occlusion",
        f"{occlusion_s:.2f}",
        f"{occlusion_s / len(utts):.3f}",
        f"{calls / len(utts):.1f}",
    )
    table.add_row("with eGeMAPS cues", f"{total_s:.2f}", f"{total_s / len(utts):.3f}", "")
    console.print(table)


if __name__ == "__main__":
    main()
