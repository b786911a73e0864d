"""The audio-language model families the transformers backend knows, and how each is loaded.

A :class:`FamilySpec` names the transformers class of a family, the ``model_type`` values its
``config.json`` carries (so a local checkpoint directory is recognised), its reference checkpoint
and what has been checked here. No code branches on family names: everything family-specific
is a field of the spec.

Examples:
    >>> FAMILIES["qwen2-audio"].model_class
    'Qwen2AudioForConditionalGeneration'
    >>> family_of_model_type("audioflamingo3").name
    'audio-flamingo-3'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FamilySpec:
    """How to load and prompt one family of audio-language models.

    Attributes:
        name: The registry name (``--model qwen2-audio``).
        model_class: The transformers class that loads a checkpoint.
        model_types: ``config.json`` ``model_type`` values of the family's checkpoints.
        default_checkpoint: The hub id used when no checkpoint is given.
        audio_content: The chat-message content item that stands for the audio.
        explicit_position_ids: Pass ``cumsum(attention_mask) - 1`` as position ids (left
            padding); ``False`` for models with their own (multimodal RoPE) positions.
        tested: How this family is checked in this repository (shown in ``docs/lalm.md``).
    """

    name: str
    model_class: str
    model_types: tuple[str, ...]
    default_checkpoint: str
    audio_content: Mapping[str, Any] = field(default_factory=lambda: {"type": "audio"})
    explicit_position_ids: bool = True
    tested: str = "registered only"


FAMILIES: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (
        FamilySpec(
            name="qwen2-audio",
            model_class="Qwen2AudioForConditionalGeneration",
            model_types=("qwen2_audio",),
            default_checkpoint="Qwen/Qwen2-Audio-7B-Instruct",
            tested="tiny random model of the real architecture + real processor, in tests",
        ),
        FamilySpec(
            name="audio-flamingo-3",
            model_class="AudioFlamingo3ForConditionalGeneration",
            model_types=("audioflamingo3",),
            default_checkpoint="nvidia/audio-flamingo-3-hf",
            tested="tiny random model of the real architecture + real processor, in tests",
        ),
        FamilySpec(
            name="qwen2.5-omni",
            model_class="Qwen2_5OmniThinkerForConditionalGeneration",
            model_types=("qwen2_5_omni_thinker",),
            default_checkpoint="Qwen/Qwen2.5-Omni-7B",
            explicit_position_ids=False,
            tested="not run here: its processor needs torchvision",
        ),
        FamilySpec(
            name="voxtral",
            model_class="VoxtralForConditionalGeneration",
            model_types=("voxtral",),
            default_checkpoint="mistralai/Voxtral-Mini-3B-2507",
            tested="not run here: its processor needs mistral-common",
        ),
        FamilySpec(
            name="phi-4-multimodal",
            model_class="Phi4MultimodalForCausalLM",
            model_types=("phi4_multimodal",),
            default_checkpoint="microsoft/Phi-4-multimodal-instruct",
            tested="not run here: its processor needs torchvision",
        ),
        FamilySpec(
            name="granite-speech",
            model_class="GraniteSpeechForConditionalGeneration",
            model_types=("granite_speech",),
            default_checkpoint="ibm-granite/granite-speech-3.3-2b",
            tested="not run here: its feature extractor needs torchaudio",
        ),
    )
}
"""Family name -> spec."""


def family_of_model_type(model_type: str) -> FamilySpec | None:
    """Return the family whose checkpoints carry ``model_type``, or ``None``."""
    for spec in FAMILIES.values():
        if model_type in spec.model_types:
            return spec
    return None
