"""analyze(recording) -> PredictionDocument: decode, then (as they land) frontend, model, explain.

Examples:
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "quiet.wav"
    >>> sf.write(p, np.zeros(16000, dtype=np.float32), 16000)
    >>> doc = analyze(p)
    >>> doc.recording.duration_s, doc.segments
    (1.0, [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emoscope import __version__
from emoscope.audio import audio_info, load_audio, sha256_file
from emoscope.types import PredictionDocument, Provenance, RecordingInfo, Summary


@dataclass(frozen=True)
class AnalyzeConfig:
    """Options of :func:`analyze` (the CLI's ``analyze`` flags)."""

    model: str | None = "default"
    extra: dict[str, Any] = field(default_factory=dict)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with a ``Z``."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def analyze(path: Path, config: AnalyzeConfig | None = None) -> PredictionDocument:
    """Analyse one recording and return its prediction document.

    Args:
        path: An audio file in any supported format.
        config: Options; defaults to :class:`AnalyzeConfig`.

    Raises:
        AudioError: If the file cannot be decoded.
    """
    config = config or AnalyzeConfig()
    path = Path(path)
    audio_info(path)
    audio = load_audio(path)
    digest = sha256_file(path)
    recording = RecordingInfo(
        id=f"rec-{digest[:12]}",
        duration_s=round(audio.duration_s, 3),
        sample_rate=audio.sample_rate,
        original_sample_rate=audio.original_sample_rate,
        channels=audio.channels,
        sha256=digest,
    )
    summary = Summary(
        n_segments=0,
        speech_s=0.0,
        notes=["Segmentation and emotion prediction are not available in this version."],
    )
    provenance = Provenance(
        emoscope_version=__version__, created=utc_now(), config={"model": config.model}
    )
    return PredictionDocument(recording=recording, summary=summary, provenance=provenance)
