"""The embedded default model: small heads on offline features, shipped in the package.

Registered as ``default``. It needs no GPU and no network:

- **audio**: Whisper tiny.en encoder frames of its four transformer blocks (mean and standard
  deviation over the utterance, side by side) and the 88 eGeMAPS functionals -> a standardised
  linear head trained on RAVDESS. A second audio head, trained on features normalised per speaker,
  is used for the speakers the model was adapted to with :meth:`DefaultModel.adapt_speakers` (their
  feature statistics come from their own utterances, no labels needed).
- **text**: all-MiniLM-L6-v2 fine-tuned on MELD train (LoRA on its top layers, merged at load,
  and a linear head; :mod:`emoscope.features.text_classifier`).
- **fusion**: a weighted product of experts, ``log p = sum_m w_m log p_m`` renormalised, over
  the modalities the utterance has; with one modality missing the other decides alone.
  :meth:`DefaultModel.predict_modalities` gives each modality's probabilities.

Audio heads run in numpy, the text classifier in PyTorch, from the arrays in
``emoscope/weights/default/model.safetensors`` (no pickle); ``config.json`` next to it says
how they were trained (``emoscope train-default`` rebuilds them).

Examples:
    >>> cfg = DefaultModelConfig(modality="text")
    >>> DefaultModelConfig.from_json(cfg.to_json()).modality
    'text'
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

import emoscope.features  # noqa: F401  (sets OMP_WAIT_POLICY before OpenMP libraries load)
from emoscope.errors import UsageError
from emoscope.labels import CANONICAL_LABELS
from emoscope.models.base import ModelConfig, register_model
from emoscope.types import Utterance

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
FORMAT = "emoscope.default/2"
TEXT_CLASSIFIER = "minilm-lora-classifier"
"""``heads.<name>.kind`` of a head that is a fine-tuned text classifier (not a :class:`Head`)."""
MODALITY_CHOICES = ("audio", "text", "both")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (float64), stable for large logits.

    Examples:
        >>> softmax(np.array([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Head:
    """A standardised linear or one-hidden-layer ReLU head, run in numpy from plain arrays.

    Args:
        arrays: ``mean``, ``scale``, ``w0``, ``b0`` and, for an MLP, ``w1``, ``b1``;
            optionally ``clip`` (one value: standardised inputs are clipped to +-clip).
        temperature: Logits are divided by it (temperature scaling).

    Examples:
        >>> h = Head({"mean": np.zeros(2), "scale": np.ones(2), "w0": np.eye(2), "b0": np.zeros(2)})
        >>> h.predict_logits(np.array([[1.0, 0.0]])).tolist()
        [[1.0, 0.0]]
    """

    def __init__(self, arrays: Mapping[str, np.ndarray], *, temperature: float = 1.0) -> None:
        self.arrays = {k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        self.temperature = float(temperature)

    @property
    def n_inputs(self) -> int:
        """Length of the input vectors."""
        return int(self.arrays["mean"].shape[0])

    def predict_logits(self, x: np.ndarray) -> np.ndarray:
        """Return ``(n, n_classes)`` logits (already divided by the temperature)."""
        a = self.arrays
        h = (np.asarray(x, dtype=np.float64) - a["mean"]) / a["scale"]
        if "clip" in a:  # out-of-range inputs (an unusual recording) stay within +-clip
            h = np.clip(h, -a["clip"][0], a["clip"][0])
        h = h @ a["w0"] + a["b0"]
        if "w1" in a:
            h = np.maximum(h, 0.0) @ a["w1"] + a["b1"]
        return h / self.temperature

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Return ``(n, n_classes)`` probabilities."""
        return softmax(self.predict_logits(x))


def shipped_weights_dir() -> Path:
    """Return the folder of the weights that ship in the package."""
    return Path(str(resources.files("emoscope") / "weights" / "default"))


