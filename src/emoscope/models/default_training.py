"""Training of the embedded default model from RAVDESS (audio) and MELD (text).

Everything here is seeded and single-order, so the same data, code and machine give the same
arrays bit for bit (``emoscope train-default`` checks this against the shipped weights).

- :func:`load_ravdess` / :func:`load_meld`: the training corpora as utterances, through the
  corpus recipes of :mod:`emoscope.data.recipes` (so ids and speakers match evaluation's).
- :func:`fit_head`: a standardised linear (logistic regression) or one-hidden-layer MLP head,
  returned as plain arrays that :class:`emoscope.models.default.Head` runs in numpy.
- :func:`cross_validate_audio`: actor-grouped cross-validation on RAVDESS.
- :func:`fit_temperature`: temperature scaling of out-of-fold logits.
- :func:`classification_report`: UA, WA, macro/weighted F1 with bootstrap CIs, per class and
  per group.

Examples:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(-2, 1, (20, 3)), rng.normal(2, 1, (20, 3))]
    >>> y = np.r_[np.zeros(20, int), np.ones(20, int)]
    >>> head = fit_head(x, y, n_classes=2, spec=HeadSpec(kind="linear"), seed=0)
    >>> bool((Head(head).predict_logits(x).argmax(1) == y).mean() > 0.9)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import ManifestError
from emoscope.features.text_classifier import TextClassifierSettings
from emoscope.labels import CANONICAL_LABELS
from emoscope.models.default import Head
from emoscope.types import Utterance


def load_ravdess(corpus_dir: Path) -> list[Utterance]:
    """Return RAVDESS speech utterances with canonical labels (calm -> neutral), sorted by id.

    Uses the ``ravdess`` corpus recipe (speech channel only).

    Raises:
        ManifestError: If no RAVDESS file is found under ``corpus_dir``.
    """
    from emoscope.data.recipes import prepare

    utts = prepare("ravdess", Path(corpus_dir), channels=("speech",))
    return sorted((u for u in utts if u.canonical in CANONICAL_LABELS), key=lambda u: u.id)


def load_meld(corpus_dir: Path, split: str, *, context_turns: int = 3) -> list[Utterance]:
    """Return MELD utterances of ``split`` (train or dev) with their preceding turns as context.

    Uses the ``meld`` corpus recipe; utterances without a transcript are left out.

    Raises:
        ManifestError: If no MELD CSV is found, or none of ``split``.
    """
    from emoscope.data.recipes import prepare

    utts = prepare("meld", Path(corpus_dir), context_turns=context_turns)
    out = [u for u in utts if u.split == split and u.canonical in CANONICAL_LABELS and u.has_text]
    if not out:
        raise ManifestError(f"{corpus_dir}: no MELD {split} utterances ({split}_sent_emo.csv).")
    return out


# ---------------------------------------------------------------------------------------------
# heads


@dataclass(frozen=True)
class HeadSpec:
    """How to train a classification head.

    Args:
        kind: ``"linear"`` (multinomial logistic regression) or ``"mlp"`` (one ReLU layer).
        c: Inverse L2 strength of the linear head.
        hidden: Hidden units of the MLP.
        alpha: L2 strength of the MLP.
        epochs: MLP training epochs (Adam).
        balanced: Weight classes inversely to their frequency.
        clip: At prediction time standardised inputs are clipped to +-clip (one clip of an
            unseen actor otherwise gave a logit of -224 and dominated the calibration).
    """

    kind: str = "linear"
    c: float = 1.0
    hidden: int = 256
    alpha: float = 1e-2
    epochs: int = 200
    balanced: bool = True
    clip: float = 8.0

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict."""
        return dict(self.__dict__)


def _class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights[y]


def _place(
    w: np.ndarray, b: np.ndarray, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray
) -> None:
    """Put a fitted layer's columns at their classes' places (binary: one logit -> two)."""
    if coef.shape[1] == 1 and len(classes) == 2:
        w[:, classes[0]], b[classes[0]] = 0.0, 0.0
        w[:, classes[1]], b[classes[1]] = coef[:, 0], intercept[0]
    else:
        w[:, classes] = coef
        b[classes] = intercept


