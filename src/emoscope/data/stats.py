"""Figures about a manifest: class balance, speakers, durations, gender balance, imbalance.

Examples:
    >>> from emoscope.types import Utterance
    >>> m = Manifest([Utterance(id=str(i), speaker=f"s{i % 2}", label="sad" if i else "calm",
    ...     canonical="sad" if i else None, extra={"duration": 2.0}) for i in range(4)])
    >>> s = manifest_stats(m)
    >>> s.n_utterances, s.n_speakers, s.unmapped, s.total_s
    (4, 2, {'calm': 1}, 8.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.types import Utterance

IMBALANCE_RATIO = 3.0
"""A label set is called strongly imbalanced when its largest class is this many times its
smallest (3:1 is where unweighted accuracy starts to mislead noticeably)."""


def utterance_duration(u: Utterance) -> float | None:
    """Return the utterance's known length in seconds: ``end - start`` or ``extra["duration"]``."""
    if u.start is not None and u.end is not None:
        return max(0.0, u.end - u.start)
    d = u.extra.get("duration")
    return float(d) if isinstance(d, (int, float)) else None


def add_durations(
    manifest: Manifest, *, on_progress: Callable[[Utterance], None] | None = None
) -> tuple[Manifest, list[str]]:
    """Fill ``extra["duration"]`` from audio headers where it is unknown.

    Returns:
        The manifest with durations, and one message per file that could not be read (the
        others go on).
    """
    from emoscope.audio import audio_info
    from emoscope.errors import AudioError

    problems: list[str] = []
    out = []
    for u in manifest:
        if u.audio is not None and utterance_duration(u) is None:
            try:
                info = audio_info(u.audio)
                full = info.duration_s
                start = u.start or 0.0
                end = u.end if u.end is not None else full
                u = u.with_(extra={**u.extra, "duration": round(max(0.0, end - start), 3)})
            except AudioError as exc:
                problems.append(str(exc))
        if on_progress is not None:
            on_progress(u)
        out.append(u)
    return Manifest(out), problems


@dataclass
class ManifestStats:
    """What :func:`manifest_stats` finds."""

    n_utterances: int
    corpora: dict[str, int]
    n_speakers: int
    per_speaker: tuple[int, float, int] | None  # min, median, max utterances per speaker
    labels: dict[str, int]
    canonical: dict[str, int]
    unmapped: dict[str, int]
    genders: dict[str, int]
    speaker_genders: dict[str, int]
    splits: dict[str, int]
    folds: dict[int, int]
    with_audio: int
    with_text: int
    n_durations: int
    total_s: float
    duration_range: tuple[float, float, float] | None  # min, mean, max seconds
    split_speaker_overlap: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _imbalance(counts: dict[str, int], what: str) -> str | None:
    if len(counts) < 2:
        return None
    big, small = max(counts, key=counts.__getitem__), min(counts, key=counts.__getitem__)
    ratio = counts[big] / max(1, counts[small])
    if ratio >= IMBALANCE_RATIO:
        return (
            f"Strong {what} imbalance: {big!r} has {counts[big]} utterances, {small!r} only "
            f"{counts[small]} ({ratio:.1f}:1). Report macro-F1 / unweighted accuracy, and "
            "consider class weights."
        )
    return None


def manifest_stats(manifest: Manifest) -> ManifestStats:
    """Compute class balance, speakers, durations, gender balance and warnings."""
    per_speaker = Counter(u.speaker for u in manifest if u.speaker is not None)
    speaker_gender: dict[str, str] = {}
    for u in manifest:
        if u.speaker is not None:
            speaker_gender.setdefault(u.speaker, u.gender or "unknown")
    durations = [d for d in map(utterance_duration, manifest) if d is not None]
    labels = dict(manifest.label_counts().most_common())
    canonical = dict(manifest.label_counts(canonical=True).most_common())
    split_overlap: dict[str, int] = {}
    splits = manifest.splits()
    for i, a in enumerate(splits):
        for b in splits[i + 1 :]:
            shared = set(manifest.split(a).speakers()) & set(manifest.split(b).speakers())
            if shared:
                split_overlap[f"{a}/{b}"] = len(shared)
    stats = ManifestStats(
        n_utterances=len(manifest),
        corpora=dict(Counter(u.corpus or "<none>" for u in manifest).most_common()),
        n_speakers=len(per_speaker),
        per_speaker=(
            (
                min(per_speaker.values()),
                float(np.median(list(per_speaker.values()))),
                max(per_speaker.values()),
            )
            if per_speaker
            else None
        ),
        labels=labels,
        canonical=canonical,
        unmapped=dict(manifest.unmapped_counts().most_common()),
        genders=dict(Counter(u.gender or "unknown" for u in manifest).most_common()),
        speaker_genders=dict(Counter(speaker_gender.values()).most_common()),
        splits=dict(Counter(u.split for u in manifest if u.split).most_common()),
        folds=dict(sorted(Counter(u.fold for u in manifest if u.fold is not None).items())),
        with_audio=sum(u.audio is not None for u in manifest),
        with_text=sum(u.has_text for u in manifest),
        n_durations=len(durations),
        total_s=float(sum(durations)),
        duration_range=(
            (min(durations), float(np.mean(durations)), max(durations)) if durations else None
        ),
        split_speaker_overlap=split_overlap,
    )
    for counts, what in ((canonical, "canonical class"), (labels, "native class")):
        message = _imbalance(counts, what)
        if message:
            stats.warnings.append(message)
            break
    known = {g: n for g, n in stats.genders.items() if g != "unknown"}
    message = _imbalance(known, "gender")
    if message:
        stats.warnings.append(message.split(" Report")[0] + ".")
    if stats.unmapped:
        n = sum(stats.unmapped.values())
        stats.warnings.append(
            f"{n} utterances have no canonical label ({', '.join(stats.unmapped)}); they are "
            "left out of canonical evaluation."
        )
    if split_overlap:
        stats.warnings.append(
            "Official splits share speakers ("
            + ", ".join(f"{k}: {v}" for k, v in split_overlap.items())
            + "); results on them are not speaker-independent."
        )
    return stats
