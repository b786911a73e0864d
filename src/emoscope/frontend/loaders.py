"""Load each front-end model once per process and hand the same object to every recording.

Examples:
    >>> cache = ModelCache()
    >>> cache.vad() is cache.vad()
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


class ModelCache:
    """Lazily built, kept models, keyed by their settings (thread-safe)."""

    def __init__(self) -> None:
        self._items: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """Return the object under ``key``, building it with ``build`` the first time."""
        with self._lock:
            if key not in self._items:
                self._items[key] = build()
            return self._items[key]

    def vad(self):  # noqa: ANN201 - SileroVad, imported lazily
        """The silero-vad model."""
        from emoscope.frontend.vad import SileroVad

        return self.get(("vad",), SileroVad)

    def asr(self, model: str | None, *, language: str | None, beam_size: int = 1):  # noqa: ANN201
        """A faster-whisper recogniser (``None``: the bundled tiny.en)."""
        from emoscope.frontend.asr import WhisperAsr

        return self.get(
            ("asr", model, language, beam_size),
            lambda: WhisperAsr(model, language=language, beam_size=beam_size),
        )

    def speaker_encoder(self):  # noqa: ANN201
        """The resemblyzer voice encoder."""
        from emoscope.frontend.speakers import SpeakerEncoder

        return self.get(("speakers",), SpeakerEncoder)

    def emotion_model(self, spec: str):  # noqa: ANN201
        """An emotion model from the registry (``emoscope.models.base.load_model``)."""
        from emoscope.models.base import load_model

        return self.get(("emotion", spec), lambda: load_model(spec))


@cache
def shared_cache() -> ModelCache:
    """The process-wide cache that :func:`emoscope.pipeline.analyze` uses."""
    return ModelCache()
