"""Load a checkpoint of a family with transformers: device, dtype, device map, 4 bit, adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emoscope.errors import EmoscopeError, UsageError
from emoscope.models.lalm.config import LALMConfig
from emoscope.models.lalm.families import FAMILIES


class ModelLoadError(EmoscopeError):
    """A checkpoint, processor or adapter cannot be loaded."""


def _looks_like_path(spec: str) -> bool:
    """Whether ``spec`` names a folder rather than a hub id (``org/name``)."""
    return spec.startswith(("/", ".", "~")) or Path(spec).expanduser().exists()


def check_available(config: LALMConfig) -> None:
    """Fail early, before any weights load, when the checkpoint or adapter is not on disk.

    A local folder must exist and hold ``config.json``; a hub id must be in the Hugging Face
    cache unless downloads are allowed.

    Raises:
        ModelLoadError: Naming the missing thing and how to get it.
    """
    from emoscope.privacy import downloads_allowed

    source = config.checkpoint
    if _looks_like_path(source):
        folder = Path(source).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelLoadError(
                f"{folder}: not a model checkpoint folder (no config.json). Give the folder "
                "that holds the downloaded weights."
            )
    elif not (config.allow_download or downloads_allowed()):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(source, "config.json", revision=config.revision)
        if not isinstance(cached, str):
            raise ModelLoadError(
                f"Model {source!r} is not in the local Hugging Face cache and emoscope runs "
                f"offline. Download it first (hf download {source}), give a local folder, or "
                "run with --allow-download."
            )
    if config.adapter and not (Path(config.adapter).expanduser() / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"{config.adapter}: not a PEFT adapter directory (no adapter_config.json). Give the "
            "folder that fine-tuning wrote."
        )


def resolve_device(device: str) -> str:
    """Return the torch device for ``device`` (``auto``: CUDA if present, else CPU)."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} needs CUDA, which this machine lacks. Use 'cpu'.")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """Return the torch dtype for ``dtype`` (``auto``: bfloat16 on CUDA, float32 elsewhere)."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, dtype)


def _quantization(config: LALMConfig, dtype: Any) -> Any:
    import torch

    if not config.load_in_4bit:
        return None
    try:
        import bitsandbytes
    except ImportError:
        raise UsageError(
            "load_in_4bit needs the bitsandbytes package: pip install 'emoscope[quant]'."
        ) from None
    version = tuple(int(x) for x in bitsandbytes.__version__.split(".")[:2])
    if not torch.cuda.is_available() and version < (0, 50):
        raise UsageError(
            "load_in_4bit without a CUDA GPU needs bitsandbytes >= 0.50 (its CPU 4-bit backend); "
            f"found {bitsandbytes.__version__}. pip install -U 'emoscope[quant]'."
        )
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(  # QLoRA's choice: NF4 with double quantisation
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=dtype,
    )


def load_checkpoint(config: LALMConfig) -> tuple[Any, Any]:
    """Load the model and processor ``config`` names, ready for batched scoring.

    The tokenizer is set to pad on the left (checkpoints do not keep the padding side).

    Returns:
        ``(model, processor)``, the model in eval mode.

    Raises:
        ModelLoadError: If the checkpoint or adapter cannot be found or read.
        UsageError: If ``load_in_4bit`` is asked for without CUDA/bitsandbytes.
    """
    import transformers

    spec = FAMILIES[config.family]
    source = config.checkpoint
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device)
    quantization = _quantization(config, dtype)
    from emoscope.privacy import downloads_allowed

    allow_download = config.allow_download or downloads_allowed()
    common: dict[str, Any] = {"local_files_only": not allow_download}
    if config.revision:
        common["revision"] = config.revision
    model_cls = getattr(transformers, spec.model_class)
    kwargs: dict[str, Any] = {"dtype": dtype, **common}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    if config.device_map:
        kwargs["device_map"] = config.device_map
    hint = (
        "Check the path, or download the model first (hf download ID), or run with "
        "--allow-download."
        if not allow_download
        else "Check the id and your network."
    )
    try:
        processor = transformers.AutoProcessor.from_pretrained(source, **common)
        model = model_cls.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Cannot load {spec.name} checkpoint {source!r}: {exc}. {hint}"
        ) from None
    if quantization is None and not config.device_map:
        model.to(device)
    if config.adapter:
        model = load_adapter(model, config.adapter)
    model.eval()
    processor.tokenizer.padding_side = "left"
    return model, processor


def load_adapter(model: Any, adapter: str) -> Any:
    """Apply a PEFT adapter directory to ``model``.

    Raises:
        ModelLoadError: If the directory holds no adapter.
    """
    from peft import PeftModel

    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise ModelLoadError(
            f"{path}: not a PEFT adapter directory (no adapter_config.json). Give the folder "
            "that fine-tuning wrote."
        )
    return PeftModel.from_pretrained(model, str(path))


def model_type_of(path: Path) -> str | None:
    """Return the ``model_type`` of a transformers checkpoint directory, or ``None``."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    value = data.get("model_type") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