def save_weights(folder: Path, arrays: Mapping[str, np.ndarray], config: Mapping[str, Any]) -> None:
    """Write ``model.safetensors`` (float32 arrays) and ``config.json`` (sorted) to ``folder``."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(arrays.items())}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    text = json.dumps(dict(config), sort_keys=True, indent=2, ensure_ascii=False)
    (folder / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")


def load_weights(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the arrays and the config written by :func:`save_weights`.

    Raises:
        UsageError: If a file is missing or not in the expected format.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    weights, config = folder / WEIGHTS_FILE, folder / CONFIG_FILE
    for path in (weights, config):
        if not path.is_file():
            raise UsageError(
                f"{path}: missing. A default-model folder holds {WEIGHTS_FILE} and {CONFIG_FILE}; "
                "`emoscope train-default -o FOLDER` writes one."
            )
    try:
        arrays = load_file(str(weights))
        meta = json.loads(config.read_text(encoding="utf-8"))
    except (SafetensorError, ValueError) as exc:
        raise UsageError(f"{folder}: unreadable default-model weights ({exc}).") from exc
    if meta.get("format") != FORMAT:
        raise UsageError(
            f"{config}: 'format' must be {FORMAT!r}. Got {meta.get('format')!r}; "
            "rebuild the weights with `emoscope train-default`."
        )
    return arrays, meta


def arrays_of(arrays: Mapping[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    """Return the ``"<name>.<array>"`` tensors of one head, without the prefix.

    Examples:
        >>> sorted(arrays_of({"a.w": np.zeros(1), "b.w": np.ones(1)}, "a"))
        ['w']
    """
    prefix = f"{name}."
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def heads_from_arrays(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> dict[str, Head]:
    """Group ``"<head>.<array>"`` tensors into :class:`Head` objects named as in ``meta``.

    Heads of another ``kind`` (the fine-tuned text classifier) are left out.
    """
    return {
        name: Head(arrays_of(arrays, name), temperature=float(info.get("temperature", 1.0)))
        for name, info in meta["heads"].items()
        if info.get("kind", "head") == "head"
    }


@dataclass
class DefaultModelConfig(ModelConfig):
    """Options of the default model.

    Args:
        modality: ``"audio"``, ``"text"`` or ``"both"`` (fusion; either alone when the other
            is missing).
        min_speaker_utterances: Fewest utterances with audio that
            :meth:`DefaultModel.adapt_speakers` needs to adapt to a speaker.
        use_context: Give the text side the preceding turns (``Utterance.context``) when its
            classifier was trained with context (the shipped one was not).
        audio_weight: Weight of the audio expert in fusion (``None``: the shipped value).
        text_weight: Weight of the text expert in fusion (``None``: the shipped value).
        weights: A folder with ``model.safetensors`` and ``config.json`` (``None``: shipped).
        cache: Cache features per utterance under ``$EMOSCOPE_CACHE`` (or ~/.cache/emoscope).
        threads: CPU threads of the CTranslate2 Whisper encoder, for weights trained on its
            last layer only (``None``: automatic). The shipped weights use every layer, through
            the PyTorch encoder, which follows ``torch.set_num_threads`` / ``OMP_NUM_THREADS``.
    """

    modality: str = "both"
    min_speaker_utterances: int = 8
    use_context: bool = True
    audio_weight: float | None = None
    text_weight: float | None = None
    weights: str | None = None
    cache: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.modality not in MODALITY_CHOICES:
            raise UsageError(
                f"The 'modality' option of the default model must be one of "
                f"{', '.join(MODALITY_CHOICES)}. Got {self.modality!r}."
            )
        if self.min_speaker_utterances < 2:
            raise UsageError(
                "The 'min_speaker_utterances' option of the default model must be at least 2. "
                f"Got {self.min_speaker_utterances}."
            )


class DefaultModel:
    """The embedded default model (see the module docs).

    Args:
        config: Its options.

    Raises:
        UsageError: If the weights folder is missing or malformed.
    """

    labels: tuple[str, ...] = CANONICAL_LABELS

    def __init__(self, config: DefaultModelConfig | None = None) -> None:
        self.config = config or DefaultModelConfig()
        folder = Path(self.config.weights) if self.config.weights else shipped_weights_dir()
        arrays, self.meta = load_weights(folder)
        if tuple(self.meta["labels"]) != self.labels:
            raise UsageError(
                f"{folder}: the weights' labels {self.meta['labels']} must be the canonical "
                f"labels {list(self.labels)}."
            )
        self.heads = heads_from_arrays(arrays, self.meta)
        self._text_arrays = arrays_of(arrays, "text")
        self.priors = {"text": np.asarray(self._text_arrays.pop("log_prior"), dtype=np.float64)}
        self.text_temperature = float(self.meta["heads"]["text"].get("temperature", 1.0))
        fusion = self.meta.get("fusion", {})
        self.weights_ = {
            "audio": float(
                self.config.audio_weight
                if self.config.audio_weight is not None
                else fusion.get("audio", 1.0)
            ),
            "text": float(
                self.config.text_weight
                if self.config.text_weight is not None
                else fusion.get("text", 1.0)
            ),
        }
        wanted = {"audio", "text"} if self.config.modality == "both" else {self.config.modality}
        self.modalities = frozenset(wanted)
        self._audio: Any = None
        self._text: Any = None
        self._last: tuple[tuple, dict[str, np.ndarray]] | None = None
        self.training_data = self.meta.get("training_data", {})
        self.info = {
            "name": "default",
            "version": str(self.meta.get("emoscope_version", "")),
            "backend": "emoscope-default",
            "card": {
                "weights": str(folder),
                "training_data": self.training_data,
                "licenses": self.meta.get("licenses", {}),
                "summary": self.meta.get("summary", {}),
                "modality": self.config.modality,
            },
        }
        self._speaker_stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._adapted_features: dict[tuple[str, str], np.ndarray] = {}

    # -- features ------------------------------------------------------------------------

    def _cache_root(self) -> Path | None:
        if not self.config.cache:
            return None
        from emoscope.features.cache import default_cache_dir

        return default_cache_dir()

    def audio_features(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return the audio feature vectors of utterances that all have audio."""
        keys = [_audio_file_key(u) for u in batch]
        if self._adapted_features and all(k in self._adapted_features for k in keys):
            return np.stack([self._adapted_features[k] for k in keys])
        if self._audio is None:
            from emoscope.features.audio import AudioFeaturizer

            spec = self.meta["features"]["audio"]
            root = self._cache_root()
            self._audio = AudioFeaturizer(
                stats=spec["stats"],
                egemaps=spec["egemaps"],
                layers=spec.get("layers"),
                cache_root=None if root is None else str(root),
                threads=self.config.threads,
            )
        return self._audio([u.load_audio() for u in batch])

    def text_logits(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return the text classifier's ``(n, 7)`` logits (before the temperature).

        For utterances that all have a transcript; the context goes in only with
        ``use_context`` and a classifier trained with context.
        """
        if self._text is None:
            from emoscope.features.text_classifier import TextClassifier

            self._text = TextClassifier(
                self._text_arrays, self.meta["features"]["text"]["classifier"]
            )
        texts = [(u.transcript or "").strip() for u in batch]
        contexts = [tuple(u.context) if self.config.use_context else () for u in batch]
        return self._text.predict_logits(texts, contexts).astype(np.float64)

    # -- speaker adaptation --------------------------------------------------------------

    @property
    def adapted_speakers(self) -> tuple[str, ...]:
        """The speakers :meth:`adapt_speakers` has statistics of, sorted."""
        return tuple(sorted(self._speaker_stats))

    def adapt_speakers(
        self, utterances: Sequence[Utterance], *, batch_size: int = 16
    ) -> dict[str, int]:
        """Learn each speaker's audio feature statistics from their own utterances.

        Unsupervised (no label is read): the mean and standard deviation of the audio features
        over a speaker's utterances. Afterwards the audio side of those speakers' utterances is
        z-scored with them and goes through the head trained on per-speaker-normalised
        features (8 points of UA on RAVDESS, see the model card); other speakers keep the
        plain head. A prediction then depends on the adaptation set, never on its batch.
        Speakers with fewer than ``min_speaker_utterances`` utterances with audio are left
        out; utterances whose audio cannot be decoded are skipped. Calling it again replaces
        the statistics of the speakers it sees and keeps the others.

        Args:
            utterances: Utterances with ``speaker`` and audio (others are ignored).
            batch_size: Utterances per feature batch.

        Returns:
            The number of utterances used for each adapted speaker.
        """
        if "audio_spk" not in self.heads or "audio" not in self.modalities:
            return {}
        by_speaker: dict[str, list[Utterance]] = {}
        for u in utterances:
            if u.speaker and u.has_audio:
                by_speaker.setdefault(u.speaker, []).append(u)
        least = self.config.min_speaker_utterances
        wanted = [u for us in by_speaker.values() if len(us) >= least for u in us]
        features: dict[tuple[str, str], np.ndarray] = {}
        for i in range(0, len(wanted), batch_size):
            part = wanted[i : i + batch_size]
            try:
                rows = list(self.audio_features(part))
                kept = part
            except Exception:  # noqa: BLE001  (one bad file must not stop the others)
                rows, kept = [], []
                for u in part:
                    try:
                        rows.append(self.audio_features([u])[0])
                        kept.append(u)
                    except Exception:  # noqa: BLE001,S112
                        continue
            for u, row in zip(kept, rows, strict=True):
                features[_audio_file_key(u)] = np.asarray(row, dtype=np.float64)
        used: dict[str, int] = {}
        for speaker, us in sorted(by_speaker.items()):
            x = [features[k] for k in map(_audio_file_key, us) if k in features]
            if len(x) < least:
                continue
            self._speaker_stats[speaker] = speaker_statistics(np.stack(x))
            used[speaker] = len(x)
        self._adapted_features.update(features)
        self._last = None
        return used

    def adaptation_session(self) -> AdaptationSession | None:
        """Return a new :class:`AdaptationSession` (one recording), or ``None`` if it cannot adapt.

        ``None`` when the weights have no speaker-normalised head or the audio side is not used
        (``modality="text"``). The session shares this model's loaded parts and changes nothing
        in it, so one model can serve several recordings (and threads) at once.
        """
        if "audio_spk" not in self.heads or "audio" not in self.modalities:
            return None
        return AdaptationSession(self)

    def _audio_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        return self._audio_proba_of(batch, self.audio_features(batch), self._speaker_stats)

    def _audio_proba_of(
        self,
        batch: Sequence[Utterance],
        x: np.ndarray,
        speaker_stats: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ) -> np.ndarray:
        """Audio probabilities from features ``x``: the speaker head where a speaker has stats."""
        proba = self.heads["audio"].predict_proba(x)
        for i, u in enumerate(batch):
            stats = speaker_stats.get(u.speaker or "")
            if stats is not None:
                proba[i] = self._speaker_head_proba(x[i : i + 1], stats)[0]
        return proba

    def _speaker_head_proba(
        self, x: np.ndarray, stats: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """Probabilities of the speaker-normalised head for rows of one speaker's features."""
        z = (np.asarray(x, dtype=np.float64) - stats[0]) / stats[1]
        return self.heads["audio_spk"].predict_proba(z)

    def _key(self, batch: Sequence[Utterance]) -> tuple:
        from emoscope.features.cache import audio_key

        return tuple((u, None if u.waveform is None else audio_key(u.waveform)) for u in batch)

    def _per_modality(self, batch: list[Utterance]) -> dict[str, np.ndarray]:
        """Each used modality's probabilities, NaN rows where it is missing (memoised)."""
        key = self._key(batch)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        out, _ = self._modalities_and_features(batch)
        self._last = (key, out)
        return out

    def _modalities_and_features(
        self, batch: Sequence[Utterance]
    ) -> tuple[dict[str, np.ndarray], dict[int, np.ndarray]]:
        """Each used modality's probabilities (NaN rows where missing) and the audio features.

        The features are by row index, for the rows whose audio was used.
        """
        out: dict[str, np.ndarray] = {}
        features: dict[int, np.ndarray] = {}
        n = len(batch)
        if "audio" in self.modalities:
            probs = np.full((n, len(self.labels)), np.nan)
            rows = [i for i, u in enumerate(batch) if u.has_audio]
            if rows:
                part = [batch[i] for i in rows]
                x = self.audio_features(part)
                probs[rows] = self._audio_proba_of(part, x, self._speaker_stats)
                features = {i: x[k] for k, i in enumerate(rows)}
            out["audio"] = probs
        if "text" in self.modalities:
            probs = np.full((n, len(self.labels)), np.nan)
            rows = [i for i, u in enumerate(batch) if u.has_text]
            if rows:
                probs[rows] = self._text_proba([batch[i] for i in rows])
            out["text"] = probs
        return out, features

    def predict_modalities(
        self, batch: Sequence[Utterance], *, missing: str = "drop"
    ) -> dict[str, np.ndarray]:
        """Return each modality's ``(n, 7)`` probabilities.

        Right after :meth:`predict_proba` on the same batch this costs nothing (the features
        are not computed twice).

        Args:
            batch: The utterances.
            missing: What to do with a modality that some utterance lacks (no audio, or no
                transcript): ``"drop"`` leaves that modality out of the result, ``"nan"``
                keeps it with NaN rows for those utterances.

        Raises:
            UsageError: If ``missing`` is neither ``"drop"`` nor ``"nan"``.
        """
        if missing not in ("drop", "nan"):
            raise UsageError(f"'missing' must be 'drop' or 'nan'. Got {missing!r}.")
        batch = list(batch)
        if not batch:
            return {}
        out = self._per_modality(batch)
        if missing == "nan":
            return {k: v.copy() for k, v in out.items()}
        return {k: v.copy() for k, v in out.items() if not np.isnan(v).any()}

    def _text_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        return softmax(self.text_logits(batch) / self.text_temperature)

    def fuse(self, per_modality: Mapping[str, np.ndarray]) -> np.ndarray:
        """Weighted product of experts over the modalities present in each row.

        With two modalities, ``log p = (w_a log p_a + w_t (log p_t - log prior_t)) / (w_a +
        w_t)``, renormalised: the text head's MELD class prior is divided out so that text
        without emotional content (e.g. RAVDESS's two statements) leaves the audio decision
        alone. A modality alone gives its own probabilities.

        Raises:
            UsageError: If a row has no modality at all.
        """
        n = len(next(iter(per_modality.values()))) if per_modality else 0
        log_sum = np.zeros((n, len(self.labels)))
        weight = np.zeros((n, 1))
        present = {k: ~np.isnan(v).any(axis=1) for k, v in per_modality.items()}
        count = sum(p.astype(int) for p in present.values()) if present else np.zeros(n, int)
        for name, probs in per_modality.items():
            rows = present[name]
            w = self.weights_[name]
            log_p = np.log(np.clip(probs[rows], 1e-12, 1.0))
            prior = self.priors.get(name)
            if prior is not None:  # divide the prior out where another expert joins in
                log_p = log_p - prior * (count[rows] > 1)[:, None]
            log_sum[rows] += w * log_p
            weight[rows] += w
        if (weight == 0).any():
            wanted = (
                "audio or a transcript" if self.config.modality == "both" else self.config.modality
            )
            raise UsageError(
                f"The default model ({self.config.modality}) needs {wanted} for every "
                f"utterance; {int((weight == 0).sum())} of the batch have none."
            )
        return softmax(log_sum / weight)

    def predict_proba(self, batch: Sequence[Utterance]) -> np.ndarray:
        """Return ``(n, 7)`` fused probabilities over the canonical labels.

        Raises:
            UsageError: If an utterance has nothing this model's modalities can use.
            AudioError: If an utterance's audio cannot be decoded.
        """
        batch = list(batch)
        if not batch:
            return np.zeros((0, len(self.labels)))
        return self.fuse(self._per_modality(batch))


def speaker_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the mean and standard deviation (1 where it is ~0) of one speaker's feature rows.

    What :meth:`DefaultModel.adapt_speakers` and :meth:`AdaptationSession.adapt` keep per
    speaker; computed in float64.

    Examples:
        >>> mean, sd = speaker_statistics(np.array([[1.0, 5.0], [3.0, 5.0]]))
        >>> mean.tolist(), sd.tolist()
        ([2.0, 5.0], [1.0, 1.0])
    """
    x = np.asarray(features, dtype=np.float64)
    sd = x.std(axis=0)
    return x.mean(axis=0), np.where(sd > 1e-8, sd, 1.0)


class AdaptationSession:
    """Speaker adaptation over one recording, with no feature computed twice.

    :meth:`predict` gives the model's plain predictions (what ``predict_proba`` and
    ``predict_modalities(missing="nan")`` give) and keeps, by utterance id, each utterance's
    audio feature vector (float32; 12.6 KB with the shipped weights) and per-modality
    probabilities. Once the recording is through, :meth:`adapt` learns each speaker's feature
    statistics from the kept vectors (as :meth:`DefaultModel.adapt_speakers` does from audio)
    and :meth:`predictions` gives the adapted predictions: adapted speakers' audio side through
    the speaker-normalised head, fused with the kept text probabilities; nothing is recomputed.
    The model itself is not changed. :meth:`DefaultModel.adaptation_session` makes one.

    Args:
        model: The model whose predictions are adapted.
    """

    def __init__(self, model: DefaultModel) -> None:
        self.model = model
        self.min_utterances = model.config.min_speaker_utterances
        """Fewest utterances of a speaker that :meth:`adapt` adapts to."""
        self._features: dict[str, np.ndarray] = {}
        self._keys: dict[str, tuple[str, str]] = {}
        self._parts: dict[str, dict[str, np.ndarray]] = {}
        self._speakers: dict[str, str] = {}
        self._stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def predict(self, batch: Sequence[Utterance]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the plain predictions and keep what :meth:`predictions` needs.

        The fused ``(n, 7)`` probabilities and each modality's (NaN rows where it is missing).

        Raises:
            UsageError: If an utterance has nothing the model's modalities can use.
            AudioError: If an utterance's audio cannot be decoded.
        """
        batch = list(batch)
        if not batch:
            return np.zeros((0, len(self.model.labels))), {}
        parts, features = self.model._modalities_and_features(batch)
        proba = self.model.fuse(parts)
        for i, u in enumerate(batch):
            self._parts[u.id] = {name: values[i].copy() for name, values in parts.items()}
            if i in features:
                self._features[u.id] = features[i]
                self._keys[u.id] = _audio_file_key(u)
        return proba, {name: values.copy() for name, values in parts.items()}

    def adapt(self, speakers: Mapping[str, str | None]) -> dict[str | None, int]:
        """Learn each speaker's feature statistics from the utterances :meth:`predict` kept.

        Args:
            speakers: Utterance id -> its speaker, in the order the statistics are summed;
                ``None`` is one more speaker: the utterances without a name (pass it only when
                they are one voice, such as a whole recording without speaker attribution).
                Ids never predicted, or predicted without audio, are ignored.

        Returns:
            The number of utterances used for each adapted speaker: those with at least
            ``min_utterances``. Others keep the plain head.
        """
        groups: dict[str | None, list[str]] = {}
        for uid, speaker in speakers.items():
            if uid in self._features:
                groups.setdefault(speaker, []).append(uid)
        used: dict[str | None, int] = {}
        for speaker, ids in groups.items():
            if len(ids) < self.min_utterances:
                continue
            self._stats[speaker or ""] = speaker_statistics(
                np.stack([self._features[i] for i in ids])
            )
            for uid in ids:
                self._speakers[uid] = speaker or ""
            used[speaker] = len(ids)
        return used

    def predictions(self, ids: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return the fused probabilities and each modality's for utterances already predicted.

        After :meth:`adapt`, the audio side of adapted speakers' utterances comes from the
        speaker-normalised head; everything else is what :meth:`predict` gave.

        Raises:
            KeyError: If an id was never predicted.
        """
        if not ids:
            return np.zeros((0, len(self.model.labels))), {}
        names = list(self._parts[ids[0]])
        parts = {name: np.stack([self._parts[i][name] for i in ids]) for name in names}
        for row, uid in enumerate(ids):
            speaker = self._speakers.get(uid)
            if speaker is not None and "audio" in parts:
                stats = self._stats[speaker]
                parts["audio"][row] = self.model._speaker_head_proba(
                    self._features[uid][None, :], stats
                )[0]
        return self.model.fuse(parts), parts

    def adapted_model(self) -> DefaultModel:
        """Return a model that predicts as :meth:`predictions` does, for new calls.

        A shallow copy of the model (loaded parts shared) with this session's speaker
        statistics (the unnamed speaker under ``speaker=None``) and its kept features, so that
        predicting the same utterances again computes nothing; for explanations, which run
        the model on altered copies of each utterance.
        """
        import copy

        twin = copy.copy(self.model)
        twin._speaker_stats = {**self.model._speaker_stats, **self._stats}
        twin._adapted_features = {
            **self.model._adapted_features,
            **{self._keys[i]: self._features[i] for i in self._keys},
        }
        twin._last = None
        return twin


def _audio_file_key(u: Utterance) -> tuple[str, str]:
    """What identifies an utterance's audio among the adapted ones: its id and its source."""
    if u.waveform is not None:
        from emoscope.features.cache import audio_key

        return (u.id, audio_key(u.waveform))
    return (u.id, f"{u.audio}|{u.start}|{u.end}")


def _from_path(path: Path) -> DefaultModelConfig | None:
    try:
        meta = json.loads((Path(path) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None
    if not (Path(path) / WEIGHTS_FILE).is_file():
        return None
    return DefaultModelConfig(weights=str(path))


register_model("default", DefaultModelConfig, DefaultModel, from_path=_from_path)
