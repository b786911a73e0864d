"""Config dataclasses of the transformers LALM backends (one subclass per family).

Examples:
    >>> c = Qwen2AudioConfig(mode="choice", condition="both")
    >>> c.family, c.checkpoint
    ('qwen2-audio', 'Qwen/Qwen2-Audio-7B-Instruct')
    >>> Qwen2AudioConfig(model="~/m").checkpoint.startswith("~")
    False
    >>> Qwen2AudioConfig.from_json(c.to_json()) == c
    True
    >>> Qwen2AudioConfig(mode="vote")
    Traceback (most recent call last):
    ...
    emoscope.prompts.PromptError: The mode must be one of score, choice, generate. Got 'vote'.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from emoscope.errors import UsageError
from emoscope.labels import CANONICAL_LABELS, LabelScheme
from emoscope.models.base import ModelConfig
from emoscope.models.lalm.families import FAMILIES
from emoscope.prompts import check_condition, check_mode

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class LALMConfig(ModelConfig):
    """Options of a zero-shot audio-language-model backend.

    Attributes:
        family: The model family (a key of ``FAMILIES``).
        model: A hub id or a local checkpoint directory; ``None`` uses the family's reference.
        revision: Hub revision (commit, branch or tag) to load.
        adapter: A PEFT (LoRA) adapter directory to apply on top of the checkpoint.
        dtype: ``auto`` (bfloat16 on CUDA, float32 on CPU), ``float32``, ``bfloat16``, ``float16``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``, ...; ignored when ``device_map`` is set.
        device_map: Passed to ``from_pretrained`` (e.g. ``auto`` to spread over GPUs).
        load_in_4bit: Load weights in 4 bit with bitsandbytes (CUDA, or CPU from 0.50).
        allow_download: Let transformers download missing files; off by default (offline). The
            CLI's ``--allow-download`` turns it on too.
        mode: ``score`` (label log-likelihoods), ``choice`` (lettered options) or ``generate``
            (free text, parsed).
        prompt: A shipped prompt id or the path of a JSON prompt template.
        condition: ``audio`` (the model hears the speech), ``text`` (reads the transcript) or
            ``both``.
        modality: Same values as ``condition``; when set it wins (the name ``emoscope
            evaluate --modality`` passes on).
        labels: The closed label set, in column order.
        calibrate: Divide out the label prior the model shows on content-free inputs (silence,
            an empty transcript): contextual calibration.
        length_normalize: In ``score`` mode, average token log-probabilities per label instead
            of summing them (labels of different token lengths then compete evenly).
        include_end_token: Score the end-of-turn marker after the label too, so that ``sad``
            does not also collect the probability of ``sadness``.
        answer_variants: In ``score`` mode, also score each answer word Capitalised and add
            its probability to the label's (chat models often answer "Sad").
        forms_per_pass: Answer forms scored per continuation pass (``None``: all at once).
            The prompt's key-value cache is copied this many times per utterance; lower it to
            save GPU memory.
        batch_size: Utterances per forward pass.
        max_new_tokens: Tokens generated per answer in ``generate`` mode.
    """

    family: str = "qwen2-audio"
    model: str | None = None
    revision: str | None = None
    adapter: str | None = None
    dtype: str = "auto"
    device: str = "auto"
    device_map: str | None = None
    load_in_4bit: bool = False
    allow_download: bool = False
    mode: str = "score"
    prompt: str = "emotion-v1"
    condition: str = "audio"
    modality: str | None = None
    labels: tuple[str, ...] = CANONICAL_LABELS
    calibrate: bool = False
    length_normalize: bool = False
    include_end_token: bool = True
    answer_variants: bool = True
    forms_per_pass: int | None = None
    batch_size: int = 8
    max_new_tokens: int = 16

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise UsageError(
                f"Unknown LALM family {self.family!r}. Known families: {', '.join(FAMILIES)}."
            )
        check_mode(self.mode)
        if self.modality is not None:
            check_condition(self.modality)
            self.condition = self.modality
        check_condition(self.condition)
        self.labels = tuple(self.labels)
        LabelScheme("labels", self.labels)  # raises on empty or repeated labels
        if self.calibrate and self.mode == "generate":
            raise UsageError(
                "calibrate works with the score and choice modes (it divides out a label prior); "
                "mode 'generate' gives hard labels. Use mode 'score' or drop calibrate."
            )
        if self.dtype not in DTYPES:
            raise UsageError(f"dtype must be one of {', '.join(DTYPES)}. Got {self.dtype!r}.")
        if self.forms_per_pass is not None and (
            not isinstance(self.forms_per_pass, int) or self.forms_per_pass < 1
        ):
            raise UsageError(
                f"forms_per_pass must be a positive integer or None. Got {self.forms_per_pass!r}."
            )
        for name in ("batch_size", "max_new_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer. Got {value!r}.")

    @property
    def checkpoint(self) -> str:
        """The hub id or directory that is loaded (``~`` expanded)."""
        if self.model is None:
            return FAMILIES[self.family].default_checkpoint
        return os.path.expanduser(self.model)

    @property
    def modalities(self) -> frozenset[str]:
        """What the model is given under this config's condition."""
        return {
            "audio": frozenset({"audio"}),
            "text": frozenset({"text"}),
            "both": frozenset({"audio", "text"}),
        }[self.condition]


@dataclass
class Qwen2AudioConfig(LALMConfig):
    """Qwen2-Audio (reference: Qwen/Qwen2-Audio-7B-Instruct)."""

    family: str = "qwen2-audio"


@dataclass
class AudioFlamingo3Config(LALMConfig):
    """Audio Flamingo 3 (reference: nvidia/audio-flamingo-3-hf)."""

    family: str = "audio-flamingo-3"


@dataclass
class Qwen25OmniConfig(LALMConfig):
    """Qwen2.5-Omni thinker (text output only)."""

    family: str = "qwen2.5-omni"


@dataclass
class VoxtralConfig(LALMConfig):
    """Voxtral (Mistral)."""

    family: str = "voxtral"


@dataclass
class Phi4MultimodalConfig(LALMConfig):
    """Phi-4-multimodal-instruct."""

    family: str = "phi-4-multimodal"


@dataclass
class GraniteSpeechConfig(LALMConfig):
    """Granite Speech (IBM)."""

    family: str = "granite-speech"


CONFIG_OF_FAMILY: dict[str, type[LALMConfig]] = {
    "qwen2-audio": Qwen2AudioConfig,
    "audio-flamingo-3": AudioFlamingo3Config,
    "qwen2.5-omni": Qwen25OmniConfig,
    "voxtral": VoxtralConfig,
    "phi-4-multimodal": Phi4MultimodalConfig,
    "granite-speech": GraniteSpeechConfig,
}
"""Family name -> its config class (what ``register_model`` gets)."""
