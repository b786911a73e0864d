"""Zero-shot emotion recognition with large audio-language models (LALMs) via transformers.

Registers one backend per family (``qwen2-audio``, ``audio-flamingo-3``, ``qwen2.5-omni``,
``voxtral``, ``phi-4-multimodal``, ``granite-speech``); each recognises local checkpoint
directories of its family by ``config.json``'s ``model_type``, so
``load_model("/path/to/checkpoint")`` works. torch and transformers load only when a model
does.

Examples:
    >>> from emoscope.models.base import available_models
    >>> {"qwen2-audio", "audio-flamingo-3"} <= set(available_models())
    True
"""

from __future__ import annotations

from emoscope.models.base import register_model
from emoscope.models.lalm.backend import LALMModel, calibrate, lalm_from_path
from emoscope.models.lalm.config import CONFIG_OF_FAMILY, LALMConfig
from emoscope.models.lalm.families import FAMILIES, FamilySpec

__all__ = ["FAMILIES", "FamilySpec", "LALMConfig", "LALMModel", "calibrate"]

for _name, _config_cls in CONFIG_OF_FAMILY.items():
    register_model(_name, _config_cls, LALMModel, from_path=lalm_from_path(_config_cls))
