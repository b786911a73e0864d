"""A content-addressed on-disk cache of per-utterance feature arrays.

Keys are SHA-256 digests of what the features are computed from (the decoded samples)
together with the extractor's name and version, so a changed extractor never reads stale
arrays. Arrays are stored as plain ``.npy`` files (``allow_pickle=False``), written atomically.

The cache lives in ``$EMOSCOPE_CACHE/features`` or, without that variable,
``~/.cache/emoscope/features``.

Examples:
    >>> import numpy as np, tempfile
    >>> cache = FeatureCache(tempfile.mkdtemp(), namespace="demo-v1")
    >>> key = audio_key(np.zeros(160, dtype=np.float32))
    >>> cache.get(key) is None
    True
    >>> cache.put(key, np.arange(3, dtype=np.float32))
    >>> cache.get(key).tolist()
    [0.0, 1.0, 2.0]
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    """Return the feature cache folder (``$EMOSCOPE_CACHE/features`` or ``~/.cache/...``)."""
    root = os.environ.get("EMOSCOPE_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "emoscope"
    return base / "features"


def audio_key(samples: np.ndarray) -> str:
    """Return the SHA-256 of 16 kHz mono float32 samples (their bytes).

    Examples:
        >>> audio_key(np.zeros(4, dtype=np.float32))[:12]
        '374708fff771'
    """
    data = np.ascontiguousarray(samples, dtype=np.float32)
    return hashlib.sha256(data.tobytes()).hexdigest()


class FeatureCache:
    """Feature arrays on disk under ``root/namespace/ab/abcdef....npy``.

    Args:
        root: The cache folder (:func:`default_cache_dir` when ``None``).
        namespace: The extractor's name and version, e.g. ``"whisper-tiny.en-v1"``.
    """

    def __init__(self, root: str | Path | None = None, *, namespace: str) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.namespace = namespace
        self.folder = self.root / namespace

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """Return the stored array of ``key``, or ``None`` (also for an unreadable file)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` under ``key`` (atomically: a temporary file, then a rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npy")
        np.save(tmp, np.asarray(array), allow_pickle=False)
        tmp.replace(path)
