"""The options of a fine-tuning run (one dataclass, saved as sorted JSON in the output folder).

Examples:
    >>> c = FinetuneConfig(model="/ckpt", rank=4, epochs=2)
    >>> FinetuneConfig.from_json(c.to_json()) == c
    True
    >>> FinetuneConfig(model="/ckpt", head="svm")
    Traceback (most recent call last):
    ...
    emoscope.errors.UsageError: --head must be one of lm, classifier. Got 'svm'.
"""

from __future__ import annotations

from dataclasses import dataclass

from emoscope.errors import UsageError
from emoscope.labels import CANONICAL_LABELS, LabelScheme
from emoscope.models.base import ModelConfig
from emoscope.prompts import check_condition, check_mode

HEADS: tuple[str, ...] = ("lm", "classifier")
"""``lm``: train the answer tokens of the zero-shot prompt; ``classifier``: a linear head on the
mean-pooled last hidden states of the prompt."""

BALANCES: tuple[str, ...] = ("loss", "sampler", "none")
"""Class balance: inverse-frequency loss weights, balanced sampling with replacement, or none."""

PRECISIONS: tuple[str, ...] = ("no", "bf16", "fp16")
"""Mixed precision: bf16 on CUDA or CPU (autocast), fp16 on CUDA only."""

DEFAULT_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
"""LoRA target modules of the language model (attention projections of Qwen2-style decoders)."""

DEFAULT_AUDIO_TARGETS: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "out_proj")
"""LoRA target modules of the audio encoder (Whisper-style attention projections)."""


@dataclass
class FinetuneConfig(ModelConfig):
    """Everything that decides a fine-tuning run's result.

    Attributes:
        model: The base checkpoint: a family name (its reference hub id) or a local directory.
        family: The LALM family; ``None`` reads it from the checkpoint directory's config.json.
        labels: The closed label set the prompt lists and the model learns to answer.
        prompt: The prompt template (the same ones as zero-shot).
        condition: ``audio``, ``text`` or ``both``: what the model is given.
        mode: ``score`` (answer the label word) or ``choice`` (answer a letter).
        head: ``lm`` (answer tokens, loss on them only) or ``classifier`` (linear head on
            pooled hidden states).
        rank: LoRA rank.
        alpha: LoRA alpha (scaling ``alpha / rank``).
        dropout: LoRA dropout (also before the classifier head).
        target_modules: Language-model module names that get LoRA.
        audio_encoder_lora: Also put LoRA on the audio encoder's attention.
        audio_target_modules: The audio encoder's module names that get LoRA.
        lr: Peak learning rate (AdamW).
        weight_decay: AdamW weight decay.
        warmup_ratio: Share of the steps with a linear learning-rate warm-up.
        epochs: Passes over each fold's training part (ignored when ``max_steps`` is set).
        max_steps: Optimizer steps per fold (overrides ``epochs``).
        batch_size: Utterances per micro-batch (per process).
        grad_accum: Micro-batches per optimizer step.
        max_grad_norm: Gradient clipping (0 disables it).
        balance: ``loss``, ``sampler`` or ``none`` (see :data:`BALANCES`).
        val_fraction: Share of each training fold held out, by whole speakers, for validation.
        patience: Evaluations without a better validation UA before stopping (0: never stop).
        eval_every: Optimizer steps between validations (0: once per epoch).
        checkpoint_every: Optimizer steps between training checkpoints (0: at validations only).
        seed: Seed of the folds' validation speakers, batch order, dropout and head init.
        gradient_checkpointing: Recompute activations in the backward pass (less memory).
        mixed_precision: ``no``, ``bf16`` (CUDA or CPU) or ``fp16`` (CUDA only).
        load_in_4bit: QLoRA: the frozen base in 4-bit NF4 (bitsandbytes; CUDA or CPU).
        dtype: Base weight dtype (``auto``: bfloat16 on CUDA, float32 on CPU).
        baseline: Also score each test fold with the adapter switched off (zero-shot), to show
            the gain (``lm`` head only).
    """

    model: str = "qwen2-audio"
    family: str | None = None
    labels: tuple[str, ...] = CANONICAL_LABELS
    prompt: str = "emotion-v1"
    condition: str = "audio"
    mode: str = "score"
    head: str = "lm"
    rank: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    audio_encoder_lora: bool = False
    audio_target_modules: tuple[str, ...] = DEFAULT_AUDIO_TARGETS
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    balance: str = "loss"
    val_fraction: float = 0.15
    patience: int = 3
    eval_every: int = 0
    checkpoint_every: int = 0
    seed: int = 0
    gradient_checkpointing: bool = True
    mixed_precision: str = "no"
    load_in_4bit: bool = False
    dtype: str = "auto"
    baseline: bool = True

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        self.target_modules = tuple(self.target_modules)
        self.audio_target_modules = tuple(self.audio_target_modules)
        LabelScheme("labels", self.labels)
        check_condition(self.condition)
        check_mode(self.mode)
        if self.mode == "generate":
            raise UsageError(
                "Fine-tuning trains the answer of mode 'score' (label word) or 'choice' (letter); "
                "'generate' reads the same answers, so train with 'score'."
            )
        for name, allowed in (
            ("head", HEADS),
            ("balance", BALANCES),
            ("mixed_precision", PRECISIONS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}. Got {value!r}.")
        for name in ("rank", "batch_size", "grad_accum"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(
                    f"--{name.replace('_', '-')} must be a positive integer. Got {value!r}."
                )
        for name in ("patience", "eval_every", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise UsageError(f"--{name.replace('_', '-')} must be 0 or more. Got {value!r}.")
        if self.max_steps is not None and self.max_steps < 1:
            raise UsageError(f"--max-steps must be a positive integer. Got {self.max_steps}.")
        if self.max_steps is None and not self.epochs > 0:
            raise UsageError(f"--epochs must be positive. Got {self.epochs}.")
        if not self.lr > 0:
            raise UsageError(f"--lr must be positive. Got {self.lr}.")
        if not 0.0 < self.val_fraction < 1.0:
            raise UsageError(f"--val-fraction must lie in (0, 1). Got {self.val_fraction}.")
        if not 0.0 <= self.dropout < 1.0:
            raise UsageError(f"--dropout must lie in [0, 1). Got {self.dropout}.")
        if self.weight_decay < 0 or not 0.0 <= self.warmup_ratio < 1.0:
            raise UsageError(
                "--weight-decay must be >= 0 and the warm-up ratio in [0, 1). "
                f"Got {self.weight_decay} and {self.warmup_ratio}."
            )
        if not self.target_modules:
            raise UsageError("--target-modules needs at least one module name, e.g. q_proj,v_proj.")
