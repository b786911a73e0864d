"""Classic baselines: eGeMAPS + logistic regression (``egemaps-logreg``) and ``chance``.

The eGeMAPS baseline is the one speech-emotion papers quote (Eyben et al., 2016): the 88
eGeMAPSv02 functionals of openSMILE per utterance, standardised, and a multinomial logistic
regression (scikit-learn, class-balanced). It is trainable (``fit(manifest) -> self``) on the
canonical labels, saves as plain arrays (``weights.npz``) plus JSON (``emoscope-model.json``) —
no pickle — and loads back by directory: ``emoscope evaluate M --model DIR``.

It records the speakers and corpora it was trained on (``training_data``), so that
``emoscope evaluate`` can warn when a test set overlaps them.

Examples:
    >>> cfg = EgemapsLogRegConfig(c=0.5)
    >>> EgemapsLogRegConfig.from_json(cfg.to_json()).c
    0.5
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import UsageError
from emoscope.labels import CANONICAL_LABELS
from emoscope.models.base import ModelConfig, register_model
from emoscope.types import Utterance

BACKEND = "egemaps-logreg"
MODEL_FILE = "emoscope-model.json"
WEIGHTS_FILE = "weights.npz"
SAMPLE_RATE = 16000
MIN_SAMPLES = SAMPLE_RATE // 10


@dataclass
class EgemapsLogRegConfig(ModelConfig):
    """Config of the eGeMAPS + logistic-regression baseline.

    Attributes:
        path: A saved model directory to load (``None``: an unfitted model; call ``fit``).
        c: Inverse regularisation strength of the logistic regression.
        class_balanced: Weight classes inversely to their frequency when fitting.
        seed: Seed of the solver (lbfgs is deterministic; kept for the record).
        max_iter: Solver iterations.
    """

    path: str | None = None
    c: float = 1.0
    class_balanced: bool = True
    seed: int = 0
    max_iter: int = 2000


class EgemapsFunctionals:
    """The 88 eGeMAPSv02 functionals of an utterance (openSMILE, loaded lazily).

    Vectors of file-backed utterances are kept in memory, keyed by (path, start, end, file
    size and modification time), so cross-validation computes each utterance once.
    """

    def __init__(self) -> None:
        self._smile: Any = None
        self._memo: dict[tuple[Any, ...], np.ndarray] = {}

    def __call__(self, utterance: Utterance) -> np.ndarray:
        """Return the 88 functionals of ``utterance`` as float64 (NaN -> 0).

        Raises:
            AudioError: If the utterance has no readable audio.
        """
        key = None
        if utterance.waveform is None and utterance.audio is not None:
            try:
                stat = Path(utterance.audio).stat()
                key = (utterance.audio, utterance.start, utterance.end, stat.st_size, stat.st_mtime)
            except OSError:
                key = None  # load_audio below names the problem
        if key is not None and key in self._memo:
            return self._memo[key]
        values = self._compute(utterance)
        if key is not None:
            self._memo[key] = values
        return values

    def _compute(self, utterance: Utterance) -> np.ndarray:
        if self._smile is None:
            import opensmile

            self._smile = opensmile.Smile(
                feature_set=opensmile.FeatureSet.eGeMAPSv02,
                feature_level=opensmile.FeatureLevel.Functionals,
            )
        wav = utterance.load_audio(sample_rate=SAMPLE_RATE)
        if wav.size < MIN_SAMPLES:
            wav = np.pad(wav, (0, MIN_SAMPLES - wav.size))
        values = self._smile.process_signal(wav, SAMPLE_RATE).to_numpy(dtype=np.float64)[0]
        return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)

    def batch(self, utterances: Sequence[Utterance]) -> np.ndarray:
        """Return the ``(n, 88)`` functionals of ``utterances``."""
        return np.stack([self(u) for u in utterances]) if utterances else np.zeros((0, 88))


class EgemapsLogReg:
    """eGeMAPS functionals + standardisation + multinomial logistic regression.

    Learned attributes (after :meth:`fit` or loading): ``mean_``, ``scale_``, ``coef_``,
    ``intercept_``; ``labels`` orders the probability columns.
    """

    modalities = frozenset({"audio"})

    def __init__(self, config: EgemapsLogRegConfig | None = None) -> None:
        self.config = config or EgemapsLogRegConfig()
        self.features = EgemapsFunctionals()
        self.labels: tuple[str, ...] = CANONICAL_LABELS
        self.training_data: dict[str, list[str]] | None = None
        self.coef_: np.ndarray | None = None
        if self.config.path is not None:
            self._load(Path(self.config.path))

    @property
    def info(self) -> dict[str, Any]:
        """What the model is, for run records and reports."""
        return {
            "backend": BACKEND,
            "labels": list(self.labels),
            "config": self.config.to_dict(),
            "fitted": self.coef_ is not None,
            "weights_sha256": self._weights_digest(),
        }

    def _weights_digest(self) -> str | None:
        if self.coef_ is None:
            return None
        digest = hashlib.sha256()
        for array in (self.mean_, self.scale_, self.coef_, self.intercept_):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return digest.hexdigest()

    def fit(self, manifest: Sequence[Utterance]) -> EgemapsLogReg:
        """Fit on the utterances with a canonical label; return ``self``.

        Raises:
            UsageError: If fewer than two canonical labels are present.
        """
        from sklearn.linear_model import LogisticRegression

        train = [u for u in manifest if u.canonical is not None]
        present = {u.canonical for u in train}
        labels = tuple(lab for lab in CANONICAL_LABELS if lab in present)
        if len(labels) < 2:
            raise UsageError(
                f"egemaps-logreg needs at least two canonical labels to fit. Got {sorted(present)}."
            )
        x = self.features.batch(train)
        y = np.array([labels.index(u.canonical) for u in train])  # type: ignore[arg-type]
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 1e-12, x.std(axis=0), 1.0)
        clf = LogisticRegression(
            C=self.config.c,
            class_weight="balanced" if self.config.class_balanced else None,
            max_iter=self.config.max_iter,
            random_state=self.config.seed,
        )
        clf.fit((x - self.mean_) / self.scale_, y)
        self.coef_ = np.asarray(clf.coef_, dtype=np.float64)
        self.intercept_ = np.asarray(clf.intercept_, dtype=np.float64)
        self.labels = labels
        self.training_data = {
            "speakers": sorted({u.speaker for u in train if u.speaker is not None}),
            "corpora": sorted({u.corpus for u in train if u.corpus is not None}),
        }
        return self

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return ``(n, len(labels))`` probabilities.

        Raises:
            UsageError: If the model is not fitted.
            AudioError: If an utterance's audio cannot be read.
        """
        if self.coef_ is None:
            raise UsageError(
                "egemaps-logreg is not fitted. Fit it (`emoscope evaluate ... --train-manifest "
                "TRAIN.jsonl`) or give a saved model directory as --model."
            )
        x = (self.features.batch(batch) - self.mean_) / self.scale_
        logits = x @ self.coef_.T + self.intercept_
        if self.coef_.shape[0] == 1:  # binary: scikit-learn keeps one row for class 1
            logits = np.concatenate([np.zeros_like(logits), logits], axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> Path:
        """Write ``weights.npz`` and ``emoscope-model.json`` into ``directory``; return it."""
        if self.coef_ is None:
            raise UsageError("egemaps-logreg must be fitted before it is saved.")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(
            directory / WEIGHTS_FILE,
            mean=self.mean_,
            scale=self.scale_,
            coef=self.coef_,
            intercept=self.intercept_,
        )
        config = {k: v for k, v in self.config.to_dict().items() if k != "path"}
        doc = {
            "backend": BACKEND,
            "labels": list(self.labels),
            "config": config,
            "training_data": self.training_data,
        }
        (directory / MODEL_FILE).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return directory

    def _load(self, directory: Path) -> None:
        doc = _read_model_file(directory)
        if doc is None:
            raise UsageError(
                f"{directory}: not a saved egemaps-logreg model (expected {MODEL_FILE} with "
                f"backend {BACKEND!r} and {WEIGHTS_FILE})."
            )
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as w:
            self.mean_, self.scale_ = w["mean"], w["scale"]
            self.coef_, self.intercept_ = w["coef"], w["intercept"]
        self.labels = tuple(doc["labels"])
        self.training_data = doc.get("training_data")


def _read_model_file(directory: Path) -> dict[str, Any] | None:
    path = Path(directory) / MODEL_FILE
    if not path.is_file() or not (Path(directory) / WEIGHTS_FILE).is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("backend") == BACKEND else None


def _from_path(directory: Path) -> EgemapsLogRegConfig | None:
    doc = _read_model_file(directory)
    if doc is None:
        return None
    known = {k: v for k, v in doc.get("config", {}).items() if k != "path"}
    return EgemapsLogRegConfig(path=str(directory), **known)


@dataclass
class ChanceConfig(ModelConfig):
    """Config of the chance baseline (no options)."""


class Chance:
    """The chance floor: uniform probabilities over the canonical labels, whatever the input.

    Its predicted label is always the first canonical label (``neutral``), so its UA is
    ``1 / K`` on K classes: the floor that a compare table should show. Not trainable.

    Examples:
        >>> Chance().predict_proba([Utterance(id="u")]).round(3).tolist()
        [[0.143, 0.143, 0.143, 0.143, 0.143, 0.143, 0.143]]
    """

    labels = CANONICAL_LABELS
    modalities = frozenset({"audio", "text"})

    def __init__(self, config: ChanceConfig | None = None) -> None:
        self.config = config or ChanceConfig()

    @property
    def info(self) -> dict[str, Any]:
        """What the model is, for run records and reports."""
        return {"backend": "chance", "labels": list(self.labels)}

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return uniform probabilities, ``(n, 7)``."""
        return np.full((len(batch), len(self.labels)), 1.0 / len(self.labels))


register_model(BACKEND, EgemapsLogRegConfig, EgemapsLogReg, from_path=_from_path)
register_model("chance", ChanceConfig, Chance)
