"""Fold a LoRA adapter into its base model and save a full checkpoint folder.

The merged folder loads like any checkpoint of its family (``--model DIR``), with no peft at
inference time. The adapter's ``training_manifest.jsonl`` and ``finetune.json`` are copied along,
so what the weights were trained on stays next to them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from emoscope.errors import UsageError
from emoscope.models.finetune.head import HEAD_FILE

CARRIED = ("training_manifest.jsonl", "finetune.json")
"""Files of the adapter folder copied into the merged checkpoint."""


def base_of_adapter(adapter: Path) -> str:
    """Return the base checkpoint an adapter folder names (``base_model_name_or_path``).

    Raises:
        UsageError: If ``adapter`` holds no PEFT adapter.
    """
    config = Path(adapter) / "adapter_config.json"
    if not config.is_file():
        raise UsageError(
            f"{adapter}: not a PEFT adapter folder (no adapter_config.json). Give a fine-tuning "
            "output's <fold>/adapter folder."
        )
    base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise UsageError(f"{config} names no base model; give it with --model.")
    return str(base)


def merge_adapter(
    adapter: Path, out_dir: Path, *, base: str | None = None, dtype: str = "float32"
) -> Path:
    """Merge ``adapter`` into its base checkpoint and write the result to ``out_dir``.

    Args:
        adapter: A PEFT adapter folder written by fine-tuning.
        out_dir: Where the merged checkpoint goes (model, processor, carried files).
        base: The base checkpoint; default: the one recorded in the adapter.
        dtype: Weight dtype of the merged model (``float32``, ``bfloat16``, ``float16``).

    Returns:
        ``out_dir``.

    Raises:
        UsageError: If the adapter has a classifier head (not part of the language model), or
            the base is not a known LALM checkpoint.
    """
    from emoscope.models.finetune.config import FinetuneConfig
    from emoscope.models.finetune.trainer import lalm_config
    from emoscope.models.lalm.loading import load_checkpoint

    adapter = Path(adapter)
    if (adapter / HEAD_FILE).is_file():
        raise UsageError(
            f"{adapter} has a classifier head, which is not part of the language model and cannot "
            "be merged into it. Merge adapters trained with --head lm."
        )
    base = base or base_of_adapter(adapter)
    conf = lalm_config(FinetuneConfig(model=base, dtype=dtype), device="cpu", adapter=str(adapter))
    model, processor = load_checkpoint(conf)
    merged = model.merge_and_unload()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir))
    processor.save_pretrained(str(out_dir))
    for name in CARRIED:
        if (adapter / name).is_file():
            shutil.copy2(adapter / name, out_dir / name)
    return out_dir
