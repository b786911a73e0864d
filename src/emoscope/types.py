"""The few types every stage takes and returns.

- :class:`Utterance`: one stretch of speech (a corpus file, or a segment of a recording) with its
  metadata; what models predict on.
- :class:`PredictionDocument` and its parts: the standardized prediction ``emoscope.prediction/1``
  (one JSON document per recording). Its JSON Schema ships in the package
  (:mod:`emoscope.schema`); exports (EmotionML, FHIR, CSV, HTML) are views of this document.

Examples:
    >>> u = Utterance(id="u1", transcript="hello there", speaker="spk-1")
    >>> u.with_(label="happy").label
    'happy'
    >>> seg = Segment(id="seg-0001", start=0.0, end=1.5)
    >>> seg.duration
    1.5
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from emoscope.labels import check_probabilities

SCHEMA_ID = "emoscope.prediction/1"
"""The value of the ``schema`` field of every prediction document."""

SEGMENT_FLAGS: tuple[str, ...] = (
    "too_short",  # shorter than the model's reliable minimum
    "low_confidence",  # top probability below the configured threshold
    "mismatch",  # given transcript and heard audio disagree (requirement 2)
    "clipped",  # a noticeable share of samples at full scale
    "low_speech",  # little voiced speech in the segment
    "quiet",  # very low loudness
    "no_transcript",  # no words (none heard or --no-transcript)
    "text_only",  # predicted from text alone
    "audio_only",  # predicted from audio alone
    "error",  # the model failed on this segment; see summary.notes
)
"""The closed set of segment flags."""

Flag = Literal[
    "too_short",
    "low_confidence",
    "mismatch",
    "clipped",
    "low_speech",
    "quiet",
    "no_transcript",
    "text_only",
    "audio_only",
    "error",
]

TIME_TOLERANCE_S = 0.05
"""How far a segment may end past the recording's duration (decoder rounding)."""


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech and what is known about it.

    Audio comes either from ``audio`` (a file path, optionally cut at ``start``/``end`` seconds)
    or from ``waveform`` (16 kHz mono float32 already in memory, as the analyze pipeline has it).
    ``label`` is the corpus-native label; ``canonical`` its canonical label (or ``None`` when the
    native label has no canonical counterpart).

    Examples:
        >>> Utterance(id="x", transcript="hi").has_audio
        False
    """

    id: str
    audio: str | None = None
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    gender: str | None = None
    session: str | None = None
    transcript: str | None = None
    context: tuple[str, ...] = ()
    label: str | None = None
    canonical: str | None = None
    corpus: str | None = None
    split: str | None = None
    fold: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    waveform: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def has_audio(self) -> bool:
        """Whether audio is available (a path or a waveform)."""
        return self.audio is not None or self.waveform is not None

    @property
    def has_text(self) -> bool:
        """Whether a non-empty transcript is available."""
        return bool(self.transcript and self.transcript.strip())

    def with_(self, **changes: Any) -> Utterance:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def load_audio(self, *, sample_rate: int = 16000) -> np.ndarray:
        """Return the utterance's audio as mono float32 at ``sample_rate``.

        Raises:
            AudioError: If there is no audio or the file cannot be decoded.
        """
        from emoscope.audio import load_audio, resample
        from emoscope.errors import AudioError

        if self.waveform is not None:
            wav = np.asarray(self.waveform, dtype=np.float32)
            return wav if sample_rate == 16000 else resample(wav, 16000, sample_rate)
        if self.audio is None:
            raise AudioError(
                f"Utterance {self.id!r} has no audio (neither a path nor a waveform). "
                "Use a text-only model or give the audio path."
            )
        return load_audio(
            Path(self.audio), sample_rate=sample_rate, start=self.start, end=self.end
        ).samples

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready fields (the waveform is never serialised)."""
        d = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "waveform"
        }
        d["context"] = list(self.context)
        d["extra"] = dict(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Utterance:
        """Build an utterance from :meth:`to_dict` output; unknown keys go into ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)} - {"waveform"}
        known = {k: v for k, v in data.items() if k in names}
        extra = dict(known.pop("extra", None) or {})
        extra.update({k: v for k, v in data.items() if k not in names})
        if "context" in known:
            known["context"] = tuple(known["context"] or ())
        return cls(**known, extra=extra)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Word(_Model):
    """A word with its time span and the recogniser's probability."""

    word: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    probability: float | None = Field(default=None, ge=0, le=1)


class EmotionScores(_Model):
    """A label, its confidence and the distribution over the model's closed label set."""

    label: str
    confidence: float = Field(ge=0, le=1)
    probabilities: dict[str, float]

    @model_validator(mode="after")
    def _check(self) -> EmotionScores:
        check_probabilities(self.probabilities)
        if self.label not in self.probabilities:
            raise ValueError(f"label {self.label!r} is not among the probabilities' labels")
        return self

    @classmethod
    def from_probabilities(cls, probabilities: Mapping[str, float]) -> EmotionScores:
        """Build scores whose label is the most probable one.

        Examples:
            >>> EmotionScores.from_probabilities({"sad": 0.2, "happy": 0.8}).label
            'happy'
        """
        probs = {k: float(v) for k, v in probabilities.items()}
        label = max(probs, key=probs.__getitem__)
        return cls(label=label, confidence=min(1.0, probs[label]), probabilities=probs)


class Dimensions(_Model):
    """Dimensional affect in [-1, 1] (valence, arousal) and [-1, 1] (dominance)."""

    valence: float | None = Field(default=None, ge=-1, le=1)
    arousal: float | None = Field(default=None, ge=-1, le=1)
    dominance: float | None = Field(default=None, ge=-1, le=1)


class Quality(_Model):
    """Signal and alignment quality figures of one segment."""

    speech_ratio: float | None = Field(default=None, ge=0, le=1)
    asr_confidence: float | None = Field(default=None, ge=0, le=1)
    alignment: Literal["ok", "mismatch", "unchecked", "asr_only", "none"] = "unchecked"
    wer: float | None = Field(default=None, ge=0)
    speech_rate_wps: float | None = Field(default=None, ge=0)
    clipping_ratio: float | None = Field(default=None, ge=0, le=1)
    loudness_dbfs: float | None = None


class Segment(_Model):
    """One utterance-sized stretch of a recording and what was found in it."""

    id: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    speaker: str | None = None
    transcript: str | None = None
    words: list[Word] = Field(default_factory=list)
    emotion: EmotionScores | None = None
    modalities: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per-modality probabilities, e.g. {'audio': {...}, 'text': {...}}.",
    )
    dimensions: Dimensions | None = None
    quality: Quality = Field(default_factory=Quality)
    flags: list[Flag] = Field(default_factory=list)
    explanation: dict[str, Any] | None = None

    @property
    def duration(self) -> float:
        """The segment's length in seconds."""
        return self.end - self.start

    @model_validator(mode="after")
    def _check(self) -> Segment:
        if not self.start < self.end:
            raise ValueError(
                f"segment {self.id!r} must start before it ends. Got {self.start} >= {self.end}."
            )
        for name, probs in self.modalities.items():
            check_probabilities(probs, where=f"segment {self.id!r} modality {name!r}")
        return self


