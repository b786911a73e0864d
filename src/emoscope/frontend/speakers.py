"""Speaker attribution: resemblyzer embeddings per segment, clustered into pseudonymous speakers.

resemblyzer ships its encoder weights, so this runs offline. Speakers are named ``spk-1``,
``spk-2``... in order of first appearance; no voice is identified, only told apart.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=256), rng.normal(size=256)
    >>> emb = np.stack([a, b, a + 0.05 * rng.normal(size=256), b + 0.05 * rng.normal(size=256)])
    >>> cluster_speakers(emb, n_speakers=None)
    ['spk-1', 'spk-2', 'spk-1', 'spk-2']
    >>> cluster_speakers(emb, n_speakers=1)
    ['spk-1', 'spk-1', 'spk-1', 'spk-1']
"""

from __future__ import annotations

import numpy as np

from emoscope.audio import TARGET_SAMPLE_RATE
from emoscope.errors import UsageError

MAX_AUTO_SPEAKERS = 8
AUTO_MIN_SILHOUETTE = 0.15
"""``auto`` finds one speaker unless a split scores at least this mean silhouette..."""
AUTO_MIN_DISTANCE = 0.2
"""...and every two of its speakers' mean voices are at least this cosine distance apart.

Measured on the demo's two espeak-ng voices: 0.31 between the voices, 0.12-0.14 between parts of
one voice, 0.25 between one voice's sad (slow, low) and other sentences."""


def parse_speakers(value: str | int | None) -> int | None:
    """Read ``--speakers``: a count >= 1, ``auto`` (``None``), or off (``0``/``None`` -> ``0``).

    Examples:
        >>> parse_speakers("auto"), parse_speakers("2"), parse_speakers(None)
        (None, 2, 0)
    """
    if value is None:
        return 0
    if isinstance(value, int):
        count = value
    elif str(value).strip().lower() == "auto":
        return None
    else:
        try:
            count = int(str(value))
        except ValueError:
            count = -1
    if count < 1:
        raise UsageError(f"--speakers must be a number >= 1 or 'auto'. Got {value!r}.")
    return count


def _import_webrtcvad() -> None:
    """Import webrtcvad (resemblyzer needs it) where setuptools no longer has pkg_resources.

    webrtcvad 2.0.10 only reads its own version through ``pkg_resources`` at import time; a
    stand-in that answers that one call is put in place for the import and removed after it.
    """
    import importlib.metadata
    import sys
    import types

    if "webrtcvad" in sys.modules:
        return
    try:
        import webrtcvad  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise
        stand_in = types.ModuleType("pkg_resources")
        stand_in.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
            version=importlib.metadata.version(name)
        )
        sys.modules["pkg_resources"] = stand_in
        try:
            import webrtcvad  # noqa: F401
        finally:
            del sys.modules["pkg_resources"]


class SpeakerEncoder:
    """resemblyzer's voice encoder on the CPU (256-dimensional embeddings)."""

    def __init__(self, device: str = "cpu") -> None:
        _import_webrtcvad()
        from resemblyzer import VoiceEncoder

        self._encoder = VoiceEncoder(device, verbose=False)
        noise = np.random.default_rng(0).normal(0, 0.05, TARGET_SAMPLE_RATE).astype(np.float32)
        self.embed(noise)  # the first call compiles librosa's numba code: pay for it at load

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """Return the unit-length embedding of one segment's 16 kHz audio."""
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(np.asarray(samples, dtype=np.float32), source_sr=TARGET_SAMPLE_RATE)
        if len(wav) < TARGET_SAMPLE_RATE // 4:  # resemblyzer trims silence; keep something
            wav = np.asarray(samples, dtype=np.float32)
        return np.asarray(self._encoder.embed_utterance(wav), dtype=np.float32)


def cluster_speakers(embeddings: np.ndarray, *, n_speakers: int | None) -> list[str]:
    """Cluster segment embeddings into speakers named in order of first appearance.

    Args:
        embeddings: ``(n_segments, dim)`` speaker embeddings.
        n_speakers: How many speakers; ``None`` chooses the count (1 to 8) with the best mean
            silhouette, and one speaker unless a split is clearly better.

    Returns:
        ``spk-N`` per segment.
    """
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    n = len(embeddings)
    if n == 0:
        return []
    x = np.asarray(embeddings, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    def fit(k: int) -> np.ndarray:
        if k <= 1 or n <= 1:
            return np.zeros(n, dtype=int)
        return AgglomerativeClustering(
            n_clusters=min(k, n), metric="cosine", linkage="average"
        ).fit_predict(x)

    if n_speakers is not None:
        labels = fit(n_speakers)
    else:
        labels, best = np.zeros(n, dtype=int), AUTO_MIN_SILHOUETTE
        for k in range(2, min(MAX_AUTO_SPEAKERS, n - 1) + 1):
            candidate = fit(k)
            score = silhouette_score(x, candidate, metric="cosine")
            if score > best and _min_centroid_distance(x, candidate) >= AUTO_MIN_DISTANCE:
                labels, best = candidate, score
    names: dict[int, str] = {}
    return [names.setdefault(int(c), f"spk-{len(names) + 1}") for c in labels]


def _min_centroid_distance(x: np.ndarray, labels: np.ndarray) -> float:
    centroids = np.stack([x[labels == c].mean(axis=0) for c in np.unique(labels)])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    sims = centroids @ centroids.T
    np.fill_diagonal(sims, -1.0)
    return float(1.0 - sims.max())
