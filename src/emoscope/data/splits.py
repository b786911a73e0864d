"""Speaker-independent splits: leave-one-speaker-out, speaker-grouped k folds, sessions.

Folds are written into the manifest (``Utterance.fold``) so a run can be repeated exactly;
:func:`iter_folds` yields ``(train, test)`` pairs and checks each for speaker overlap. A random
utterance-level split of an acted corpus leaks speakers and inflates accuracy; nothing here
makes one.

Examples:
    >>> from emoscope.types import Utterance
    >>> m = Manifest([Utterance(id=f"u{i}", speaker=f"s{i % 3}", label="a") for i in range(6)])
    >>> [u.fold for u in assign_folds(m, scheme="loso")]
    [0, 1, 2, 0, 1, 2]
    >>> train, test = next(iter_folds(assign_folds(m, scheme="loso")))
    >>> test.speakers(), train.speakers()
    (['s0'], ['s1', 's2'])
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from typing import Literal

import numpy as np

from emoscope.data.manifest import Manifest
from emoscope.errors import ManifestError, UsageError

log = logging.getLogger(__name__)

Scheme = Literal["loso", "kfold", "session"]
SCHEMES: tuple[str, ...] = ("loso", "kfold", "session")


class SpeakerOverlapError(ManifestError):
    """A training and a test set share speakers."""


def _require_speakers(manifest: Manifest, what: str) -> None:
    missing = [u.id for u in manifest if u.speaker is None]
    if missing:
        raise ManifestError(
            f"{what} needs a speaker for every utterance; {len(missing)} have none "
            f"(e.g. {missing[0]!r}). Give speakers, or use the corpus's official split."
        )


def check_speaker_overlap(train: Manifest, test: Manifest) -> None:
    """Raise if ``train`` and ``test`` share a speaker.

    Raises:
        SpeakerOverlapError: Naming the shared speakers.

    Examples:
        >>> from emoscope.types import Utterance
        >>> a = Manifest([Utterance(id="1", speaker="s1")])
        >>> check_speaker_overlap(a, Manifest([Utterance(id="2", speaker="s2")]))
        >>> check_speaker_overlap(a, Manifest([Utterance(id="3", speaker="s1")]))
        Traceback (most recent call last):
        ...
        emoscope.data.splits.SpeakerOverlapError: The training and test sets share 1 speaker(s): ...
    """
    shared = sorted(set(train.speakers()) & set(test.speakers()))
    if shared:
        shown = ", ".join(shared[:5]) + (f" and {len(shared) - 5} more" if len(shared) > 5 else "")
        raise SpeakerOverlapError(
            f"The training and test sets share {len(shared)} speaker(s): {shown}. "
            "A speaker-dependent split inflates accuracy; use assign_folds(scheme='loso' or "
            "'kfold') or the corpus's official split."
        )


def _stratum(manifest: Manifest) -> list[str]:
    return [u.canonical or u.label or "<none>" for u in manifest]


def assign_folds(
    manifest: Manifest,
    *,
    scheme: Scheme = "loso",
    k: int = 5,
    seed: int = 0,
    stratify: bool = True,
) -> Manifest:
    """Return a copy of ``manifest`` with a speaker-independent ``fold`` on every utterance.

    Args:
        manifest: Utterances with speakers (and sessions for ``scheme="session"``).
        scheme: ``"loso"`` (one fold per speaker, numbered in sorted speaker order),
            ``"kfold"`` (``k`` speaker-grouped folds, label-stratified where possible) or
            ``"session"`` (one fold per session, e.g. IEMOCAP's five).
        k: Number of folds for ``"kfold"``.
        seed: Random seed for ``"kfold"``.
        stratify: Balance labels across ``"kfold"`` folds (scikit-learn's StratifiedGroupKFold);
            falls back to GroupKFold when labels are too rare to stratify.

    Returns:
        The manifest with ``fold`` set; every fold's test speakers are absent from its training.

    Raises:
        UsageError: If the scheme is unknown or ``k`` exceeds the number of speakers.
        ManifestError: If an utterance lacks the speaker (or session) the scheme needs.
    """
    if scheme not in SCHEMES:
        raise UsageError(f"Fold scheme must be one of {', '.join(SCHEMES)}. Got {scheme!r}.")
    if len(manifest) == 0:
        return manifest
    _require_speakers(manifest, f"Fold scheme {scheme!r}")
    if scheme == "loso":
        index = {s: i for i, s in enumerate(manifest.speakers())}
        return manifest.map(lambda u: u.with_(fold=index[u.speaker]))
    if scheme == "session":
        missing = [u.id for u in manifest if u.session is None]
        if missing:
            raise ManifestError(
                f"Fold scheme 'session' needs a session for every utterance; {len(missing)} have "
                f"none (e.g. {missing[0]!r}). Use 'loso' or 'kfold' instead."
            )
        sessions = sorted({u.session for u in manifest})
        index = {s: i for i, s in enumerate(sessions)}
        out = manifest.map(lambda u: u.with_(fold=index[u.session]))
        for train, test in iter_folds(out):  # a speaker recorded in two sessions would leak
            check_speaker_overlap(train, test)
        return out
    return _kfold(manifest, k=k, seed=seed, stratify=stratify)


def _kfold(manifest: Manifest, *, k: int, seed: int, stratify: bool) -> Manifest:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    n_speakers = len(manifest.speakers())
    if not 2 <= k <= n_speakers:
        raise UsageError(
            f"k speaker-grouped folds need 2 <= k <= the number of speakers ({n_speakers}). "
            f"Got k={k}."
        )
    groups = np.array([u.speaker for u in manifest])
    y = np.array(_stratum(manifest))
    x = np.zeros((len(manifest), 1))
    fold = np.full(len(manifest), -1)
    splitter = None
    if stratify:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            splits = list(splitter.split(x, y, groups))
        if caught:
            log.info("stratified folds: %s", caught[0].message)
        if any(len(test) == 0 for _, test in splits):
            splitter = None
    if splitter is None:
        rng = np.random.default_rng(seed)
        speakers = np.array(sorted(set(groups)))
        shuffled = {s: i for i, s in enumerate(rng.permutation(speakers))}
        # GroupKFold balances fold sizes; permuting group names makes the seed matter
        order = np.array([shuffled[g] for g in groups])
        splits = list(GroupKFold(n_splits=k).split(x, y, order))
    for i, (_, test) in enumerate(splits):
        fold[test] = i
    return Manifest(u.with_(fold=int(f)) for u, f in zip(manifest, fold, strict=True))


def iter_folds(manifest: Manifest) -> Iterator[tuple[Manifest, Manifest]]:
    """Yield ``(train, test)`` for each fold of a manifest with folds assigned.

    Each pair is checked for speaker overlap. Utterances without a fold are left out of both.

    Raises:
        ManifestError: If no utterance has a fold.
        SpeakerOverlapError: If a fold's test speakers appear in its training set.
    """
    folds = manifest.folds()
    if not folds:
        raise ManifestError(
            "The manifest has no folds. Assign them with assign_folds() or "
            "`emoscope prepare ... --folds loso`."
        )
    for f in folds:
        test = manifest.filter(lambda u, f=f: u.fold == f)
        train = manifest.filter(lambda u, f=f: u.fold is not None and u.fold != f)
        check_speaker_overlap(train, test)
        yield train, test


def official_split(manifest: Manifest, *, train: str, test: str) -> tuple[Manifest, Manifest]:
    """Return the corpus's official ``(train, test)`` splits (e.g. MELD ``"train"``, ``"test"``).

    Raises:
        ManifestError: If a split is empty, naming the splits present.
    """
    parts = manifest.split(train), manifest.split(test)
    for name, part in zip((train, test), parts, strict=True):
        if len(part) == 0:
            raise ManifestError(
                f"The manifest has no utterance in split {name!r}. "
                f"Splits present: {', '.join(manifest.splits()) or 'none'}."
            )
    return parts


def speaker_disjoint_validation(
    manifest: Manifest, fraction: float = 0.1, seed: int = 0
) -> tuple[Manifest, Manifest]:
    """Split ``manifest`` into ``(train, validation)`` with no speaker in both.

    Whole speakers are drawn at random (by ``seed``) into validation until it holds at least
    ``fraction`` of the utterances; at least one speaker goes each way.

    Args:
        manifest: Typically the training part of a fold.
        fraction: The target share of utterances in validation, in (0, 1).
        seed: Random seed.

    Returns:
        ``(train, validation)``, each in the manifest's order.

    Raises:
        UsageError: If ``fraction`` is outside (0, 1).
        ManifestError: If fewer than two speakers are present or one lacks a speaker.

    Examples:
        >>> from emoscope.types import Utterance
        >>> m = Manifest([Utterance(id=f"u{i}", speaker=f"s{i % 5}") for i in range(20)])
        >>> tr, va = speaker_disjoint_validation(m, fraction=0.2, seed=1)
        >>> len(tr), len(va), set(tr.speakers()) & set(va.speakers())
        (16, 4, set())
    """
    if not 0.0 < fraction < 1.0:
        raise UsageError(f"Validation fraction must lie in (0, 1). Got {fraction}.")
    _require_speakers(manifest, "A speaker-disjoint validation split")
    speakers = manifest.speakers()
    if len(speakers) < 2:
        raise ManifestError(
            f"A speaker-disjoint validation split needs at least 2 speakers. Got {len(speakers)}."
        )
    counts = {s: 0 for s in speakers}
    for u in manifest:
        counts[u.speaker] += 1
    rng = np.random.default_rng(seed)
    target = fraction * len(manifest)
    chosen: set[str] = set()
    total = 0
    for s in rng.permutation(speakers):
        if total >= target or len(chosen) == len(speakers) - 1:
            break
        chosen.add(str(s))
        total += counts[s]
    train = manifest.filter(lambda u: u.speaker not in chosen)
    valid = manifest.filter(lambda u: u.speaker in chosen)
    check_speaker_overlap(train, valid)
    return train, valid
