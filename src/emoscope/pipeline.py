"""analyze(recording) -> PredictionDocument: VAD, segmentation, ASR, checks, speakers, model.

The recording is read twice as a stream of 30 s chunks (:func:`emoscope.audio.iter_chunks`), so
memory does not grow with its length:

1. voice activity detection over the whole recording (one float per 32 ms), then segments:
   speech regions merged across short pauses, cut at pauses to ``min_segment_s``-``max_segment_s``
   (or the cues of a timed transcript);
2. segments grouped into <= 28 s windows; for each window in turn: speech recognition with word
   timestamps, the user's transcript aligned and checked, quality figures and flags, speaker
   embeddings, and the emotion model's predictions. Only the current window's audio is held.

Then, with the whole recording seen: speakers are clustered (``--speakers``), and with a model
that offers speaker adaptation (:class:`AdaptationSession`) the audio side of the predictions is
adapted to each speaker's own voice over the recording (:func:`adapt_predictions`), reusing the
features computed in the second pass.

Models are loaded once per process (:func:`emoscope.frontend.loaders.shared_cache`).

Examples:
    >>> import numpy as np, soundfile as sf, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "quiet.wav"
    >>> sf.write(p, np.zeros(16000, dtype=np.float32), 16000)
    >>> doc = analyze(p, AnalyzeConfig(model=None))
    >>> doc.recording.duration_s, doc.segments, doc.summary.notes[0][:15]
    (1.0, [], 'No speech found')
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emoscope import __version__
from emoscope.audio import TARGET_SAMPLE_RATE, audio_info, iter_chunks, sha256_file
from emoscope.errors import EmoscopeError, UnknownNameError, UsageError
from emoscope.frontend.asr import EncoderFrames
from emoscope.frontend.checks import CheckOptions, check_alignment
from emoscope.frontend.loaders import ModelCache, shared_cache
from emoscope.frontend.quality import QualityLimits, measure_quality, quality_flags
from emoscope.frontend.segmentation import SegmentBounds, group_windows, merge_regions
from emoscope.frontend.speakers import cluster_speakers, parse_speakers
from emoscope.frontend.transcript import GivenTranscript, TextAligner, read_transcript
from emoscope.frontend.vad import SpeechRegion
from emoscope.types import (
    SEGMENT_FLAGS,
    Change,
    EmotionScores,
    ModelInfo,
    PredictionDocument,
    Provenance,
    RecordingInfo,
    Segment,
    Summary,
    Utterance,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, float, float], None]
"""``progress(stage, done_s, total_s)``: called as the recording is processed."""

CONTEXT_TURNS = 3
"""How many preceding segment texts a model sees as context."""


@dataclass(frozen=True)
class AnalyzeConfig:
    """Options of :func:`analyze` (the CLI's ``analyze`` flags).

    Args:
        model: Emotion model name or folder; ``None`` for no predictions. ``"default"`` runs
            without predictions (and says so) while no default model is installed.
        asr_model: faster-whisper model name or CTranslate2 folder; ``None``: bundled tiny.en.
        language: Language code for a multilingual ASR model (``None``: detect).
        transcript: A transcript file (.txt, .srt, .vtt, .json) to use and check.
        speakers: ``None`` (no attribution), a count, or ``"auto"``.
        min_segment_s: Segments shorter than this are flagged ``too_short``.
        max_segment_s: Longer speech is cut at its longest pause.
        merge_gap_s: Pauses shorter than this do not end a segment.
        beam_size: ASR beam size (1: greedy, fastest).
        min_confidence: Emotion confidence below this flags ``low_confidence``.
        max_wer: Word error rate above this flags ``mismatch``.
        chunk_s: Seconds of audio decoded at a time.
        redact: Replace identifiers in transcripts (:func:`emoscope.privacy.apply_privacy`).
        explain: Explain each prediction (:mod:`emoscope.explain`: modality ablation, temporal
            and word occlusion, acoustic cues). Keeps every segment's audio until the end
            (32 KB per second of speech) and runs the model many times per segment.
        no_transcript: Leave transcripts and words out of the document.
        speaker_adapt: With a model that offers it (the default model does), make the audio
            side's predictions relative to each speaker's own voice over this recording: per
            speaker of ``speakers`` or of a timed transcript, else the whole recording as one
            voice (:func:`adapt_predictions`). ``False``: absolute predictions, comparable
            across recordings.
        extra: Free-form settings recorded in the provenance.
    """

    model: str | None = "default"
    asr_model: str | None = None
    language: str | None = None
    transcript: str | None = None
    speakers: int | str | None = None
    min_segment_s: float = 1.0
    max_segment_s: float = 15.0
    merge_gap_s: float = 0.6
    beam_size: int = 1
    min_confidence: float = 0.4
    max_wer: float = 0.6
    chunk_s: float = 30.0
    redact: bool = False
    no_transcript: bool = False
    explain: bool = False
    speaker_adapt: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the options as JSON-ready data (a transcript path only by its file name)."""
        data = dataclasses.asdict(self)
        if self.transcript is not None:
            data["transcript"] = Path(self.transcript).name
        return data


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with a ``Z``."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _AudioCursor:
    """Hands out stretches of a chunk stream in increasing time order, forgetting what is past."""

    def __init__(self, chunks: Iterator[tuple[float, np.ndarray]]) -> None:
        self._chunks = chunks
        self._buffer = np.zeros(0, dtype=np.float32)
        self._first = 0  # sample index of the buffer's first sample

    def read(self, start: float, end: float) -> np.ndarray:
        first = int(round(start * TARGET_SAMPLE_RATE))
        last = int(round(end * TARGET_SAMPLE_RATE))
        drop = min(max(0, first - self._first), len(self._buffer))
        self._buffer = self._buffer[drop:]
        self._first += drop
        while self._first + len(self._buffer) < last:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            chunk = nxt[1]
            if self._first + len(self._buffer) + len(chunk) <= first:
                self._first += len(self._buffer) + len(chunk)
                self._buffer = np.zeros(0, dtype=np.float32)
                continue
            self._buffer = np.concatenate([self._buffer, chunk])
        if first > self._first:
            self._buffer = self._buffer[first - self._first :]
            self._first = first
        return self._buffer[first - self._first : last - self._first].copy()


def _nearest(times: Sequence[float], spans: Sequence[SpeechRegion]) -> list[int]:
    """Index of the span that holds (or is nearest to) each time; infinity: the last span.

    Examples:
        >>> _nearest([0.5, 2.6, 9.0, float("inf")], [SpeechRegion(0, 1), SpeechRegion(3, 4),
        ...                                          SpeechRegion(5, 6)])
        [0, 1, 2, 2]
    """
    out = []
    for t in times:
        if t == float("inf"):  # never heard: the last segment
            out.append(len(spans) - 1)
            continue
        dist = [
            0.0 if s.start <= t < s.end else min(abs(t - s.start), abs(t - s.end)) for s in spans
        ]
        out.append(int(np.argmin(dist)))
    return out


def _ordered_flags(flags: set[str]) -> list[str]:
    return [f for f in SEGMENT_FLAGS if f in flags]


@runtime_checkable
class AdaptationSession(Protocol):
    """Speaker adaptation over one recording, as a model offers it.

    A model offers it with ``adaptation_session() -> AdaptationSession | None`` (``None``: not
    for this configuration); :class:`emoscope.models.default.AdaptationSession` is one.
    :meth:`predict` replaces ``predict_proba`` + ``predict_modalities`` in the second pass and
    keeps what it needs by utterance id, so that :meth:`adapt` and :meth:`predictions` compute
    no feature again.
    """

    min_utterances: int
    """Fewest utterances of a speaker that :meth:`adapt` adapts to."""

    def predict(self, batch: Sequence[Utterance]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Plain fused probabilities and each modality's (NaN rows where it is missing)."""
        ...

    def adapt(self, speakers: Mapping[str, str | None]) -> dict[str | None, int]:
        """Utterance id -> speaker (``None``: one unnamed voice); returns the adapted counts."""
        ...

    def predictions(self, ids: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The (adapted) fused probabilities and each modality's for predicted utterances."""
        ...

    def adapted_model(self) -> Any:
        """A model that predicts as :meth:`predictions` does (for explanations)."""
        ...


@dataclass
class _Predictor:
    """The emotion model, what the document says about it, and this recording's adaptation."""

    model: Any
    info: ModelInfo
    session: AdaptationSession | None = None

    def start_adaptation(self) -> None:
        """Open a speaker-adaptation session for one recording, if the model offers one."""
        make = getattr(self.model, "adaptation_session", None)
        session = make() if callable(make) else None
        self.session = session if isinstance(session, AdaptationSession) else None

    def predict(
        self, batch: list[Utterance]
    ) -> tuple[np.ndarray, dict[str, np.ndarray], str | None]:
        from emoscope.models.base import check_proba

        try:
            if self.session is not None:
                proba, found = self.session.predict(batch)
                proba = check_proba(self.model, proba, len(batch))
                return proba, {k: np.asarray(v, dtype=np.float64) for k, v in found.items()}, None
            proba = check_proba(self.model, self.model.predict_proba(batch), len(batch))
            modalities: dict[str, np.ndarray] = {}
            describe = getattr(self.model, "predict_modalities", None)
            if callable(describe):
                # rows of a modality a segment lacks come back as NaN (or the modality is left
                # out, for backends without the ``missing`` option) and are skipped per segment
                wants_nan = "missing" in inspect.signature(describe).parameters
                found = describe(batch, missing="nan") if wants_nan else describe(batch)
                for name, values in found.items():
                    modalities[name] = np.asarray(values, dtype=np.float64)
            return proba, modalities, None
        except Exception as exc:  # a backend failing on one window must not end the recording
            log.warning("emotion model failed: %s", exc, exc_info=True)
            return np.zeros((0, 0)), {}, f"{type(exc).__name__}: {exc}"


def _load_predictor(spec: str | None, cache: ModelCache, notes: list[str]) -> _Predictor | None:
    if spec is None:
        notes.append("Emotion prediction was switched off (no --model): segments have no labels.")
        return None
    try:
        model = cache.emotion_model(spec)
    except EmoscopeError as exc:
        if spec != "default":
            if isinstance(exc, UnknownNameError):
                raise UsageError(f"--model {spec}: {exc}") from None
            raise
        reason = (
            "it is not installed in this version"
            if isinstance(exc, UnknownNameError)
            else f"it could not be loaded ({exc})"
        )
        notes.append(
            f"No emotion predictions: the default model is not available ({reason}), so "
            "segments have no emotion labels (use --model to choose another model)."
        )
        log.info(notes[-1])
        return None
    return _Predictor(model, model_info(model, spec))


def model_info(model: Any, spec: str) -> ModelInfo:
    """Describe a loaded model for the document.

    A backend may offer ``model_info() -> ModelInfo``; otherwise the fields come from its
    ``info`` dict (``name``, ``version``, ``backend``, ``prompt_id``...), its attributes, and
    the name it was loaded by.
    """
    describe = getattr(model, "model_info", None)
    if callable(describe):
        return describe()
    info = getattr(model, "info", None)
    info = info if isinstance(info, dict) else {}
    card = info.get("card", getattr(model, "card", None))
    return ModelInfo(
        name=str(info.get("name", getattr(model, "name", spec))),
        version=str(info.get("version", getattr(model, "version", __version__))),
        backend=str(info.get("backend", type(model).__name__)),
        labels=list(model.labels),
        modalities=sorted(model.modalities),
        prompt_id=info.get("prompt_id"),
        prompt_hash=info.get("prompt_hash"),
        adapter_id=info.get("adapter_id"),
        card=card if isinstance(card, dict) else None,
    )


def _segments_of(
    transcript: GivenTranscript | None,
    activity: Any,
    bounds: SegmentBounds,
    duration: float,
    notes: list[str],
) -> tuple[list[SpeechRegion], list[str | None], list[str | None]]:
    """Return the segments, the given text of each (timed transcripts) and their speakers."""
    if transcript is not None and transcript.timed:
        spans, texts, speakers, dropped = [], [], [], 0
        for cue in transcript.cues:
            end = min(cue.end, duration)
            if end - cue.start < 0.05:
                dropped += 1
                continue
            spans.append(SpeechRegion(cue.start, end))
            texts.append(cue.text)
            speakers.append(cue.speaker)
        if dropped:
            notes.append(
                f"{dropped} cue(s) of the transcript start after the recording ends and were "
                "left out."
            )
        outside = _speech_outside(activity.regions(), spans)
        if outside >= 2.0:
            notes.append(
                f"{outside:.1f} s of speech lie outside the transcript's cues: they were not "
                "analysed. Check that the transcript covers the whole recording."
            )
        return spans, texts, speakers
    regions = activity.regions(max_speech_s=bounds.max_s)
    spans = merge_regions(regions, bounds=bounds)
    return spans, [None] * len(spans), [None] * len(spans)


def prepare(config: AnalyzeConfig | None = None, *, cache: ModelCache | None = None) -> list[str]:
    """Check the options and load the models before any recording is read.

    Call it once before a batch so that a bad option fails at once (exit code 2) instead of once
    per file, and so that model loading is not counted in the first file's time.

    Returns:
        Notes for the user (e.g. that there will be no emotion predictions).

    Raises:
        UsageError: For options that cannot work (an unknown --model, a bad transcript...).
    """
    config = config or AnalyzeConfig()
    cache = cache or shared_cache()
    SegmentBounds(
        min_s=config.min_segment_s, max_s=config.max_segment_s, merge_gap_s=config.merge_gap_s
    )
    n_speakers = parse_speakers(config.speakers)
    if config.transcript:
        read_transcript(Path(config.transcript))
    notes: list[str] = []
    predictor = _load_predictor(config.model, cache, notes)
    if predictor is not None:  # backends that load their parts on first use do it now
        noise = np.random.default_rng(0).normal(0, 0.01, TARGET_SAMPLE_RATE).astype(np.float32)
        predictor.predict([Utterance(id="warm-up", waveform=noise, transcript="Hello there.")])
    cache.vad()
    cache.asr(config.asr_model, language=config.language, beam_size=config.beam_size)
    if n_speakers != 0:
        cache.speaker_encoder()
    return notes


def _speech_outside(regions: Sequence[SpeechRegion], spans: Sequence[SpeechRegion]) -> float:
    """Seconds of the speech regions that no span covers.

    Examples:
        >>> _speech_outside([SpeechRegion(0, 10)], [SpeechRegion(2, 4), SpeechRegion(3, 5)])
        7.0
    """
    total = 0.0
    for region in regions:
        covered, cursor = 0.0, region.start
        for span in sorted(spans, key=lambda s: s.start):
            lo, hi = max(span.start, cursor), min(span.end, region.end)
            if hi > lo:
                covered += hi - lo
                cursor = hi
        total += region.duration - covered
    return round(total, 3)


def analyze(
    path: Path,
    config: AnalyzeConfig | None = None,
    *,
    progress: Progress | None = None,
    cache: ModelCache | None = None,
) -> PredictionDocument:
    """Analyse one recording and return its prediction document.

    Args:
        path: An audio file in any supported format.
        config: Options; defaults to :class:`AnalyzeConfig`.
        progress: Called with ``(stage, seconds done, seconds in all)`` as work goes on.
        cache: Where models are kept between calls (default: one per process).

    Returns:
        The validated ``emoscope.prediction/1`` document.

    Raises:
        AudioError: If the file cannot be decoded.
        UsageError: For options that cannot work (an unknown --model, a bad transcript...).
    """
    config = config or AnalyzeConfig()
    cache = cache or shared_cache()
    path = Path(path)
    report = progress or (lambda stage, done, total: None)
    bounds = SegmentBounds(
        min_s=config.min_segment_s, max_s=config.max_segment_s, merge_gap_s=config.merge_gap_s
    )
    n_speakers = parse_speakers(config.speakers)
    transcript = read_transcript(Path(config.transcript)) if config.transcript else None
    notes: list[str] = []
    info = audio_info(path)
    predictor = _load_predictor(config.model, cache, notes)
    if predictor is not None and config.speaker_adapt:
        predictor.start_adaptation()

    # pass 1: voice activity over the whole recording
    def chunks() -> Iterator[np.ndarray]:
        for start, chunk in iter_chunks(path, chunk_s=config.chunk_s):
            report("vad", start, max(info.duration_s, start))
            yield chunk

    activity = cache.vad().run(chunks())
    duration = round(activity.duration_s, 3)
    report("vad", duration, duration)
    digest = sha256_file(path)
    recording = RecordingInfo(
        id=f"rec-{digest[:12]}",
        duration_s=duration,
        sample_rate=TARGET_SAMPLE_RATE,
        original_sample_rate=info.sample_rate,
        channels=info.channels,
        sha256=digest,
    )
    spans, given_texts, given_speakers = _segments_of(transcript, activity, bounds, duration, notes)
    segments: list[Segment] = []
    embeddings: list[np.ndarray] = []
    kept: list[Utterance] = []
    if spans:
        segments, embeddings, kept = _second_pass(
            path,
            config,
            cache,
            activity,
            spans,
            given_texts,
            given_speakers,
            transcript,
            predictor,
            n_speakers,
            notes,
            lambda done: report("segments", done, duration),
        )
    elif transcript is not None and transcript.timed:
        notes.insert(0, "No segments: no cue of the transcript lies within the recording.")
    else:
        notes.insert(
            0,
            f"No speech found: voice activity detection found no speech in the {duration:.1f} s "
            "of this recording (silence, music or noise), so there are no segments.",
        )
    if n_speakers != 0 and segments:
        names = cluster_speakers(np.stack(embeddings), n_speakers=n_speakers)
        segments = [
            s.model_copy(update={"speaker": n}) for s, n in zip(segments, names, strict=True)
        ]
        notes.append(
            f"Speakers: {len(set(names))} pseudonymous speaker(s) told apart by voice "
            f"({'chosen automatically' if n_speakers is None else 'as asked'})."
        )
    explainer = predictor.model if predictor else None
    if predictor is not None and predictor.session is not None and segments:
        segments, explainer = adapt_predictions(
            predictor, segments, min_confidence=config.min_confidence, notes=notes
        )
    if kept:  # explanations see each segment's final speaker (cue baselines, adaptation)
        final = {s.id: s.speaker for s in segments}
        kept = [u.with_(speaker=final.get(u.id, u.speaker)) for u in kept]
    doc = PredictionDocument(
        recording=recording,
        model=predictor.info if predictor else None,
        segments=segments,
        summary=summarise(segments, notes=notes),
        provenance=Provenance(
            emoscope_version=__version__,
            created=utc_now(),
            config={**config.to_dict(), "asr_model": config.asr_model or "tiny.en"},
        ),
    )
    if config.explain:
        doc = _explain(doc, explainer, kept)
    if config.redact or config.no_transcript:
        from emoscope.privacy import apply_privacy

        doc = apply_privacy(doc, redact=config.redact, no_transcript=config.no_transcript)
    return doc


def _explain(doc: PredictionDocument, model: Any, kept: list[Utterance]) -> PredictionDocument:
    """Fill each segment's explanation (``--explain``) with ``model``, or say why there is none."""
    if model is None or not doc.segments:
        reason = "there is no emotion model" if model is None else "there are no segments"
        note = f"No explanations: {reason}."
        summary = doc.summary.model_copy(update={"notes": [*doc.summary.notes, note]})
        return doc.model_copy(update={"summary": summary})
    from emoscope.explain import explain_document

    try:
        return explain_document(model, doc, kept)
    except Exception as exc:  # explanations are extra: keep the predictions
        log.warning("explanations failed: %s", exc, exc_info=True)
        note = f"No explanations: they failed ({type(exc).__name__}: {exc})."
        summary = doc.summary.model_copy(update={"notes": [*doc.summary.notes, note]})
        return doc.model_copy(update={"summary": summary})


def _second_pass(
    path: Path,
    config: AnalyzeConfig,
    cache: ModelCache,
    activity: Any,
    spans: list[SpeechRegion],
    given_texts: list[str | None],
    given_speakers: list[str | None],
    transcript: GivenTranscript | None,
    predictor: _Predictor | None,
    n_speakers: int | None,
    notes: list[str],
    report: Callable[[float], None],
) -> tuple[list[Segment], list[np.ndarray], list[Utterance]]:
    """Recognise, check, measure and predict window by window.

    Returns:
        The segments, their speaker embeddings (with ``--speakers``) and, with ``--explain``,
        the utterances the model was given (without the encoder frames).
    """
    asr = cache.asr(config.asr_model, language=config.language, beam_size=config.beam_size)
    encoder = cache.speaker_encoder() if n_speakers != 0 else None
    aligner = TextAligner(transcript.text) if transcript and not transcript.timed else None
    check_options = CheckOptions(max_wer=config.max_wer)
    limits = QualityLimits(min_duration_s=config.min_segment_s)
    index = {id(s): i for i, s in enumerate(spans)}
    cursor = _AudioCursor(iter_chunks(path, chunk_s=config.chunk_s))
    windows = group_windows(spans)
    segments: list[Segment] = []
    embeddings: list[np.ndarray] = []
    kept: list[Utterance] = []
    history: list[str] = []
    failures: list[str] = []
    for w_i, window in enumerate(windows):
        clips = [cursor.read(span.start, span.end) for span in window.segments]
        heard = asr.transcribe([(s.start, c) for s, c in zip(window.segments, clips, strict=True)])
        given = [given_texts[index[id(s)]] for s in window.segments]
        if aligner is not None:
            placed = aligner.align(heard.all_words, last=w_i == len(windows) - 1)
            parts: list[list[str]] = [[] for _ in window.segments]
            for (word, _), k in zip(
                placed, _nearest([t for _, t in placed], window.segments), strict=True
            ):
                parts[k].append(word)
            given = [" ".join(p) for p in parts]
        batch: list[Utterance] = []
        drafts: list[dict[str, Any]] = []
        for k, span in enumerate(window.segments):
            samples = clips[k]
            words = list(heard.words[k])
            heard_text = " ".join(w.word for w in words)
            wer = rate = None
            if transcript is not None:
                check = check_alignment(
                    given[k] or "", heard_text, duration_s=span.duration, options=check_options
                )
                alignment, wer, rate = check.status, check.wer, check.speech_rate_wps
                text = given[k] or None
                if check.reasons:
                    log.info("segment at %.1f s: %s", span.start, "; ".join(check.reasons))
            else:
                alignment = "asr_only" if words else "none"
                text = heard_text or None
            quality = measure_quality(
                samples,
                speech_ratio=activity.speech_ratio(span.start, span.end),
                words=words,
                alignment=alignment,
                wer=wer,
                speech_rate_wps=rate,
            )
            flags = set(
                quality_flags(quality, duration_s=span.duration, n_words=len(words), limits=limits)
            )
            if text:
                flags.discard("no_transcript")
            seg_id = f"seg-{len(segments) + len(drafts) + 1:04d}"
            drafts.append(
                {
                    "id": seg_id,
                    "start": round(span.start, 3),
                    "end": round(span.end, 3),
                    "speaker": given_speakers[index[id(span)]],
                    "transcript": text,
                    "words": words,
                    "quality": quality,
                    "flags": flags,
                }
            )
            if encoder is not None:
                embeddings.append(encoder.embed(samples))
            if predictor is not None:
                speaker = drafts[-1]["speaker"]
                batch.append(
                    _utterance(
                        seg_id, samples, text, speaker, history, heard.encoder_frames(k), asr.name
                    )
                )
            if text:
                history.append(text)
                del history[:-CONTEXT_TURNS]
        if predictor is not None and batch:
            _predict_into(predictor, batch, drafts, config.min_confidence, failures)
            if config.explain:
                kept.extend(u.with_(extra={"asr_model": asr.name}) for u in batch)
        for draft in drafts:
            flags = _ordered_flags(draft.pop("flags"))
            segments.append(Segment(**draft, flags=flags))
        report(window.end)
    if aligner is not None and aligner.remaining:
        notes.append(f"{aligner.remaining} word(s) of the transcript were never placed.")
    if failures:
        notes.append(
            f"The emotion model failed on {len(failures)} window(s); those segments are flagged "
            f"'error' and have no labels. First failure: {failures[0]}"
        )
    return segments, embeddings, kept


def _utterance(
    seg_id: str,
    samples: np.ndarray,
    text: str | None,
    speaker: str | None,
    history: list[str],
    frames: np.ndarray | None,
    asr_name: str,
) -> Utterance:
    extra: dict[str, Any] = {"asr_model": asr_name}
    if frames is not None:
        extra["whisper_encoder_frames"] = EncoderFrames(frames, model=asr_name)
    return Utterance(
        id=seg_id,
        waveform=samples,
        transcript=text,
        speaker=speaker,
        context=tuple(history[-CONTEXT_TURNS:]),
        extra=extra,
    )


def _predict_into(
    predictor: _Predictor,
    batch: list[Utterance],
    drafts: list[dict[str, Any]],
    min_confidence: float,
    failures: list[str],
) -> None:
    proba, modalities, error = predictor.predict(batch)
    labels = predictor.info.labels
    model_modalities = set(predictor.info.modalities)
    for i, draft in enumerate(drafts):
        if error is not None:
            draft["flags"].add("error")
            continue
        scores, draft["modalities"] = _scores(labels, proba, modalities, i)
        draft["emotion"] = scores
        if scores.confidence < min_confidence:
            draft["flags"].add("low_confidence")
        used = model_modalities & ({"audio", "text"} if batch[i].has_text else {"audio"})
        if used == {"audio"}:
            draft["flags"].add("audio_only")
        elif used == {"text"}:
            draft["flags"].add("text_only")
    if error is not None:
        failures.append(error)


def _scores(
    labels: Sequence[str], proba: np.ndarray, modalities: Mapping[str, np.ndarray], i: int
) -> tuple[EmotionScores, dict[str, dict[str, float]]]:
    """Row ``i``'s emotion scores and its per-modality probabilities (modalities it has)."""
    scores = EmotionScores.from_probabilities(dict(zip(labels, proba[i].tolist(), strict=True)))
    per_modality = {
        name: dict(zip(labels, [round(float(p), 6) for p in values[i]], strict=True))
        for name, values in modalities.items()
        if not np.isnan(values[i]).any()
    }
    return scores, per_modality


def adapt_predictions(
    predictor: _Predictor,
    segments: list[Segment],
    *,
    min_confidence: float,
    notes: list[str],
) -> tuple[list[Segment], Any]:
    """Adapt the audio side of the segments' predictions to each speaker's own voice.

    Runs once the whole recording is through (speaker statistics need all of a speaker's
    segments, and ``--speakers`` names exist only after clustering). The speakers are the
    segments' ``speaker`` (``--speakers`` or a timed transcript's speaker column); when no
    segment has one, the whole recording counts as one voice. Speakers with fewer segments than
    the model needs, and unnamed segments beside named ones, keep the plain predictions. The
    adapted segments get new ``emotion``, ``modalities`` and ``low_confidence`` flag; a note
    says what was done and what it means.

    Args:
        predictor: The model, with the session that made the second pass's predictions.
        segments: The recording's segments, with their final speakers.
        min_confidence: Below this the ``low_confidence`` flag is set.
        notes: The document's notes (one is appended).

    Returns:
        The segments and the model that explanations should use (the adapted one).
    """
    session = predictor.session
    assert session is not None
    predicted = [s for s in segments if s.emotion is not None]
    named = any(s.speaker for s in predicted)
    speakers = {s.id: s.speaker for s in predicted if s.speaker or not named}
    try:
        used = session.adapt(speakers)
        ids = [s.id for s in predicted if s.id in speakers and speakers[s.id] in used]
        proba, modalities = session.predictions(ids)
        model = session.adapted_model() if used else predictor.model
    except Exception as exc:  # adaptation is a refinement: keep the plain predictions
        log.warning("speaker adaptation failed: %s", exc, exc_info=True)
        notes.append(
            f"Speaker adaptation failed ({type(exc).__name__}: {exc}); the predictions are the "
            "unadapted ones."
        )
        return segments, predictor.model
    rows = {uid: i for i, uid in enumerate(ids)}
    out = []
    for seg in segments:
        i = rows.get(seg.id)
        if i is not None:
            scores, per_modality = _scores(predictor.info.labels, proba, modalities, i)
            flags = set(seg.flags) - {"low_confidence"}
            if scores.confidence < min_confidence:
                flags.add("low_confidence")
            seg = seg.model_copy(
                update={
                    "emotion": scores,
                    "modalities": per_modality,
                    "flags": _ordered_flags(flags),
                }
            )
        out.append(seg)
    counts = Counter(speakers.values())
    unnamed = sum(1 for s in predicted if named and not s.speaker)
    notes.append(_adaptation_note(used, counts, unnamed, session.min_utterances))
    return out, model


def _adaptation_note(
    used: Mapping[str | None, int], counts: Mapping[str | None, int], unnamed: int, least: int
) -> str:
    """Say in plain words what speaker adaptation did, and what it means.

    Examples:
        >>> note = _adaptation_note({"spk-1": 12}, {"spk-1": 12, "spk-2": 3}, 0, 8)
        >>> note[:75]
        'Speaker adaptation: the audio side of the predictions for spk-1 (12 segment'
        >>> note.split("(--no-speaker-adapt). ")[1]
        'Unadapted (fewer than the 8 segments it needs): spk-2 (3 segments).'
        >>> _adaptation_note({}, {"spk-1": 4, "spk-2": 3}, 0, 8)[:64]
        'Speaker adaptation was on, but no speaker had the 8 segments it '
    """

    def segs(n: int) -> str:
        return f"{n} segment{'s' if n != 1 else ''}"

    if not used:
        found = ", ".join(
            f"{name or 'the recording'}: {segs(n)}" for name, n in sorted(counts.items(), key=str)
        )
        return (
            f"Speaker adaptation was on, but no speaker had the {least} segments it needs "
            f"({found}), so the predictions are unadapted: absolute, comparable across "
            "recordings."
        )
    meaning = (
        "So they show how the voice departs from its own usual in this recording, not absolute "
        "levels: someone who sounds, say, sad or tense throughout looks more neutral, and the "
        "figures are not comparable across recordings. To compare sessions, analyse with "
        "speaker adaptation off (--no-speaker-adapt)."
    )
    if None in used:
        return (
            "Speaker adaptation: the audio side of the predictions was made relative to this "
            f"recording's own voice. With no speaker attribution, all {segs(used[None])} were "
            "treated as one speaker: the model's audio features were normalised by their mean "
            "and spread over this recording (no labels are used), and the fused predictions "
            "follow. If several people speak, their voices were pooled (--speakers, or a timed "
            f"transcript with speakers, adapts per speaker). {meaning}"
        )
    names = [f"{name} ({segs(n)})" for name, n in used.items()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    note = (
        f"Speaker adaptation: the audio side of the predictions for {listed} was made relative "
        "to each speaker's own voice over this recording: the model's audio features were "
        "normalised by that speaker's mean and spread here (no labels are used), and the fused "
        f"predictions follow. {meaning}"
    )
    kept = [f"{name} ({segs(n)})" for name, n in counts.items() if name not in used]
    if kept:
        note += f" Unadapted (fewer than the {least} segments it needs): {', '.join(kept)}."
    if unnamed:
        note += f" Unadapted (no speaker): {segs(unnamed)}."
    return note


def summarise(segments: Sequence[Segment], *, notes: Sequence[str] = ()) -> Summary:
    """Return the recording-level summary of ``segments``.

    The distribution is the duration-weighted mean of the segments' probabilities; a change is
    recorded when one speaker's label differs from that speaker's previous segment.

    Examples:
        >>> from emoscope.types import EmotionScores, Segment
        >>> def seg(i, s, e, p):
        ...     return Segment(id=f"s{i}", start=s, end=e,
        ...                    emotion=EmotionScores.from_probabilities({"sad": p, "happy": 1 - p}))
        >>> s = summarise([seg(1, 0, 3, 0.9), seg(2, 3, 4, 0.1)])
        >>> s.dominant, round(s.distribution["sad"], 2), [(c.time, c.to_label) for c in s.changes]
        ('sad', 0.7, [(3.0, 'happy')])
    """
    totals: dict[str, float] = {}
    weight = 0.0
    last: dict[str | None, str] = {}
    changes = []
    for seg in segments:
        if seg.emotion is None:
            continue
        for label, p in seg.emotion.probabilities.items():
            totals[label] = totals.get(label, 0.0) + p * seg.duration
        weight += seg.duration
        previous = last.get(seg.speaker)
        if previous is not None and previous != seg.emotion.label:
            changes.append(
                Change(
                    time=seg.start,
                    speaker=seg.speaker,
                    from_label=previous,
                    to_label=seg.emotion.label,
                )
            )
        last[seg.speaker] = seg.emotion.label
    distribution = {k: round(v / weight, 6) for k, v in totals.items()} if weight else {}
    mismatched = sum("mismatch" in s.flags for s in segments)
    notes = list(notes)
    if mismatched:
        notes.append(
            f"{mismatched} of {len(segments)} segment(s) are flagged 'mismatch': the given "
            "transcript does not match what was heard there (see each segment's quality.wer and "
            "speech_rate_wps); check the transcript before trusting their text."
        )
    return Summary(
        n_segments=len(segments),
        speech_s=round(sum(s.duration for s in segments), 3),
        distribution=distribution,
        dominant=max(distribution, key=distribution.__getitem__) if distribution else None,
        changes=changes,
        mismatched_segments=mismatched,
        notes=notes,
    )
