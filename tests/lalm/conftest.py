"""Tiny random LALM checkpoints (built once per session) and short synthetic utterances."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emoscope.testing import tone
from emoscope.testing.tiny_lalm import build_tiny_lalm
from emoscope.types import Utterance


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (on a shared 2-core machine ~10x: no contention).

    Module-scoped, so the setting is restored before other test folders run.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_qwen2_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lalm(tmp_path_factory.mktemp("lalm") / "tiny-qwen2-audio")


@pytest.fixture(scope="session")
def tiny_af3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lalm(tmp_path_factory.mktemp("lalm") / "tiny-af3", family="audio-flamingo-3")


@pytest.fixture(scope="session", params=["qwen2-audio", "audio-flamingo-3"])
def tiny_dir(request: pytest.FixtureRequest) -> Path:
    name = "tiny_qwen2_audio" if request.param == "qwen2-audio" else "tiny_af3"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def utterances() -> list[Utterance]:
    """Four clips of different lengths (so batches need padding) with transcripts."""
    texts = ["I am fine.", "Oh no, not again!", "What?", "Go away, I said go away now."]
    return [
        Utterance(
            id=f"u{i}",
            waveform=tone(0.4 + 0.6 * i, freq=140.0 + 45.0 * i, seed=i),
            transcript=text,
        )
        for i, text in enumerate(texts)
    ]