def fit_head(
    x: np.ndarray, y: np.ndarray, *, n_classes: int, spec: HeadSpec, seed: int
) -> dict[str, np.ndarray]:
    """Standardise ``x`` and fit a head; return its arrays (float32).

    The arrays are ``mean`` and ``scale`` (standardisation) and ``w0``, ``b0`` (and ``w1``,
    ``b1`` for the MLP), as :class:`emoscope.models.default.Head` expects.

    Raises:
        ValueError: If ``spec.kind`` is unknown.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-8, scale, 1.0)
    z = np.clip((x - mean) / scale, -spec.clip, spec.clip)
    weight = _class_weights(y, n_classes) if spec.balanced else None
    arrays = {"mean": mean, "scale": scale, "clip": np.array([spec.clip])}
    if spec.kind == "linear":
        clf = LogisticRegression(C=spec.c, max_iter=1000, tol=1e-4, random_state=seed)
        clf.fit(z, y, sample_weight=weight)
        w = np.zeros((z.shape[1], n_classes))
        b = np.full(n_classes, -30.0)
        _place(w, b, clf.classes_, clf.coef_.T, clf.intercept_)
        arrays.update(w0=w, b0=b)
    elif spec.kind == "mlp":
        clf = MLPClassifier(
            hidden_layer_sizes=(spec.hidden,),
            alpha=spec.alpha,
            max_iter=spec.epochs,
            random_state=seed,
            batch_size=64,
            learning_rate_init=1e-3,
            n_iter_no_change=spec.epochs,
            tol=0.0,
        )
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(z, y, sample_weight=weight)
        w1 = np.zeros((spec.hidden, n_classes))
        b1 = np.full(n_classes, -30.0)
        _place(w1, b1, clf.classes_, clf.coefs_[1], clf.intercepts_[1])
        arrays.update(w0=clf.coefs_[0], b0=clf.intercepts_[0], w1=w1, b1=b1)
    else:
        raise ValueError(f"Unknown head kind {spec.kind!r}. Known: 'linear', 'mlp'.")
    return {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}


def speaker_normalise(x: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Z-score each feature within each group (speaker or recording).

    Examples:
        >>> speaker_normalise(np.array([[1.0], [3.0], [10.0], [10.0]]), ["a", "a", "b", "b"])
        array([[-1.],
               [ 1.],
               [ 0.],
               [ 0.]])
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    groups = np.asarray(groups)
    for g in np.unique(groups):
        rows = groups == g
        mu = x[rows].mean(axis=0)
        sd = x[rows].std(axis=0)
        out[rows] = (x[rows] - mu) / np.where(sd > 1e-8, sd, 1.0)
    return out


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    *,
    n_classes: int,
    spec: HeadSpec,
    seed: int,
    n_folds: int = 5,
    on_fold: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Return out-of-fold logits from group k-fold cross-validation (no group in two folds).

    Groups are assigned to folds in sorted order, round robin, so folds are reproducible.
    """
    groups = np.asarray(groups)
    names = sorted(set(groups.tolist()))
    fold_of = {g: i % n_folds for i, g in enumerate(names)}
    folds = np.array([fold_of[g] for g in groups])
    logits = np.zeros((len(y), n_classes))
    for k in range(n_folds):
        test = folds == k
        if not test.any():
            continue
        if set(groups[test].tolist()) & set(groups[~test].tolist()):
            raise AssertionError("a group is in both the training and the test part of a fold")
        arrays = fit_head(x[~test], y[~test], n_classes=n_classes, spec=spec, seed=seed)
        logits[test] = Head(arrays).predict_logits(x[test])
        if on_fold is not None:
            on_fold(k)
    return logits


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Return the temperature that minimises the NLL of ``softmax(logits / T)``.

    A grid search over log T in [-3, 3] (step 0.005); deterministic.
    """
    logits = np.asarray(logits, dtype=np.float64)

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    grid = np.linspace(-3.0, 3.0, 1201)  # log T in steps of 0.005: robust and deterministic
    values = [nll(t) for t in grid]
    return float(np.exp(grid[int(np.argmin(values))]))


# ---------------------------------------------------------------------------------------------
# metrics


def _scores(y: np.ndarray, pred: np.ndarray, present: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, recall_score

    return {
        "ua": float(recall_score(y, pred, labels=present, average="macro", zero_division=0)),
        "wa": float((y == pred).mean()),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(
            f1_score(y, pred, labels=present, average="weighted", zero_division=0)
        ),
    }


@dataclass
class Report:
    """Classification figures with bootstrap 95 % confidence intervals."""

    n: int
    scores: dict[str, float]
    ci95: dict[str, list[float]]
    per_class: dict[str, dict[str, float]]
    per_group: dict[str, dict[str, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "n": self.n,
            **{k: round(v, 4) for k, v in self.scores.items()},
            "ci95": {k: [round(a, 4) for a in v] for k, v in self.ci95.items()},
            "per_class": self.per_class,
            "per_group": self.per_group,
            **self.extra,
        }


def classification_report(
    y: np.ndarray,
    pred: np.ndarray,
    *,
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    boot: int = 1000,
    seed: int = 0,
) -> Report:
    """UA (macro recall), WA (accuracy), macro and weighted F1 with bootstrap CIs.

    Args:
        y: True class indices.
        pred: Predicted class indices.
        labels: Names of the class indices.
        groups: Optional group of each item (e.g. gender): figures per group.
        boot: Bootstrap resamples (utterances drawn with replacement).
        seed: Seed of the bootstrap.

    Examples:
        >>> r = classification_report(np.array([0, 1, 1]), np.array([0, 1, 0]), labels=["a", "b"])
        >>> r.scores["ua"], r.scores["wa"]
        (0.75, 0.6666666666666666)
    """
    from sklearn.metrics import precision_recall_fscore_support

    y = np.asarray(y)
    pred = np.asarray(pred)
    present = np.unique(y)
    scores = _scores(y, pred, present)
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {k: [] for k in scores}
    for _ in range(boot):
        idx = rng.integers(0, len(y), len(y))
        for k, v in _scores(y[idx], pred[idx], present).items():
            samples[k].append(v)
    ci = {
        k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in samples.items()
    }
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=present, zero_division=0)
    per_class = {
        labels[c]: {
            "precision": round(float(p[i]), 4),
            "recall": round(float(r[i]), 4),
            "f1": round(float(f[i]), 4),
            "support": int(s[i]),
        }
        for i, c in enumerate(present)
    }
    per_group = {}
    if groups is not None:
        groups = np.asarray(groups)
        for g in sorted(set(groups.tolist())):
            rows = groups == g
            per_group[str(g)] = {
                "n": int(rows.sum()),
                **{k: round(v, 4) for k, v in _scores(y[rows], pred[rows], present).items()},
            }
    return Report(n=len(y), scores=scores, ci95=ci, per_class=per_class, per_group=per_group)


# ---------------------------------------------------------------------------------------------
# the whole recipe


@dataclass(frozen=True)
class TrainSettings:
    """What ``emoscope train-default`` does; the shipped weights use the defaults.

    Args:
        seed: Seed of every random choice (heads, bootstrap).
        stats: Pooling statistics of the Whisper frames.
        layers: Whisper encoder hidden states to pool, side by side (0: front end, 1-4:
            transformer blocks; the encoder rebuilt in PyTorch); ``None``: the last layer from
            the CTranslate2 int8 encoder.
        egemaps: Append the eGeMAPS functionals to the audio vector.
        audio_head: Head of the audio side (features standardised over the corpus).
        audio_spk_head: Head of the audio side on features normalised per speaker.
        text: The text side: all-MiniLM-L6-v2 fine-tuned on MELD train (LoRA on its top
            layers + a linear head; an ensemble of members, each leaving out its own slice of
            dialogues on which the per-class logit offsets are tuned; see
            :mod:`emoscope.features.text_classifier`).
        fusion_audio: Fusion weight of the audio expert.
        fusion_text: Fusion weight of the text expert (whose log-probabilities enter fusion
            minus the log of MELD's class prior, so that text saying nothing moves nothing).
        n_folds: Cross-validation folds (actors are never split across folds).
        actors: Keep only these RAVDESS actors (numbers); ``None``: all.
        meld_limit: Keep only the first N MELD train and dev utterances; ``None``: all.
        boot: Bootstrap resamples for the confidence intervals.
    """

    seed: int = 0
    stats: tuple[str, ...] = ("mean", "std")
    layers: tuple[int, ...] | None = (1, 2, 3, 4)
    egemaps: bool = True
    audio_head: HeadSpec = HeadSpec(kind="linear", c=0.03)
    audio_spk_head: HeadSpec = HeadSpec(kind="linear", c=0.03)
    text: TextClassifierSettings = TextClassifierSettings()
    fusion_audio: float = 1.0
    fusion_text: float = 0.5
    n_folds: int = 5
    actors: tuple[int, ...] | None = None
    meld_limit: int | None = None
    boot: int = 1000

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        d = dict(self.__dict__)
        for k in ("audio_head", "audio_spk_head", "text"):
            d[k] = d[k].to_dict()
        d["stats"] = list(self.stats)
        d["layers"] = None if self.layers is None else list(self.layers)
        d["actors"] = None if self.actors is None else list(self.actors)
        return d


@dataclass
class TrainResult:
    """Arrays and config of the trained model, and the cross-validated report."""

    arrays: dict[str, np.ndarray]
    config: dict[str, Any]
    report: dict[str, Any]


def _progress_noop(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


def _labels_of(utts: Sequence[Utterance]) -> np.ndarray:
    return np.array([CANONICAL_LABELS.index(u.canonical or "") for u in utts])


def train_default(
    data_root: Path,
    *,
    settings: TrainSettings | None = None,
    cache_root: Path | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> TrainResult:
    """Train the default model from ``data_root`` (``ravdess/`` and ``meld/`` inside).

    Numerical libraries run on a fixed number of threads here (one; the text classifier's
    training two): the same summation order every time, so the arrays are reproducible bit for
    bit on the same machine.

    Args:
        data_root: The folder with the corpora (e.g. ``../shared/data``).
        settings: What to train (defaults: the shipped model).
        cache_root: Feature cache folder (``None``: the default cache).
        progress: ``progress(description, total)`` returns a callback taking a step count.

    Returns:
        The arrays, the weights' config and the report (cross-validated figures).

    Raises:
        ManifestError: If a corpus is missing.
    """
    import sklearn.linear_model  # noqa: F401  (load the BLAS libraries before limiting them:
    import torch  # noqa: F401  threadpoolctl only limits libraries already loaded)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _train_default(
            data_root, settings=settings, cache_root=cache_root, progress=progress
        )


def _train_default(
    data_root: Path,
    *,
    settings: TrainSettings | None = None,
    cache_root: Path | None = None,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> TrainResult:
    """:func:`train_default` itself, run inside its thread limits."""
    from emoscope import __version__
    from emoscope.audio import load_audio
    from emoscope.features import egemaps as eg_mod
    from emoscope.features import whisper as wh_mod
    from emoscope.features import whisper_layers as wl_mod
    from emoscope.features.audio import AudioFeaturizer
    from emoscope.features.cache import default_cache_dir
    from emoscope.features.text_classifier import TextClassifier, train_text_classifier
    from emoscope.models.default import FORMAT, TEXT_CLASSIFIER, softmax

    s = settings or TrainSettings()
    progress = progress or _progress_noop
    data_root = Path(data_root)
    root = Path(cache_root) if cache_root is not None else default_cache_dir()
    n_classes = len(CANONICAL_LABELS)

    # -- audio: RAVDESS ------------------------------------------------------------------
    rav = load_ravdess(data_root / "ravdess")
    if s.actors is not None:
        keep = {f"{a:02d}" for a in s.actors}
        rav = [u for u in rav if (u.speaker or "")[-2:] in keep]
    featurizer = AudioFeaturizer(
        stats=s.stats, egemaps=s.egemaps, layers=s.layers, cache_root=str(root)
    )
    step = progress("audio features (RAVDESS)", len(rav))
    rows = []
    for i in range(0, len(rav), 16):
        part = rav[i : i + 16]
        rows.append(featurizer([load_audio(Path(u.audio or "")).samples for u in part]))
        step(len(part))
    xa = np.concatenate(rows).astype(np.float64)
    ya = _labels_of(rav)
    speakers = [u.speaker or "" for u in rav]
    genders = [u.gender or "unknown" for u in rav]
    xa_spk = speaker_normalise(xa, speakers)
    n_folds = min(s.n_folds, len(set(speakers)))

    report: dict[str, Any] = {"emoscope_version": __version__, "settings": s.to_dict()}
    temps: dict[str, float] = {}
    oof: dict[str, np.ndarray] = {}
    for name, x, spec in (
        ("audio", xa, s.audio_head),
        ("audio_spk", xa_spk, s.audio_spk_head),
    ):
        step = progress(f"cross-validation ({name})", n_folds)
        logits = cross_validate(
            x,
            ya,
            speakers,
            n_classes=n_classes,
            spec=spec,
            seed=s.seed,
            n_folds=n_folds,
            on_fold=lambda k, step=step: step(1),
        )
        temps[name] = fit_temperature(logits, ya)
        oof[name] = softmax(logits / temps[name])
        rep = classification_report(
            ya,
            logits.argmax(1),
            labels=CANONICAL_LABELS,
            groups=genders,
            boot=s.boot,
            seed=s.seed,
        )
        rep.extra["nll_calibrated"] = round(_nll(oof[name], ya), 4)
        rep.extra["ece_calibrated"] = round(_ece(oof[name], ya), 4)
        rep.extra["ece_uncalibrated"] = round(_ece(softmax(logits), ya), 4)
        rep.extra["nll_uncalibrated"] = round(_nll(softmax(logits), ya), 4)
        rep.extra["temperature"] = round(temps[name], 4)
        report[f"ravdess_{name}"] = rep.to_dict()

    # final audio heads now, before the text classifier's training sets torch's thread count
    audio_finals = {
        "audio": fit_head(xa, ya, n_classes=n_classes, spec=s.audio_head, seed=s.seed),
        "audio_spk": fit_head(xa_spk, ya, n_classes=n_classes, spec=s.audio_spk_head, seed=s.seed),
    }

    # -- text: MELD ----------------------------------------------------------------------
    meld_dir = data_root / "meld"
    turns = max(s.text.context_turns, 1)
    train = load_meld(meld_dir, "train", context_turns=turns)
    dev = load_meld(meld_dir, "dev", context_turns=turns)
    if s.meld_limit is not None:
        train, dev = train[: s.meld_limit], dev[: s.meld_limit]
    yt, yd = _labels_of(train), _labels_of(dev)
    text_details: dict[str, Any] = {}
    text_arrays = train_text_classifier(
        [u.transcript or "" for u in train],
        [u.context for u in train],
        yt,
        settings=s.text,
        seed=s.seed,
        progress=progress,
        groups=[u.session or u.id for u in train],  # left-out slices are whole dialogues
        details=text_details,
    )
    classifier = TextClassifier(text_arrays, s.text)
    dev_logits = classifier.predict_logits(
        [u.transcript or "" for u in dev], [u.context for u in dev]
    ).astype(np.float64)
    temps["text"] = fit_temperature(dev_logits, yd)
    log_prior = text_log_prior(
        yt, n_classes, offsets=text_arrays.get("logit_offsets"), temperature=temps["text"]
    )
    text_arrays = {**text_arrays, "log_prior": log_prior}
    rep = classification_report(
        yd, dev_logits.argmax(1), labels=CANONICAL_LABELS, boot=s.boot, seed=s.seed
    )
    rep.extra["temperature_fitted_on"] = "MELD dev (argmax unchanged)"
    rep.extra["n_train"] = len(train)
    if text_details:
        rep.extra["left_out_slices"] = text_details
    report["meld_dev_text"] = rep.to_dict()

    # -- fusion on RAVDESS (text = the two neutral statements) ---------------------------
    statements = sorted({u.transcript or "" for u in rav})
    said = dict(zip(statements, classifier.predict_logits(statements), strict=True))
    text_on_rav = softmax(np.stack([said[u.transcript or ""] for u in rav]) / temps["text"])
    w = s.fusion_audio + s.fusion_text
    for name in ("audio", "audio_spk"):
        text_evidence = np.log(text_on_rav) - text_arrays["log_prior"]
        fused = (s.fusion_audio * np.log(oof[name]) + s.fusion_text * text_evidence) / w
        rep = classification_report(
            ya,
            fused.argmax(1),
            labels=CANONICAL_LABELS,
            groups=genders,
            boot=s.boot,
            seed=s.seed,
        )
        report[f"ravdess_both_{name}"] = rep.to_dict()

    sweep: dict[str, dict[str, float]] = {}
    for wt in (0.0, 0.25, 0.5, 1.0):
        for prior_out in (False, True):
            evidence = np.log(text_on_rav) - (text_arrays["log_prior"] if prior_out else 0.0)
            row = sweep.setdefault(f"text_weight={wt},prior_divided={prior_out}", {})
            for name in ("audio", "audio_spk"):
                fused = (s.fusion_audio * np.log(oof[name]) + wt * evidence).argmax(1)
                row[name] = round(_scores(ya, fused, np.unique(ya))["ua"], 4)
    report["ravdess_fusion_sweep_ua"] = sweep
    report["text_on_ravdess_statements"] = {
        t: dict(
            zip(
                CANONICAL_LABELS,
                np.round(softmax(said[t][None] / temps["text"])[0], 3).tolist(),
                strict=True,
            )
        )
        for t in statements
    }

    # -- final heads on all data (the audio heads were fitted before the text side) --------
    arrays: dict[str, np.ndarray] = {}
    finals = {**audio_finals, "text": text_arrays}
    for head, arrs in finals.items():
        for k, v in arrs.items():
            arrays[f"{head}.{k}"] = v
    config = {
        "format": FORMAT,
        "labels": list(CANONICAL_LABELS),
        "emoscope_version": __version__,
        "features": {
            "audio": {
                "stats": list(s.stats),
                "layers": None if s.layers is None else list(s.layers),
                "egemaps": s.egemaps,
                "whisper": wh_mod.VERSION if s.layers is None else wl_mod.VERSION,
                "egemaps_version": eg_mod.VERSION,
            },
            "text": {"classifier": s.text.to_dict(), "base": "all-MiniLM-L6-v2"},
        },
        "heads": {
            "audio": {
                "temperature": round(temps["audio"], 6),
                "spec": s.audio_head.to_dict(),
                "trained_on": "RAVDESS speech, actors "
                + ",".join(sorted({sp[-2:] for sp in speakers})),
            },
            "audio_spk": {
                "temperature": round(temps["audio_spk"], 6),
                "spec": s.audio_spk_head.to_dict(),
                "input": "features z-scored per speaker",
            },
            "text": {
                "temperature": round(temps["text"], 6),
                "kind": TEXT_CLASSIFIER,
                "trained_on": f"MELD train ({len(train)} utterances)",
            },
        },
        "fusion": {"audio": s.fusion_audio, "text": s.fusion_text},
        "training_data": {
            "corpora": ["meld", "ravdess"],
            "speakers": sorted(set(speakers) | {u.speaker for u in train if u.speaker}),
        },
        "settings": s.to_dict(),
        "licenses": {
            "audio": "trained on RAVDESS (CC BY-NC-SA 4.0): non-commercial use only",
            "text": "trained on MELD (repository GPL-3.0)",
        },
        "summary": {
            "ravdess_audio_ua": report["ravdess_audio"]["ua"],
            "ravdess_audio_spk_ua": report["ravdess_audio_spk"]["ua"],
            "meld_dev_weighted_f1": report["meld_dev_text"]["weighted_f1"],
        },
    }
    return TrainResult(arrays=arrays, config=config, report=report)


def text_log_prior(
    labels: np.ndarray,
    n_classes: int,
    *,
    offsets: np.ndarray | None = None,
    temperature: float = 1.0,
) -> np.ndarray:
    """The text expert's class prior that fusion divides out, on its output's log scale.

    The log of the training labels' add-one frequencies (no class has prior 0), plus the text
    classifier's ``logit_offsets / temperature`` when it has them: fusion then divides the
    decision offsets out too (they are tuned for the text side's own weighted F1, not for
    fusion), and fused probabilities are the same with or without them.

    Examples:
        >>> np.exp(text_log_prior(np.array([0, 0, 1]), 3).astype(float)).round(2).tolist()
        [0.5, 0.33, 0.17]
    """
    counts = np.bincount(np.asarray(labels), minlength=n_classes) + 1.0
    log_prior = np.log(counts / counts.sum())
    if offsets is not None:
        log_prior = log_prior + np.asarray(offsets, dtype=np.float64) / temperature
    return log_prior.astype(np.float32)


def _nll(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, 1)).mean())


def _ece(proba: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        rows = (conf > lo) & (conf <= hi)
        if rows.any():
            total += rows.mean() * abs(correct[rows].mean() - conf[rows].mean())
    return float(total)
