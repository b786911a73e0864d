"""Fixtures of the evaluation tests: a small synthetic 'emotional' corpus and a fitted baseline.

The corpus is harmonic tones whose pitch and loudness follow the label (plus speaker shifts and
optional noise), so a real eGeMAPS + logistic-regression model learns it in about a second.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from emoscope.data.manifest import Manifest
from emoscope.testing import tone, write_audio
from emoscope.types import Utterance

# label -> (pitch in Hz, amplitude)
STYLE = {
    "neutral": (140.0, 0.15),
    "happy": (260.0, 0.30),
    "sad": (100.0, 0.05),
    "angry": (200.0, 0.60),
}


def make_corpus(
    root: Path,
    *,
    speakers: int = 4,
    per_label: int = 3,
    seconds: float = 0.5,
    corpus: str = "synth",
    extra_unmapped: int = 0,
    blur: float = 0.0,
) -> Manifest:
    """Write WAVs under ``root`` and return their manifest (speaker i is in fold i + 1).

    ``blur`` in [0, 1] draws pitch and loudness towards a common value (harder to classify).
    """
    utts = []
    for s in range(speakers):
        gender = "female" if s % 2 else "male"
        shift = 1.0 + 0.05 * s
        for label, (freq, amp) in STYLE.items():
            for k in range(per_label):
                uid = f"{corpus}-s{s}-{label}-{k}"
                rng = np.random.default_rng(zlib.crc32(uid.encode()))
                f = (freq * (1 - blur) + 170.0 * blur) * shift * (1 + 0.1 * blur * rng.normal())
                a = (amp * (1 - blur) + 0.25 * blur) * (1 + 0.3 * blur * abs(rng.normal()))
                wav = tone(seconds, freq=f, amplitude=min(a, 0.9), seed=int(rng.integers(1e6)))
                path = write_audio(root / f"{uid}.wav", wav)
                utts.append(
                    Utterance(
                        id=uid,
                        audio=str(path),
                        speaker=f"{corpus}-spk{s}",
                        gender=gender,
                        label=label,
                        canonical=label,
                        corpus=corpus,
                        fold=s + 1,
                    )
                )
        for k in range(extra_unmapped):
            uid = f"{corpus}-s{s}-calm-{k}"
            path = write_audio(root / f"{uid}.wav", tone(seconds, freq=150.0 * shift))
            utts.append(
                Utterance(
                    id=uid,
                    audio=str(path),
                    speaker=f"{corpus}-spk{s}",
                    gender=gender,
                    label="calm",
                    canonical=None,
                    corpus=corpus,
                    fold=s + 1,
                )
            )
    return Manifest(utts)


@pytest.fixture(scope="session")
def corpus_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Return ``make(name, **options) -> manifest path`` (cached per name within the session)."""
    made: dict[str, Path] = {}

    def make(name: str, **options: object) -> Path:
        if name not in made:
            root = tmp_path_factory.mktemp(f"corpus-{name}")
            manifest = make_corpus(root / "audio", corpus=name, **options)  # type: ignore[arg-type]
            made[name] = manifest.to_jsonl(root / "manifest.jsonl")
        return made[name]

    return make


@pytest.fixture(scope="session")
def train_manifest(corpus_factory: Callable[..., Path]) -> Path:
    """A training corpus ('train', 4 speakers, 48 utterances)."""
    return corpus_factory("train")


@pytest.fixture(scope="session")
def test_manifest(corpus_factory: Callable[..., Path]) -> Path:
    """A test corpus of other speakers ('heldout', 2 speakers, some blur, 2 unmapped)."""
    return corpus_factory("heldout", speakers=2, per_label=3, blur=0.5, extra_unmapped=1)


@pytest.fixture(scope="session")
def fitted_model(train_manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An egemaps-logreg model fitted on the training corpus, saved in a folder."""
    from emoscope.models.base import load_model

    model = load_model("egemaps-logreg").fit(Manifest.from_jsonl(train_manifest))
    return model.save(tmp_path_factory.mktemp("fitted") / "egemaps-logreg")
