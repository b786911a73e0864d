from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emoscope.audio import load_audio
from emoscope.frontend.loaders import ModelCache, shared_cache
from emoscope.testing import has_espeak


@pytest.fixture(scope="session")
def truth(demo_sample: Path) -> list[dict]:
    """The demo's true sentences: speaker, text, start, end."""
    return json.loads(demo_sample.with_name("demo.truth.json").read_text())


@pytest.fixture(scope="session")
def demo_audio(demo_sample: Path) -> np.ndarray:
    return load_audio(demo_sample).samples


@pytest.fixture(scope="session")
def models() -> ModelCache:
    """The process-wide model cache (the one analyze uses): each model loads once."""
    return shared_cache()


@pytest.fixture()
def espeak() -> None:
    if not has_espeak():
        pytest.skip("needs espeak-ng (`make system-deps`)")