class RecordingInfo(_Model):
    """The analysed recording: a pseudonymous id, its length and a hash of its audio."""

    id: str
    duration_s: float = Field(ge=0)
    sample_rate: int = Field(gt=0)
    original_sample_rate: int | None = Field(default=None, gt=0)
    channels: int | None = Field(default=None, gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ModelInfo(_Model):
    """The model that produced the predictions."""

    name: str
    version: str
    backend: str
    labels: list[str]
    modalities: list[str]
    prompt_id: str | None = None
    prompt_hash: str | None = None
    adapter_id: str | None = None
    card: dict[str, Any] | None = None


class Change(_Model):
    """A change of the dominant label between consecutive segments of one speaker."""

    time: float = Field(ge=0)
    speaker: str | None = None
    from_label: str
    to_label: str


class Summary(_Model):
    """Recording-level figures, derived from the segments."""

    n_segments: int = Field(ge=0)
    speech_s: float = Field(ge=0)
    distribution: dict[str, float] = Field(
        default_factory=dict, description="Duration-weighted mean of the segment probabilities."
    )
    dominant: str | None = None
    changes: list[Change] = Field(default_factory=list)
    mismatched_segments: int = Field(default=0, ge=0)
    notes: list[str] = Field(default_factory=list)


class Provenance(_Model):
    """Where the document came from."""

    emoscope_version: str
    created: str = Field(description="UTC time in ISO 8601, e.g. 2026-11-25T10:00:00Z.")
    config: dict[str, Any] = Field(default_factory=dict)
    explanation_method: str | None = None


class PredictionDocument(_Model):
    """The standardized prediction ``emoscope.prediction/1`` of one recording.

    Validation checks what the JSON Schema cannot: segments ordered and inside the recording,
    emotion probabilities over exactly the model's labels, no emotion without a model.
    """

    schema_: Literal["emoscope.prediction/1"] = Field(default=SCHEMA_ID, alias="schema")
    recording: RecordingInfo
    model: ModelInfo | None = None
    segments: list[Segment] = Field(default_factory=list)
    summary: Summary
    provenance: Provenance

    @model_validator(mode="after")
    def _check(self) -> PredictionDocument:
        duration = self.recording.duration_s
        previous = -1.0
        for seg in self.segments:
            if seg.start < previous:
                raise ValueError(f"segments must be ordered by start; {seg.id!r} starts earlier")
            previous = seg.start
            if seg.end > duration + TIME_TOLERANCE_S:
                raise ValueError(
                    f"segment {seg.id!r} ends at {seg.end} s, after the recording ({duration} s)"
                )
            if seg.emotion is not None:
                if self.model is None:
                    raise ValueError(f"segment {seg.id!r} has an emotion but the document no model")
                if set(seg.emotion.probabilities) != set(self.model.labels):
                    raise ValueError(
                        f"segment {seg.id!r} probabilities must cover exactly the model's labels "
                        f"{self.model.labels}; got {sorted(seg.emotion.probabilities)}"
                    )
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """Return the document as JSON-ready data (with the ``schema`` key)."""
        return self.model_dump(mode="json", by_alias=True)
