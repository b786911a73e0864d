"""A tiny random Qwen2-Audio (LM head scaled so that the loss visibly moves) and a pitch task."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import pitch_manifest  # noqa: E402

from emoscope.testing.tiny_lalm import build_tiny_lalm  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_lalm(tmp_path_factory.mktemp("ft") / "tiny-qwen2-audio", logit_scale=25.0)


@pytest.fixture(scope="session")
def pitch_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pitch_manifest(tmp_path_factory.mktemp("pitch"))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: the tiny model's 64-wide products only wait for a second thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
