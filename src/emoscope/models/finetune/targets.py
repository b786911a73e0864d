"""Where LoRA goes: the language model's (and optionally the audio encoder's) projections.

Audio-language models hold two transformers whose attention layers share names (``q_proj`` is
in the Whisper-style audio encoder *and* in the language model), so target names alone would put
LoRA on both. :func:`lora_target_pattern` builds one regular expression that peft full-matches
against module names, restricted to the language model's sub-tree (and the audio encoder's when
asked for). The sub-trees are found by their conventional attribute names, not by family.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from emoscope.errors import UsageError

LANGUAGE_MODEL_NAMES: tuple[str, ...] = ("language_model",)
"""Attribute names of the text decoder inside a multimodal model."""

AUDIO_ENCODER_NAMES: tuple[str, ...] = ("audio_tower", "audio_encoder", "audio_model")
"""Attribute names of the audio encoder inside a multimodal model."""


def submodule_prefix(model: Any, names: Sequence[str]) -> str | None:
    """Return the dotted name of the first sub-module whose last part is one of ``names``.

    Examples:
        >>> import torch
        >>> m = torch.nn.Module()
        >>> m.model = torch.nn.Module()
        >>> m.model.language_model = torch.nn.Linear(2, 2)
        >>> submodule_prefix(m, ["language_model"])
        'model.language_model'
    """
    for name, _ in model.named_modules():
        if name and name.rsplit(".", 1)[-1] in names:
            return name
    return None


def _linear_leaves(model: Any, prefix: str, targets: Sequence[str]) -> list[str]:
    import torch

    return [
        name
        for name, module in model.named_modules()
        if name.startswith(prefix + ".")
        and name.rsplit(".", 1)[-1] in targets
        and isinstance(module, torch.nn.Linear)
    ]


def lora_target_pattern(
    model: Any,
    *,
    target_modules: Sequence[str],
    audio_encoder: bool = False,
    audio_target_modules: Sequence[str] = (),
) -> str:
    """Return a regex matching exactly the modules that get LoRA.

    Raises:
        UsageError: If the model has no recognisable language model (or audio encoder), or no
            linear layer of those names.
    """
    parts = []
    scopes = [(LANGUAGE_MODEL_NAMES, target_modules, "language model")]
    if audio_encoder:
        scopes.append((AUDIO_ENCODER_NAMES, audio_target_modules, "audio encoder"))
    for names, targets, what in scopes:
        prefix = submodule_prefix(model, names)
        if prefix is None:
            raise UsageError(
                f"Cannot find the {what} of {type(model).__name__} (no sub-module named "
                f"{' or '.join(names)}); this architecture is not supported for LoRA here."
            )
        found = _linear_leaves(model, prefix, targets)
        if not found:
            present = sorted(
                {n.rsplit(".", 1)[-1] for n in _linear_leaves(model, prefix, _all_names(model))}
            )
            raise UsageError(
                f"No linear layer of the {what} is named {', '.join(targets)}. "
                f"Its linear layers are named: {', '.join(present)}."
            )
        parts.append(
            rf"{re.escape(prefix)}\..*\.({'|'.join(re.escape(t) for t in sorted(set(targets)))})"
        )
    return "^(" + "|".join(parts) + ")$"


def _all_names(model: Any) -> list[str]:
    return sorted({n.rsplit(".", 1)[-1] for n, _ in model.named_modules() if n})


def trainable_summary(model: Any) -> dict[str, Any]:
    """Return trainable and total parameter counts and the trainable fraction."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {
        "trainable": int(trainable),
        "total": int(total),
        "fraction": round(trainable / total, 6) if total else 0.0,
    }
